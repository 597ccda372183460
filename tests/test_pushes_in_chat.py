"""Pushes from the outbox carry buttons the recipient's chat accepts, and nobody else's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.chat.types import Incoming, Kind
from bot.digest import queue_head_digests
from bot.reminders import queue_results_published
from models import OutboxMessage
from tests.chat_helpers import SH, Chat, bind, build_world

LATE = dt.datetime(2026, 12, 9, 9, 30, tzinfo=SH)  # a Wednesday, two days past the deadline


def _pushed(session, employee):
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.employee_id == employee.id)
        .order_by(OutboxMessage.id)
    ).all()


def _tap(chat, payload):
    return chat.say(
        Incoming(chat.platform, chat.user_id, chat.user_id, kind=Kind.BUTTON, payload=payload)
    )


def test_the_head_taps_remind_in_the_digest_and_each_scorer_is_nudged_once(session):
    w = build_world(session)
    head_chat = Chat(session, bind(session, w.head), now=LATE)
    manager_chat = Chat(session, bind(session, w.manager), now=LATE)
    assert queue_head_digests(session, w.group.id, LATE) == 1
    digest = _pushed(session, w.head)[-1]
    assert w.manager.name in digest.content["text"]
    nudge = digest.content["buttons"][0][0]["payload"]
    assert "1" in _tap(head_chat, nudge)
    assert "已经提醒" in _tap(head_chat, nudge)  # pressed again: nobody twice a day
    reminder = _pushed(session, w.manager)[-1]
    assert w.head.name in reminder.content["text"]
    _tap(manager_chat, reminder.content["buttons"][0][0]["payload"])
    assert any(w.zhang.name in label for label in manager_chat.labels())
    # The same button replayed by someone else is refused and changes nothing.
    outsider_chat = Chat(session, bind(session, w.outsider), now=LATE)
    before = len(_pushed(session, w.manager))
    _tap(outsider_chat, nudge)
    assert not any(w.zhang.name in label for label in outsider_chat.labels())
    assert len(_pushed(session, w.manager)) == before


def test_a_published_result_push_opens_the_pay_explanation(session):
    w = build_world(session)
    chat = Chat(session, bind(session, w.zhang), now=LATE)
    assert queue_results_published(session, w.october, LATE) >= 1
    push = _pushed(session, w.zhang)[-1]
    assert "2026-10" in push.content["text"]
    why = _tap(chat, push.content["buttons"][0][0]["payload"])
    assert "¥" in why
