"""Input edge cases in the scoring form: negative zero, comments that look empty, numbers
far too long to be scores."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.appraisal import values
from bot.chat import sheet
from bot.chat.context import Ctx, chat_state
from bot.infra import render
from bot.infra.message import Incoming
from tests.chat_helpers import NOW, Chat, Tap, bind, build_world


@pytest.fixture
def scorer(session):
    w = build_world(session)
    chat = Chat(session, bind(session, w.manager, language="zh_CN"))
    chat.say("/score")
    chat.say(Tap("张三"))
    return w, chat


def stored(session, w) -> dict[str, tuple[str, str]]:
    task = w.tasks(session)[0]
    session.refresh(task)
    return {e.indicator.code: (render.score(e.value), e.comment) for e in task.entries}


@pytest.mark.parametrize("typed", ["-0", "-0.0", "-０", "-0.00"])
def test_negative_zero_is_zero_stored_and_shown(session, scorer, typed):
    w, chat = scorer
    reply = chat.say(typed)
    assert "-0" not in reply
    assert "您打了 0 分" in reply
    chat.say("完全没有完成")
    value = w.tasks(session)[0].entries[0].value
    assert not value.is_signed()
    assert stored(session, w)["perf"] == ("0", "完全没有完成")


def test_negative_zero_never_shows_as_minus_zero():
    assert values.parse("-0.0") == 0
    assert not values.parse("-0.0").is_signed()
    assert render.score(Decimal("-0")) == "0"
    assert render.score(Decimal("-0.00")) == "0"


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200c\u2060", "\u3000\ufeff", "\u3164"])
def test_a_required_comment_of_invisible_characters_is_empty(session, scorer, blank):
    w, chat = scorer
    chat.say("55")
    reply = chat.say(blank)
    assert "评语为空" in reply
    assert "必须填写评语" in reply
    # The 55 waits for its comment; nothing is stored with an invisible one.
    assert stored(session, w) == {}


def test_a_value_with_an_invisible_comment_still_asks_for_the_comment(session, scorer):
    w, chat = scorer
    reply = chat.say("55 \u200b")
    assert "评语为空" in reply or "必须填写评语" in reply
    assert stored(session, w).get("perf", ("", ""))[1] == ""


@pytest.mark.parametrize("digits", ["9" * 10_000, "1" * 40, "1" * 13 + ".5"])
def test_huge_numbers_are_refused_early_and_echoed_short(session, scorer, digits):
    w, chat = scorer
    reply = chat.say(digits)
    assert len(reply) < 600
    assert digits[:13] not in reply
    assert "…" in reply
    assert "超出允许范围" in reply
    assert stored(session, w) == {}


def test_huge_numbers_in_a_quick_entry_line_are_refused_short(session, scorer):
    w, chat = scorer
    reply = chat.say(f"{'9' * 10_000} 90 良好")
    assert len(reply) < 800
    assert "9" * 13 not in reply
    assert stored(session, w) == {}


def test_a_long_but_real_score_still_parses():
    assert values.parse("000090.5") == Decimal("90.5")
    assert values.parse("99999.25") == Decimal("99999.25")


def test_the_modal_sheet_treats_an_invisible_optional_comment_as_none(session):
    w = build_world(session)
    user = bind(session, w.manager, platform="slack", user_id="U1")
    task = w.tasks(session)[0]
    inds = {i.code: i.id for i in w.scheme.indicators}
    incoming = Incoming(platform="slack", user_id=user, chat_id=user)
    ctx = Ctx(session, incoming, NOW, chat_state(session, "slack", user, NOW), w.manager)
    out = sheet.save_sheet(
        ctx,
        task.id,
        {
            inds["perf"]: ("-0", "\u200b"),
            inds["quality"]: ("80", "\u200b\u2060"),
            inds["attitude"]: ("良好", ""),
        },
        submit=False,
    )
    # perf 0 needs a comment: a zero-width space is none, so nothing is written.
    assert isinstance(out, dict)
    assert inds["perf"] in out
    out = sheet.save_sheet(
        ctx,
        task.id,
        {inds["perf"]: ("70", ""), inds["quality"]: ("80", "\u200b\u2060")},
        submit=False,
    )
    assert not isinstance(out, dict)
    assert stored(session, w) == {"perf": ("70", ""), "quality": ("80", "")}


def test_control_characters_are_found_and_ordinary_text_is_not():
    assert values.control_character("好\x00") == "U+0000"
    assert values.control_character("a\x1b[0m") == "U+001B"
    assert values.control_character("\ufffe") == "U+FFFE"
    assert values.control_character("第一行\n第二行\t😀👨\u200d👩") is None
