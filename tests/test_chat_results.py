"""My score, history and "why is my pay this amount", rendered from stored traces, in both
languages; someone else's pay is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from models import AuditEvent, PeriodState, Result
from tests.chat_helpers import WORDS, Chat, Tap, bind, build_world, money, verify_dialog


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


@pytest.fixture
def zhang(session, w, lang):
    return Chat(session, bind(session, w.zhang, language=lang))


@pytest.fixture
def li(session, w, lang):
    return Chat(session, bind(session, w.staff[1], language=lang))


def test_my_score_shows_the_latest_published_result_by_indicator_and_role(w, lang, zhang):
    words = WORDS[lang]
    verify_dialog(
        zhang,
        [
            (
                "/myscore",
                [
                    "2026-10",
                    "93.90",
                    "A",
                    money("4,800.00", lang),
                    "业绩",
                    "直接上级 95",
                    "一把手 90",
                    "37.40",
                    "“业绩突出 <b>加粗</b>”",
                    "创新加分: +2",
                    "“提出新流程”",
                    "违纪扣分: −1",
                    "!2026-11",
                ],
            ),
            (Tap(words["history"]), ["2026-10", "2026-09", "80.00", money("4,000.00", lang)]),
            (Tap("2026-09"), ["2026-09", "80.00", "B", f"!{money('4,800.00', lang)}"]),
        ],
    )


def test_my_score_button_and_free_question_both_work(w, lang, zhang):
    words = WORDS[lang]
    question = "我的成绩" if lang == "zh_CN" else "what is my score"
    verify_dialog(zhang, [("/menu", words["my"]), (Tap(words["my"]), "93.90"), (question, "93.90")])


def test_before_publication_it_says_when_to_expect_results(session, w, lang):
    words = WORDS[lang]
    zhao = Chat(session, bind(session, w.staff[2], language=lang))
    verify_dialog(
        zhao,
        [
            ("/myscore", [words["not_published"], "2026-11", "2026", "23:59"]),
            ("/why", [words["not_published"], "2026-11"]),
        ],
    )
    w.october.state = PeriodState.SCORING_CLOSED  # unpublished again: hidden from Zhang too
    w.september.state = PeriodState.SCORING_CLOSED
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    assert "93.90" not in zhang.say("/myscore")


def test_why_gives_the_formula_grade_contributions_and_change(w, lang, zhang):
    words = WORDS[lang]
    verify_dialog(
        zhang,
        [
            (
                "/why",
                [
                    words["formula"],
                    money("4,000.00", lang),
                    f"{words['coefficient']} 1.2 = {money('4,800.00', lang)}",
                    "93.90",
                    "A 优秀",
                    words["highest"],
                    "37.40",
                    "2.60",
                    "“业绩突出 <b>加粗</b>”",
                    "+2.00",
                    "−1.00",
                    words["since"],
                    f"+{money('800.00', lang)}",
                    "B → A",
                    "态度 +6.00",
                    "业绩 +5.40",
                ],
            )
        ],
    )


def test_why_names_the_next_band_and_a_pay_drop(w, lang, li):
    verify_dialog(
        li,
        [
            (
                "/why",
                [
                    money("2,000.00", lang),
                    "0.5",
                    "56.00",
                    "D 不合格",
                    "C 合格",
                    "4.00",
                    WORDS[lang]["gap"],
                    f"−{money('1,200.00', lang)}",
                    "业绩 -8.00",
                    "“任务未完成”",
                ],
            )
        ],
    )


@pytest.mark.parametrize(
    "question",
    [
        "为什么我这个月绩效工资这么少",
        "工资怎么算的",
        "why is my pay lower this month",
        "How is my salary calculated?",
    ],
)
def test_free_questions_about_my_pay_are_explained(w, lang, zhang, question):
    verify_dialog(zhang, [(question, [WORDS[lang]["formula"], money("4,800.00", lang)])])


def test_the_button_under_the_result_explains_it(w, lang, zhang):
    zhang.say("/myscore")
    verify_dialog(zhang, [(Tap(WORDS[lang]["why"]), WORDS[lang]["formula"])])


@pytest.mark.parametrize(
    "question",
    [
        "为什么李四的绩效工资比我高",
        "他的工资怎么算的",
        "why is her pay higher",
        "What is Bob's salary?",
    ],
)
def test_a_question_about_someone_elses_pay_is_refused_and_audited(
    session, w, lang, zhang, question
):
    verify_dialog(
        zhang,
        [(question, [WORDS[lang]["own_pay"], "!2,000", "!4,800", "!56.00"])],
    )
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "chat.refused")).one()
    assert event.actor_id == w.zhang.id


def test_an_unknown_question_falls_back_to_the_menu(w, lang, zhang):
    words = WORDS[lang]
    verify_dialog(
        zhang,
        [
            (
                "今天天气怎么样" if lang == "zh_CN" else "nice weather",
                [words["not_understood"], words["my"], words["why"]],
            )
        ],
    )


def test_in_a_group_chat_nothing_sensitive_is_shown(session, w, lang):
    group = Chat(session, bind(session, w.zhang, language=lang), private=False)
    for said in ("/myscore", "/why", "为什么我这个月绩效工资这么少", "/history", "/score"):
        assert WORDS[lang]["privately"] in group.say(said)
    assert "4,800" not in group.text()
    assert "93.90" not in group.text()


def test_the_explanation_comes_from_the_stored_trace_only(session, w, lang, zhang):
    """Changing the scheme or the pay base later does not change what was explained."""
    w.zhang.pay_base = Decimal(99999)
    w.scheme.grades[0].coefficient = Decimal(9)
    w.scheme.indicators[0].name = "改名了"
    result = session.scalars(select(Result).where(Result.employee_id == w.zhang.id)).first()
    assert result is not None
    verify_dialog(zhang, [("/why", [money("4,800.00", lang), "业绩", "!改名了", "!99,999"])])
