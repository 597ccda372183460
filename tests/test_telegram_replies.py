"""Answers in chat always reach the user: long texts cut as Telegram counts them, a 429
waited out or handed to the outbox, a text refused as too long cut further; and a user
who blocks the bot is marked unreachable by Telegram's own update."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from sqlalchemy import select
from telegram import Update

import handlers.telegram.bot as tgbot
from bot.infra.message import Button, Reply
from handlers.telegram.bot import build_application
from handlers.telegram.transport import units
from models import ChatIdentity, OutboxMessage
from tests.chat_helpers import NOW
from tests.factories import small_org
from tests.fakes import telegram as fake_api
from tests.fakes.telegram import FakeBotAPI
from tests.test_telegram_chat import Telegram

_ids = itertools.count(50_000)


@pytest.fixture
def api():
    fake = FakeBotAPI().start()  # Telegram's limits: one message a second per chat
    yield fake
    fake.stop()


@pytest.fixture
def app(Session, api):
    return build_application("123:TEST", Session, base_url=api.base_url, clock=lambda: NOW)


@pytest.fixture
def answers(monkeypatch):
    """The conversation answers whatever it is told to, so only rendering is tested."""
    script: dict[str, list[Reply]] = {}

    def process(sessions, update, now):
        return script.get(update.effective_message.text, [Reply("?")])

    monkeypatch.setattr(tgbot, "process", process)
    return script


def _texts(sent):
    return [s.params["text"] for s in sent if s.method == "sendMessage"]


def test_a_long_answer_full_of_emoji_arrives_whole_in_parts_telegram_accepts(app, api, answers):
    """500 🙂 per comment, six comments: 3,000 characters but 6,000 UTF-16 units."""
    text = "\n".join(f"指标{i}：" + "🙂" * 500 for i in range(6))
    answers["/why"] = [Reply(text, [[Button("确认", "ok")]])]
    sent = Telegram(app, api, 700).send("/why")
    assert len(sent) == 2
    assert all(units(t) <= 4096 for t in _texts(sent))
    assert "\n".join(_texts(sent)) == text
    assert sent[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"


def test_a_text_still_refused_as_too_long_is_cut_further(app, api, answers, monkeypatch):
    monkeypatch.setattr(fake_api, "TEXT_LIMIT", 1500)  # Telegram counting differently
    text = "\n".join("评语" * 300 for _ in range(6))  # 3,605 units: one part by our count
    answers["/why"] = [Reply(text, [[Button("确认", "ok")]])]
    sent = Telegram(app, api, 701).send("/why")
    assert len(sent) >= 3
    assert all(units(t) <= 1500 for t in _texts(sent))
    assert "\n".join(_texts(sent)) == text
    assert "reply_markup" in sent[-1].params


def test_quick_answers_are_delivered_after_telegrams_flood_wait(app, api, answers):
    """ "90" then "85" at once: the second answer meets the one-a-second limit, waits the
    429 out and arrives, so the screen shows the step the conversation is at."""
    answers["90"] = [Reply("第2项：请输入分数")]
    answers["85"] = [Reply("第3项：请输入分数")]
    tg = Telegram(app, api, 702)
    start = time.monotonic()
    tg.send("90")
    tg.send("85")
    assert api.rejected_429 >= 1, "the test must provoke a 429"
    assert _texts(api.sent) == ["第2项：请输入分数", "第3项：请输入分数"]
    assert time.monotonic() - start >= 0.9


def test_an_answer_flood_control_holds_too_long_goes_through_the_outbox(app, api, answers, Session):
    api.retry_after = 60  # far beyond what a chat reply may wait
    answers["90"] = [Reply("第2项：请输入分数")]
    answers["85"] = [Reply("第3项：请输入分数", [[Button("跳过", "skip")]])]
    tg = Telegram(app, api, 703)
    tg.send("90")
    tg.send("85")
    assert _texts(api.sent) == ["第2项：请输入分数"]
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.chat_id, row.content["text"]) == ("703", "第3项：请输入分数")
    assert row.content["buttons"] == [[{"label": "跳过", "payload": "skip"}]]


def _member_update(app, user_id, status):
    member = {"user": {"id": 1, "is_bot": True, "first_name": "Jixiao"}, "status": status}
    data = {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "王"},
            "date": 0,
            "old_chat_member": {**member, "status": "member"},
            "new_chat_member": {**member, "until_date": 0} if status == "kicked" else member,
        },
    }

    async def run():
        async with app:
            await app.process_update(Update.de_json(data, app.bot))

    asyncio.run(run())


def test_blocking_the_bot_marks_the_chat_unreachable_and_restarting_it_clears_that(app, Session):
    with Session() as s, s.begin():
        _group, people = small_org(s)
        head = people["东城支行"][1]
        s.add(
            ChatIdentity(platform="telegram", external_id="704", employee_id=head.id, bound_at=NOW)
        )
    _member_update(app, 704, "kicked")
    with Session() as s:
        assert s.scalars(select(ChatIdentity.unreachable)).one() is True
    _member_update(app, 704, "member")
    with Session() as s:
        assert s.scalars(select(ChatIdentity.unreachable)).one() is False
