"""The scoring form as dialogues, in both languages: list, indicator by indicator, comments,
Back / Skip / Save and leave, summary and Confirm, quick entry, edits and bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.appraisal.periods import close_period
from bot.infra.message import Incoming, Kind
from models import AuditEvent, ChatState, ScoreEntry, ScoringTask, TaskState
from tests.chat_helpers import NOW, WORDS, Chat, Other, Tap, bind, build_world, verify_dialog


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


@pytest.fixture
def scorer(session, w, lang):
    return Chat(session, bind(session, w.manager, language=lang))


def at(scorer, w, lang, n):
    return WORDS[lang]["item"].format(n=n)


def open_zhang(scorer, lang):
    scorer.say("/score")
    return scorer.say(Tap("张三"))


def entries(session, w):
    task = w.tasks(session)[0]
    session.refresh(task)
    return {e.indicator.code: (str(e.value), e.comment) for e in task.entries}


def test_the_list_shows_marks_progress_and_deadline(session, w, lang, scorer):
    words = WORDS[lang]
    task = w.tasks(session)[1]
    task.state = TaskState.SUBMITTED
    w.tasks(session)[2].state = TaskState.DRAFT
    verify_dialog(
        scorer,
        [
            ("/menu", [f"{words['to_score']}", "2", "2026"]),
            (Tap(words["to_score"]), ["1/3", "2026-11", "⬜ 张三", "✅ 李四", "✏️ 赵六", "23:59"]),
        ],
    )


def test_a_whole_form_by_buttons_and_typing_reaches_the_summary_and_submits(
    session, w, lang, scorer
):
    words = WORDS[lang]
    verify_dialog(
        scorer,
        [
            ("/score", "张三"),
            (Tap("张三"), [at(scorer, w, lang, 1), "业绩", "40", "完成任务的比例", "0–100"]),
            ("９０分", [at(scorer, w, lang, 2), "质量"]),
            (Tap("85"), [at(scorer, w, lang, 3), "态度", "良好 80"]),
            (Tap("良好"), [at(scorer, w, lang, 4), "创新加分", words["skip"]]),
            (Tap(words["skip"]), [at(scorer, w, lang, 5), "违纪扣分"]),
            ("1", [words["summary"], "90", "85", "80", "84.50", "B", "良好", words["confirm"]]),
            (Tap(words["confirm"]), [words["submitted"], "张三", "84.50", words["next"]]),
            (Tap(words["next"]), ["李四", at(scorer, w, lang, 1)]),
        ],
    )
    assert entries(session, w) == {
        "perf": ("90", ""),
        "quality": ("85", ""),
        "attitude": ("80", ""),
        "penalty": ("1", ""),
    }
    assert w.tasks(session)[0].state == TaskState.SUBMITTED


def test_typed_numbers_accept_full_width_digits_units_and_decimals(session, w, lang, scorer):
    verify_dialog(
        scorer,
        [
            ("/score", "张三"),
            (Tap("张三"), at(scorer, w, lang, 1)),
            ("９０．５", at(scorer, w, lang, 2)),
            ("88分", at(scorer, w, lang, 3)),
        ],
    )
    assert entries(session, w)["perf"][0] == "90.5"
    assert entries(session, w)["quality"][0] == "88"


def test_out_of_range_is_refused_with_the_range_and_the_form_stays(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("101", [words["range"], "0–100", at(scorer, w, lang, 1)]),
            ("-5", [words["range"], "0–100", at(scorer, w, lang, 1)]),
            ("90.555", [words["places"], at(scorer, w, lang, 1)]),
        ],
    )
    assert entries(session, w) == {}


def test_a_rating_takes_only_its_levels(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["back"]))  # from the first optional item back to the rating
    verify_dialog(
        scorer,
        [
            ("70", [words["levels"], "优秀 (100)", at(scorer, w, lang, 3)]),
            ("合格", at(scorer, w, lang, 4)),
        ],
    )
    assert entries(session, w)["attitude"][0] == "60"


@pytest.mark.parametrize(("value", "why"), [("55", "below 60"), ("100", "at the maximum")])
def test_a_low_or_top_score_asks_for_a_comment_kept_as_plain_text(
    session, w, lang, scorer, value, why
):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            (value, [words["comment"], at(scorer, w, lang, 1)]),
            ("   ", [words["comment_empty"], at(scorer, w, lang, 1)]),
            ("x" * 10_000, [words["comment_long"], "10000", at(scorer, w, lang, 1)]),
            ("<b>迟到</b> 三次 😀", at(scorer, w, lang, 2)),
        ],
    )
    assert entries(session, w)["perf"] == (value, "<b>迟到</b> 三次 😀")
    scorer.say(Tap(words["back"]))
    assert "<b>迟到</b> 三次 😀" in scorer.text()


def test_a_value_and_its_comment_can_come_in_one_message(session, w, lang, scorer):
    open_zhang(scorer, lang)
    verify_dialog(scorer, [("55 全年任务未完成", at(scorer, w, lang, 2))])
    assert entries(session, w)["perf"] == ("55", "全年任务未完成")


def test_back_from_a_comment_asks_the_value_again(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("50", words["comment"]),
            (Tap(words["back"]), ["0–100", f"!{words['comment']}"]),
            ("80", at(scorer, w, lang, 2)),
        ],
    )
    assert entries(session, w)["perf"] == ("80", "")


def test_back_shows_the_answer_and_keep_moves_on(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("90", at(scorer, w, lang, 2)),
            (Tap(words["back"]), [at(scorer, w, lang, 1), "90", words["keep"]]),
            (Tap(words["keep"]), at(scorer, w, lang, 2)),
        ],
    )


def test_only_bonus_and_deduction_items_can_be_skipped(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    assert words["skip"] not in scorer.labels()
    task = w.tasks(session)[0]
    # A forged Skip on a weighted indicator, signed like a real button of this chat.
    from bot.chat.context import sign

    secret = session.scalar(select(ChatState.secret).where(ChatState.external_id == "u002"))
    perf = w.scheme.indicators[0]
    payload = sign(secret, f"skip:{task.id}:{perf.id}")
    incoming = Incoming("web", "u002", "u002", kind=Kind.BUTTON, payload=payload)
    verify_dialog(scorer, [(incoming, [words["cannot_skip"], at(scorer, w, lang, 1)])])


def test_save_and_leave_keeps_the_draft_and_it_resumes_exactly(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("90", at(scorer, w, lang, 2)),
            (Tap(words["back"]), at(scorer, w, lang, 1)),
            ("40", words["comment"]),
            (Tap(words["leave"]), [words["saved"], "1", "5"]),
            ("/score", "✏️ 张三"),
            (Tap("张三"), [at(scorer, w, lang, 1), words["comment"], "40"]),
            ("完成太少", at(scorer, w, lang, 2)),
        ],
    )
    assert entries(session, w)["perf"] == ("40", "完成太少")


def test_a_restart_mid_form_resumes_at_the_same_indicator_with_answers_kept(engine, Session, lang):
    with Session() as s, s.begin():
        w = build_world(s)
        user = bind(s, w.manager, language=lang)
        chat = Chat(s, user)
        open_zhang(chat, lang)
        chat.say("88")
        chat.say("77")
    engine.dispose()
    with Session() as s, s.begin():
        chat = Chat(s, user)
        text = chat.say("/score")
        text = chat.say(Tap("张三"))
        assert WORDS[lang]["item"].format(n=3) in text
        assert "态度" in text
        chat.say(Tap(WORDS[lang]["back"]))
        assert "77" in chat.text()
        task = s.scalars(select(ScoringTask).order_by(ScoringTask.id.desc())).first()
        assert task is not None


def test_quick_entry_fills_every_weighted_indicator_in_order(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("90 85 80", [words["saved"], "3", at(scorer, w, lang, 4)]),
            (Tap(words["skip"]), at(scorer, w, lang, 5)),
            (Tap(words["skip"]), ["85.50", words["confirm"]]),
        ],
    )
    assert entries(session, w) == {
        "perf": ("90", ""),
        "quality": ("85", ""),
        "attitude": ("80", ""),
    }


def test_quick_entry_validates_the_whole_line_and_names_each_problem(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            (
                "90 150 70 5",
                [words["nothing_saved"], "4", "3", "2. 质量", "150", "3. 态度", "70"],
            ),
            ("90，85，abc", [words["nothing_saved"], "3. 态度", "abc"]),
        ],
    )
    assert entries(session, w) == {}


def test_quick_entry_asks_the_comments_the_scheme_requires(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("100 85 80", [words["comment"], at(scorer, w, lang, 1)]),
            ("全年第一", at(scorer, w, lang, 4)),
        ],
    )
    assert entries(session, w)["perf"] == ("100", "全年第一")


def test_a_double_tap_on_confirm_submits_once(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["skip"]))
    confirm = scorer.incoming(Tap(words["confirm"]))
    assert words["submitted"] in scorer.say(confirm)
    assert words["already"] in scorer.say(confirm)
    submits = session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "task.submit")
    )
    assert submits == 1


def test_confirm_refuses_while_an_indicator_has_no_answer(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    task = w.tasks(session)[0]
    confirm = scorer.incoming(Tap(words["leave"]))
    scorer.say(confirm)
    session.execute(
        ScoreEntry.__table__.delete().where(ScoreEntry.task_id == task.id)
    )  # as if the draft were emptied elsewhere
    session.expire_all()
    from bot.chat.context import sign

    secret = session.scalar(select(ChatState.secret).where(ChatState.external_id == "u002"))
    ok = Incoming("web", "u002", "u002", kind=Kind.BUTTON, payload=sign(secret, f"ok:{task.id}"))
    verify_dialog(scorer, [(ok, [words["needs_answer"], at(scorer, w, lang, 1)])])
    assert w.tasks(session)[0].state != TaskState.SUBMITTED


def test_edits_after_submit_are_audited_until_scoring_closes(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["confirm"]))
    verify_dialog(
        scorer,
        [
            ("/score", "✅ 张三"),
            (Tap("张三"), [words["summary"], words["edit"]]),
            (Tap(words["edit"]), [at(scorer, w, lang, 1), words["keep"]]),
            ("95", at(scorer, w, lang, 2)),
        ],
    )
    edits = session.scalars(select(AuditEvent).where(AuditEvent.action == "score.edit")).all()
    assert [(e.before["value"], e.after["value"]) for e in edits] == [("90", "95")]
    edit = scorer.incoming(Tap("85"))
    close_period(session, NOW, w.period, actor="test")
    verify_dialog(scorer, [(edit, [words["closed"], "2026-11"])])
    assert entries(session, w)["quality"] == ("85", "")
    assert session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "chat.refused")
    )


def test_a_stale_button_from_an_earlier_step_does_not_answer_twice(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    ninety = scorer.incoming(Tap("90"))
    scorer.say(ninety)
    verify_dialog(scorer, [(ninety, [words["earlier_step"], at(scorer, w, lang, 2)])])
    assert "quality" not in entries(session, w)


@pytest.mark.parametrize(
    ("said", "key"),
    [
        ("", "type_number"),
        ("9" * 10_000, "range"),
        ("a" * 10_000, "not_number"),
        ("😀", "not_number"),
        ("-5", "range"),
        ("1e309", "not_number"),
        ("NaN", "not_number"),
        ("九十", "not_number"),
        ("<b>90</b>", "not_number"),
        (Other(), "unreadable"),
    ],
)
def test_bad_input_gets_a_clear_answer_and_the_form_stays(session, w, lang, scorer, said, key):
    open_zhang(scorer, lang)
    scorer.say("90")
    verify_dialog(scorer, [(said, [WORDS[lang][key], at(scorer, w, lang, 2)])])
    assert w.tasks(session)[0].cursor == 1
    assert entries(session, w) == {"perf": ("90", "")}


def test_after_the_last_person_next_says_everyone_is_scored(session, w, lang, scorer):
    words = WORDS[lang]
    for task in w.tasks(session)[1:]:
        task.state = TaskState.SUBMITTED
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["confirm"]))
    verify_dialog(scorer, [(Tap(words["next"]), [words["everyone"], "3/3"])])


# Issue 9, "The scoring form": each behaviour a manager on a phone meets.

FORM = {
    "zh_CN": {
        "tip": "例如 ",
        "changed": "分数已由 55 改为 65。",
        "resumes": "下次从这里继续",
        "menu_hint": "请输入“菜单”",
        "removed": "已删除之前的评语",
        "edited": "已修改 张三 的已提交评分：业绩 90 → 95。评分仍为已提交。",
        "total": "总分 87.50",
        "self": "仅供参考，不计入结果",
        "grade": "按您的评分",
        "cap": "15（最多计 10）",
        "role": "本人自评",
    },
    "en": {
        "tip": "such as ",
        "changed": "Score changed from 55 to 65.",
        "resumes": "resumes here next time",
        "menu_hint": "type “menu”",
        "removed": "Earlier comments removed",
        "edited": "Changed in the submitted scoring of 张三: 业绩 90 → 95. It stays submitted.",
        "total": "Total from your scores: 87.50",
        "self": "do not count toward the result",
        "grade": "Total from your scores",
        "cap": "15, counts at most 10",
        "role": "本人自评",
    },
}


def test_the_quick_entry_tip_is_a_line_the_form_accepts(session, w, lang, scorer):
    """The scheme's third item is a rating: a tip of three 90s would be refused."""
    text = open_zhang(scorer, lang)
    tip = next(x for x in text.splitlines() if FORM[lang]["tip"] in x)
    example = tip.split(FORM[lang]["tip"])[1].rstrip("。.")
    assert example.split()[2] in ("优秀", "良好", "合格", "不合格")
    verify_dialog(scorer, [(example, [WORDS[lang]["saved"], at(scorer, w, lang, 4)])])
    assert set(entries(session, w)) == {"perf", "quality", "attitude"}


def test_a_mistyped_quick_entry_is_refused_whole_never_kept_as_a_comment(session, w, lang, scorer):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            (
                "90 优 88",
                [words["nothing_saved"], "2. 质量", "“优”", "3. 态度", at(scorer, w, lang, 1)],
            ),
            ("90 85 80", [words["saved"], at(scorer, w, lang, 4)]),
        ],
    )
    assert entries(session, w) == {
        "perf": ("90", ""),
        "quality": ("85", ""),
        "attitude": ("80", ""),
    }


def test_a_correct_re_entry_drops_a_comment_that_was_really_mistyped_scores(
    session, w, lang, scorer
):
    """Stored before lines were refused whole: 90 with the comment "优 88 80"."""
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    task = w.tasks(session)[0]
    perf = next(e for e in task.entries if e.indicator.code == "perf")
    perf.comment = "优 88 80"
    session.flush()
    scorer.say(Tap(WORDS[lang]["back"]))
    verify_dialog(scorer, [("90 85 80", [FORM[lang]["removed"], "业绩"])])
    assert entries(session, w)["perf"] == ("90", "")


def test_a_number_at_the_comment_prompt_corrects_the_score(session, w, lang, scorer):
    """A manager who typed 55 for 65 types 65 again: the score is corrected, no comment
    "65" is stored, and a sentence is still a comment."""
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            ("55", [words["comment"], at(scorer, w, lang, 1)]),
            ("65", [FORM[lang]["changed"], at(scorer, w, lang, 2)]),
        ],
    )
    assert entries(session, w) == {"perf": ("65", "")}
    scorer.say(Tap(words["back"]))
    verify_dialog(
        scorer,
        [
            ("50", words["comment"]),
            ("50", words["comment"]),
            ("只完成 3 项", at(scorer, w, lang, 2)),
        ],
    )
    assert entries(session, w)["perf"] == ("50", "只完成 3 项")


@pytest.mark.parametrize("said", ["跳过", "skip"])
def test_skip_typed_in_a_form_skips_an_optional_item_or_says_it_cannot(
    session, w, lang, scorer, said
):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    verify_dialog(
        scorer,
        [
            (said, [words["cannot_skip"], at(scorer, w, lang, 1), f"!{words['not_number']}"]),
            ("90 85 80", at(scorer, w, lang, 4)),
            (said, at(scorer, w, lang, 5)),
        ],
    )


@pytest.mark.parametrize("said", ["上一步", "back"])
def test_back_typed_in_a_form_goes_back(session, w, lang, scorer, said):
    open_zhang(scorer, lang)
    scorer.say("90")
    verify_dialog(scorer, [(said, [at(scorer, w, lang, 1), f"!{WORDS[lang]['not_number']}"])])


@pytest.mark.parametrize("said", ["菜单", "menu"])
def test_menu_typed_in_a_form_leaves_it_with_the_answers_kept(session, w, lang, scorer, said):
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90")
    verify_dialog(
        scorer,
        [
            (said, [FORM[lang]["resumes"], words["my"], f"!{words['not_number']}"]),
            ("/score", "✏️ 张三"),
        ],
    )
    assert entries(session, w) == {"perf": ("90", "")}


def test_other_words_in_a_form_say_how_to_leave(session, w, lang, scorer):
    open_zhang(scorer, lang)
    verify_dialog(scorer, [("不想打了", [WORDS[lang]["not_number"], FORM[lang]["menu_hint"]])])


def test_a_head_who_is_also_the_manager_sees_the_role_in_the_list_and_the_form(
    session, w, lang, scorer
):
    session.add(
        ScoringTask(
            period_id=w.period.id,
            scorer_id=w.manager.id,
            appraisee_id=w.zhang.id,
            role_code="head",
            deadline=w.period.deadline,
        )
    )
    session.flush()
    verify_dialog(
        scorer,
        [
            ("/score", ["张三"]),
            (Tap("张三 (003) · 一把手"), ["张三 (003) · 一把手 · 2026-11"]),
        ],
    )
    assert "⬜ 张三 (003) · 直接上级" in scorer.shown[0]
    assert "⬜ 张三 (003) · 一把手" in scorer.shown[0]


def test_editing_a_submitted_scoring_says_what_changed_and_the_new_total(session, w, lang, scorer):
    """90 85 80 → 40 × 95 + 30 × 85 + 30 × 80, ÷ 100 = 38 + 25.5 + 24 = 87.50."""
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["skip"]))
    scorer.say(Tap(words["confirm"]))
    scorer.say("/score")
    scorer.say(Tap("张三"))
    scorer.say(Tap(words["edit"]))
    verify_dialog(scorer, [("95", [FORM[lang]["edited"], FORM[lang]["total"]])])
    assert w.tasks(session)[0].state == TaskState.SUBMITTED


def test_a_self_assessment_is_not_shown_a_total_or_grade_as_a_result(session, w, lang):
    from models import ScorerRole

    w.scheme.roles.append(ScorerRole(position=3, code="self", name="本人自评", weight=Decimal(0)))
    session.add(
        ScoringTask(
            period_id=w.period.id,
            scorer_id=w.zhang.id,
            appraisee_id=w.zhang.id,
            role_code="self",
            deadline=w.period.deadline,
        )
    )
    session.flush()
    me = Chat(session, bind(session, w.zhang, language=lang))
    words = WORDS[lang]
    me.say("/score")
    me.say(Tap("张三"))
    me.say("95 95 优秀")
    me.say(Tap(words["skip"]))
    verify_dialog(
        me,
        [
            (Tap(words["skip"]), [FORM[lang]["self"], f"!{FORM[lang]['grade']}"]),
            (Tap(words["confirm"]), [words["submitted"], FORM[lang]["self"], "!96.50"]),
        ],
    )


def test_a_deduction_above_its_cap_is_taken_and_the_summary_shows_the_cap(session, w, lang, scorer):
    """违纪扣分 caps at 10: 15 is entered, 10 counts. 36 + 25.5 + 24 − 10 = 75.50."""
    words = WORDS[lang]
    open_zhang(scorer, lang)
    scorer.say("90 85 80")
    scorer.say(Tap(words["skip"]))
    verify_dialog(scorer, [("15", [words["summary"], FORM[lang]["cap"], "75.50"])])
    assert entries(session, w)["penalty"] == ("15", "")


def test_a_30_digit_number_is_echoed_shortened(session, w, lang, scorer):
    open_zhang(scorer, lang)
    text = scorer.say("9" * 30)
    assert WORDS[lang]["range"] in text
    assert "9" * 30 not in text
    assert "99999999…999" in text
