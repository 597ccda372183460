""" "What if" in chat, as dialogue tables in both languages, on the world of chat_helpers.

张三's 2026-10 (hand computation): 业绩 manager 95 × 70 + head 90 × 30 → 93.5 × 40% =
37.4; 质量 85 × 30% = 25.5; 态度 优秀 100 × 30% = 30; weighted 92.9; bonus +2, deduction
−1 → total 93.90, grade A (≥ 90, coefficient 1.2), pay 4000 × 1.2 = 4,800.00.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.chat.context import sign
from bot.infra.message import Incoming, Kind
from models import AuditEvent, ChatState, IndicatorKind, Period, PeriodState, Result
from tests.chat_helpers import Chat, Tap, bind, build_world, money, verify_dialog

T = {
    "zh_CN": {
        "hypo": "试算（假设",
        "total": "总分 93.90 → {new}",
        "pay": "绩效工资 {old} → {new}（差额 {diff}）",
        "range": "超出允许范围 0–100",
        "levels": "不是可选等级",
        "which": "要改哪个指标",
        "tryit": "试算",
        "own": "只能对您本人的结果试算",
        "grade_b": "等级 A 优秀 → B 良好，系数 1.2 → 1",
        "value_prompt": "如果质量为",
    },
    "en": {
        "hypo": "What if (a hypothetical",
        "total": "Total 93.90 → {new}",
        "pay": "Performance pay {old} → {new} (difference {diff})",
        "range": "outside the allowed range 0–100",
        "levels": "not one of the levels",
        "which": "which indicator would you change",
        "tryit": "What if",
        "own": "only work out a “what if” on your own result",
        "grade_b": "Grade A 优秀 → B 良好, coefficient 1.2 → 1",
        "value_prompt": "What if 质量 were",
    },
}


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


def _pay(lang: str, old: str, new: str, diff: str) -> str:
    sign = diff[0] if diff[0] in "+−" else ""
    return T[lang]["pay"].format(
        old=money(old, lang), new=money(new, lang), diff=sign + money(diff.lstrip("+−"), lang)
    )


def _refusals(session) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "chat.refused")
    )


def test_one_indicator_typed_gives_new_total_grade_and_pay(session, w, lang):
    t = T[lang]
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    question = (
        "如果质量是60分，我的绩效工资是多少" if lang == "zh_CN" else "what if quality were 60"
    )
    # 质量 60: 18 points instead of 25.5 → 85.4 + 2 − 1 = 86.40, grade B, 4000 × 1 = 4,000.00.
    verify_dialog(
        zhang,
        [
            (
                question,
                [
                    t["hypo"],
                    t["total"].format(new="86.40"),
                    t["grade_b"],
                    _pay(lang, "4,800.00", "4,000.00", "−800.00"),
                    "2026-10",
                ],
            )
        ],
    )
    stored = session.scalars(select(Result).where(Result.employee_id == w.zhang.id)).all()
    assert sorted(str(r.pay) for r in stored) == ["4000.00", "4800.00"]  # nothing stored


def test_several_at_once_and_a_rating_by_its_level(session, w, lang):
    t = T[lang]
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    # 质量 90 → 27, 态度 良好 80 → 24: 37.4 + 27 + 24 = 88.4 + 2 − 1 = 89.40, grade B.
    verify_dialog(
        zhang,
        [
            (
                "如果质量90、态度良好",
                [t["total"].format(new="89.40"), _pay(lang, "4,800.00", "4,000.00", "−800.00")],
            ),
            # 业绩 90 from every scorer → 36: 36 + 25.5 + 30 + 1 = 92.50, still A: no change.
            (
                "假如业绩90分" if lang == "zh_CN" else "what if perf were 90",
                [t["total"].format(new="92.50"), _pay(lang, "4,800.00", "4,800.00", "0.00")],
            ),
        ],
    )


def test_out_of_range_and_not_a_level_are_refused_with_the_range(session, w, lang):
    t = T[lang]
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    verify_dialog(
        zhang,
        [
            ("如果质量120", [t["range"], "!" + t["hypo"]]),
            ("如果质量90、态度85", [t["levels"], "优秀 (100)", "!" + t["hypo"]]),
        ],
    )


def test_tapping_what_if_under_the_explanation_then_an_indicator_and_a_value(session, w, lang):
    t = T[lang]
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    verify_dialog(
        zhang,
        [
            ("/why", t["tryit"]),
            (Tap(t["tryit"]), [t["which"], "质量", "态度"]),
            (Tap("质量"), [t["value_prompt"], "0–100"]),
            (Tap("60"), [t["total"].format(new="86.40"), t["hypo"]]),
            (Tap(t["tryit"]), t["which"]),
            (Tap("质量"), t["value_prompt"]),
            ("１２０", t["range"]),  # full-width, out of range: refused, still asking
            ("90", t["total"].format(new="95.40")),  # 27 instead of 25.5: +1.50
        ],
    )


def test_a_typed_question_after_picking_is_answered_as_a_question(session, w, lang):
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    zhang.say("如果")
    zhang.say(Tap("质量"))
    history = "历史" if lang == "zh_CN" else "history"
    verify_dialog(zhang, [(history, ["2026-10", "2026-09", "!" + T[lang]["hypo"]])])


def test_only_the_speakers_own_result(session, w, lang):
    t = T[lang]
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    before = _refusals(session)
    verify_dialog(zhang, [("如果李四的质量是90", [t["own"], "!" + t["hypo"]])])
    assert _refusals(session) == before + 1
    # A what-if button naming 李四's result, even signed for 张三's chat, is refused.
    li_result = session.scalar(
        select(Result).where(Result.employee_id == w.staff[1].id, Result.period_id == w.october.id)
    )
    chat = session.scalar(select(ChatState).where(ChatState.external_id == zhang.user_id))
    got = zhang.say(
        Incoming(
            "web",
            zhang.user_id,
            zhang.user_id,
            Kind.BUTTON,
            payload=sign(chat.secret, f"wv:{li_result.id}:{_ind(session, w, 'quality')}:90"),
        )
    )
    assert t["hypo"] not in got
    assert _refusals(session) == before + 2


def _ind(session, w, code):
    return next(i.id for i in w.scheme.indicators if i.code == code)


def test_a_head_asks_about_one_of_their_people_during_calibration(session, w, lang):
    t = T[lang]
    # 2026-10 reopened for calibration: the head sees 张三's computed result.
    w.october.state = PeriodState.SCORING_CLOSED
    session.flush()
    head = Chat(session, bind(session, w.head, language=lang))
    verify_dialog(head, [("如果张三的质量是60", ["张三", "003", t["total"].format(new="86.40")])])
    # The head of the other institution: 张三 is not among their people, so the question
    # is about their own result, and they have none.
    outsider = Chat(session, bind(session, w.outsider, language=lang))
    verify_dialog(outsider, [("如果张三的质量是60", ["!张三", "!86.40", "!" + t["hypo"]])])


def test_an_unpublished_period_is_not_offered_to_the_employee(session, w, lang):
    october = session.get(Period, w.october.id)
    october.state = PeriodState.SCORING_CLOSED
    session.flush()
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    # The latest published result is 2026-09's: 80 × 40% + 80 × 30% + 80 × 30% = 80.00.
    verify_dialog(zhang, [("如果质量90", ["2026-09", "80.00 → 83.00"])])


def test_a_head_tries_a_boundary_person_from_the_calibration_view(session, lang):
    """东城支行员工2 (1021): 业绩 91 (weight 100) → A, 5000 × 1.5 = 7,500.00; if 业绩 were 85:
    B, 5000 × 1.2 = 6,000.00. Nothing calibrated, nothing stored."""
    from tests.quota_helpers import scored_period

    _group, period, staff = scored_period(session)
    head = Chat(session, bind(session, staff[0].manager, language=lang))
    head.say("/quotas")
    rows = [[b.label for b in row] for r in head.last for row in r.buttons]
    row = next(r for r in rows if r[0].startswith("1021"))
    assert T[lang]["tryit"] in row[1]
    # Tap the what-if beside 1021 (the second button of its row).
    payload = next(r.buttons for r in head.last)[rows.index(row)][1].payload
    head.say(Incoming("web", head.user_id, head.user_id, Kind.BUTTON, payload=payload))
    verify_dialog(
        head,
        [
            (Tap("业绩"), "0–100"),
            (
                "85",
                [
                    "东城支行员工2",
                    "1021",
                    "91.00 → 85.00",
                    _pay(lang, "7,500.00", "6,000.00", "−1,500.00"),
                ],
            ),
        ],
    )
    stored = session.scalar(
        select(Result.pay).where(Result.period_id == period.id, Result.employee_id == staff[2].id)
    )
    assert str(stored) == "7500.00"


def test_the_question_is_read_indicator_by_indicator():
    """Names and codes in the order written, each with the value after it; a code is a
    word of its own ("perf" is not in "performance"); a rating by its level."""
    from types import SimpleNamespace

    from bot.chat.whatif import asked

    def ind(id_, code, name, kind=IndicatorKind.SCORE, levels=None):
        return SimpleNamespace(id=id_, code=code, name=name, kind=kind, levels=levels)

    inds = [
        ind(1, "perf", "业绩"),
        ind(2, "quality", "服务质量"),
        ind(3, "q2", "质量"),
        ind(4, "attitude", "态度", IndicatorKind.RATING, [["优秀", 100], ["良好", 80]]),
    ]

    def read(text):
        return [(i.id, v) for i, v in asked(text, inds)]

    assert read("如果服务质量是９０分、质量85，我的绩效工资是多少") == [(2, "90"), (3, "85")]
    assert read("what if quality were 90 and perf 70.5") == [(2, "90"), (1, "70.5")]
    assert read("what if my performance were 90") == []
    assert read("如果态度良好") == [(4, "良好")]
    assert read("如果业绩提高") == [(1, None)]
