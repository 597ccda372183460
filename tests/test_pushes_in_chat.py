"""Pushes from the outbox carry buttons the recipient's chat accepts, and nobody else's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.infra.message import Incoming, Kind
from bot.notify.digest import queue_head_digests
from bot.notify.reach import sign_handed_out
from bot.notify.reminders import queue_results_published
from models import ChatIdentity, OutboxMessage, ScoringTask
from tests.chat_helpers import SH, Chat, Tap, bind, build_world

LATE = dt.datetime(2026, 12, 9, 9, 30, tzinfo=SH)  # a Wednesday, two days past the deadline


def _pushed(session, employee):
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.employee_id == employee.id)
        .order_by(OutboxMessage.id)
    ).all()


def _handed(session, message):
    """The content as a sender hands it out: buttons signed for the message's chat."""
    (content,) = sign_handed_out(
        session, message.platform, [(message.chat_id, message.content)], LATE
    )
    return content


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
    nudge = _handed(session, digest)["buttons"][0][0]["payload"]
    assert "1" in _tap(head_chat, nudge)
    assert "已经提醒" in _tap(head_chat, nudge)  # pressed again: nobody twice a day
    reminder = _pushed(session, w.manager)[-1]
    assert w.head.name in reminder.content["text"]
    _tap(manager_chat, _handed(session, reminder)["buttons"][0][0]["payload"])
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
    # As queued, the button's body is not yet a button any chat accepts.
    assert "¥" not in _tap(chat, push.content["buttons"][0][0]["payload"])
    why = _tap(chat, _handed(session, push)["buttons"][0][0]["payload"])
    assert "¥" in why


def test_the_heads_reminder_asked_for_in_chat_spares_her_and_counts_who_cannot_be_reached(
    session,
):
    w = build_world(session)
    # The head is behind too, and a second scorer has blocked the bot.
    blocked = w.staff[1]
    for scorer, appraisee in ((w.head, w.manager), (blocked, w.staff[2])):
        session.add(
            ScoringTask(
                period_id=w.period.id,
                scorer_id=scorer.id,
                appraisee_id=appraisee.id,
                role_code="head",
                deadline=w.period.deadline,
            )
        )
    session.flush()
    head_chat = Chat(session, bind(session, w.head), now=LATE)
    bind(session, w.manager)
    bind(session, blocked)
    session.scalars(
        select(ChatIdentity).where(ChatIdentity.employee_id == blocked.id)
    ).one().unreachable = True
    listing = head_chat.say("提醒未完成的人")
    assert w.manager.name in listing
    assert "无法通过聊天联系" in listing
    assert w.head.name not in listing  # she is not asked to remind herself
    answer = head_chat.say(Tap("一键提醒"))
    assert "已提醒 1 位" in answer
    assert "另有 1 位无法联系" in answer
    assert _pushed(session, w.head) == []
    assert len(_pushed(session, w.manager)) == 1
    assert _pushed(session, blocked) == []
