"""Outbox delivery through the real python-telegram-bot client and a local fake Bot API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.chat.context import sign
from bot.infra.message import Button, Reply
from bot.notify import outbox
from bot.notify.chart import completion_bars
from bot.notify.delivery import Limits, Sender
from bot.notify.reach import handout_content, reachable_identities
from bot.notify.weekly import announce
from handlers.telegram.transport import TelegramTransport, split, units
from models import ChatIdentity, ChatState, OutboxMessage, OutboxState
from models.db import make_engine, sessions, upgrade
from tests.factories import small_org
from tests.fakes.telegram import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def api():
    fake = FakeBotAPI().start()
    yield fake
    fake.stop()


def _queue(Session, chats, prefix="m"):
    with Session() as s, s.begin():
        for i, chat in enumerate(chats):
            outbox.enqueue(
                s,
                NOW,
                platform="telegram",
                chat_id=str(chat),
                content={
                    "text": f"{prefix}{i}",
                    "buttons": [[{"label": "Why?", "payload": "why:1"}]],
                },
                dedupe_key=f"{prefix}:{i}",
            )


async def _drain(Session, api, **limits):
    async with Bot("123:TEST", base_url=api.base_url) as bot:
        sender = Sender(Session, TelegramTransport(bot), "telegram", limits=Limits(**limits))
        return await sender.drain()


def test_messages_arrive_with_their_buttons_and_nothing_twice(Session, api):
    _queue(Session, [1001, 1002, 1003])
    stats = asyncio.run(_drain(Session, api))
    assert stats.sent == 3
    assert [s.params["text"] for s in api.sent] == ["m0", "m1", "m2"]
    markup = api.sent[0].params["reply_markup"]
    assert markup["inline_keyboard"][0][0]["callback_data"] == "why:1"
    assert api.rejected_429 == 0


def test_a_blocked_user_is_marked_failed_not_retried(Session, api):
    api.blocked.add("1002")
    _queue(Session, [1001, 1002])
    stats = asyncio.run(_drain(Session, api))
    assert (stats.sent, stats.failed) == (1, 1)
    assert api.calls["sendMessage"] == 2
    with Session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "1002")).one()
    assert row.state == OutboxState.FAILED
    assert "blocked" in row.last_error


def test_a_429_from_telegram_is_honoured(Session, api):
    """The sender is told it may go faster than the server allows; the server's 429 and
    retry_after bring it back in line without losing the message."""
    _queue(Session, ["77", "77"])
    asyncio.run(_drain(Session, api, per_chat_interval=0.0))
    assert api.rejected_429 == 1
    with Session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.state != OutboxState.SENT)).one()
    assert row.next_attempt_at > NOW
    assert row.attempts == 0, "a 429 is a wait, not a failed attempt"


def test_a_request_cut_off_mid_body_is_neither_answered_nor_acted_on(api):
    """A worker killed while posting leaves half a request: the fake, like Telegram,
    never sees a complete sendMessage, so it sends nothing."""
    host, port = api.base_url.split("//")[1].split("/")[0].split(":")
    body = b"chat_id=1001&text=m0"
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            b"POST /bot123:TEST/sendMessage HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:9]
        )
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(1024) == b""  # closed without an answer
    assert api.sent == []
    assert api.calls["sendMessage"] == 0


def test_a_message_without_text_is_refused_as_telegram_does(api):
    status, payload = api.handle("sendMessage", {"chat_id": "1001"})
    assert (status, payload["description"]) == (400, "Bad Request: message text is empty")
    assert api.sent == []


def test_long_answers_are_split_at_line_boundaries():
    text = "\n".join(f"第{i}行 " + "分" * 50 for i in range(200))
    parts = split(text)
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split("") == [""]


def test_killing_the_sender_mid_broadcast_loses_nothing_and_repeats_nothing(tmp_path, api):
    """5,000 messages, the worker killed with SIGKILL partway, then started again."""
    api.per_second = 100_000
    api.per_chat_interval = 0.0
    url = f"sqlite:///{tmp_path / 'broadcast.db'}"
    engine = make_engine(url)
    upgrade(engine)
    Session = sessions(engine)
    _queue(Session, range(10_000, 15_000))
    cmd = [
        sys.executable,
        "-m",
        "handlers.telegram.worker",
        "--database-url",
        url,
        "--base-url",
        api.base_url,
        "--per-second",
        "2000",
        "--until-empty",
    ]
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:TEST"}
    worker = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while len(api.sent) < 1500 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    before = len(api.sent)
    assert 0 < before < 5000, "the kill must land mid-broadcast"
    done = subprocess.run([*cmd, "--recover-after", "600"], cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0
    received = Counter(s.params["text"] for s in api.sent)
    assert set(received) | _unknown(Session) == {f"m{i}" for i in range(5000)}
    duplicates = [t for t, n in received.items() if n > 1]
    assert len(duplicates) <= 1, duplicates  # at most the one in flight
    with Session() as s:
        states = Counter(s.scalars(select(OutboxMessage.state)))
        assert s.scalar(select(func.count(OutboxMessage.id))) == 5000
    assert states[OutboxState.UNKNOWN] <= 1
    assert states[OutboxState.SENT] + states[OutboxState.UNKNOWN] == 5000
    engine.dispose()


def _unknown(Session):
    with Session() as s:
        rows = s.scalars(
            select(OutboxMessage).where(OutboxMessage.state == OutboxState.UNKNOWN)
        ).all()
    return {r.content["text"] for r in rows}


def _push(Session, chat, content, key="p"):
    with Session() as s, s.begin():
        outbox.enqueue(
            s, NOW, platform="telegram", chat_id=str(chat), content=content, dedupe_key=key
        )


def _drain_until_sent(Session, api, rounds=10, **limits):
    """Drain; a 429 requeues a message for a second later, so drain again after it."""
    for _ in range(rounds):
        asyncio.run(_drain(Session, api, **limits))
        with Session() as s:
            if not s.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.state != OutboxState.SENT)
            ):
                return
        time.sleep(1.1)
    raise AssertionError("not all sent")


def test_a_long_push_arrives_in_parts_each_once_and_resumes_after_a_429(Session, api):
    """A 5,000-character announcement is two messages; the sender is told it may send to
    one chat without pause, so Telegram answers the second part with a 429: the first is
    not sent again, the second follows once the wait is over, and the 429 is no attempt."""
    text = "\n".join(["通知" * 40] * 61)  # 81 × 61 = 4,941 characters in 61 lines
    _push(Session, 555, {"text": text, "buttons": [[{"label": "OK", "payload": "menu"}]]})
    _drain_until_sent(Session, api, per_chat_interval=0.0)
    assert api.rejected_429 >= 1, "the test must provoke a 429 between the parts"
    got = [s.params["text"] for s in api.sent if s.method == "sendMessage"]
    assert len(got) == 2
    assert "\n".join(got) == text
    assert "reply_markup" not in api.sent[0].params
    assert api.sent[1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "menu"
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.state, row.parts_sent, row.attempts) == (OutboxState.SENT, 2, 1)


def test_a_long_push_queued_unsigned_is_signed_for_its_chat_across_a_429(Session, api):
    """A push queued with its buttons unsigned (as every push now is) in two parts, the
    second refused once with a 429: the button reaches Telegram signed with that chat's
    key, within callback_data's 64 bytes, the chat's key made once; and a second push
    to the chat, queued after it, arrives after it."""
    text = "\n".join(["通知" * 40] * 61)
    with Session() as s, s.begin():
        for n, body in enumerate((text, "第二条")):
            reply = Reply(body, [[Button("开始评分", f"task:{n + 12345678}")]])
            outbox.enqueue(
                s,
                NOW,
                platform="telegram",
                chat_id="557",
                content=handout_content(reply),
                dedupe_key=f"unsigned:{n}",
            )
    _drain_until_sent(Session, api, per_chat_interval=0.0)
    assert api.rejected_429 >= 1, "the test must provoke a 429 between the parts"
    sent = [x.params for x in api.sent if x.method == "sendMessage"]
    assert len(sent) == 3
    assert "\n".join(p["text"] for p in sent[:2]) == text
    assert sent[2]["text"] == "第二条"  # after the first push, whole
    with Session() as s:
        keys = s.scalars(select(ChatState.secret).where(ChatState.external_id == "557")).all()
    assert len(keys) == 1
    tapped = [p["reply_markup"]["inline_keyboard"][0][0]["callback_data"] for p in sent[1:]]
    assert tapped == [sign(keys[0], "task:12345678"), sign(keys[0], "task:12345679")]
    assert all(len(data.encode()) <= 64 for data in tapped)
    assert "reply_markup" not in sent[0]


def test_the_fake_refuses_callback_data_telegram_would(api):
    """Telegram refuses a button whose callback_data is over 64 bytes: so does the fake."""
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]}
    status, payload = api.handle(
        "sendMessage", {"chat_id": "1001", "text": "t", "reply_markup": markup}
    )
    assert (status, payload["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


def test_a_digest_sends_its_text_then_its_chart_each_once(Session, api):
    png = base64.b64encode(completion_bars("t", [("营业部", Decimal(50))], "%")).decode()
    _push(
        Session,
        556,
        {"text": "进度", "image": png, "buttons": [[{"label": "提醒", "payload": "nudge:1"}]]},
    )
    _drain_until_sent(Session, api, per_chat_interval=0.0)
    assert api.rejected_429 >= 1  # the chart came too soon after the text
    assert [s.method for s in api.sent] == ["sendMessage", "sendPhoto"]
    assert api.sent[0].params["reply_markup"]["inline_keyboard"][0][0]["text"] == "提醒"
    assert base64.b64encode(api.sent[1].params["photo"]).decode() == png


def test_many_pushes_arrive_within_the_limits_without_a_single_429(Session, api):
    """Parts are sends of their own: the per-chat limit spaces them, Telegram never has
    to refuse one."""
    for n in range(3):
        _push(Session, 600 + n, {"text": "🙂" * 2500}, key=f"e{n}")  # 5,000 units each
    asyncio.run(_drain(Session, api))
    assert api.rejected_429 == 0
    assert len([s for s in api.sent if s.method == "sendMessage"]) == 6


def test_emoji_count_double_as_telegram_counts_them(api):
    status, payload = api.handle("sendMessage", {"chat_id": "1", "text": "🙂" * 2049})
    assert (status, payload["description"]) == (400, "Bad Request: message is too long")
    assert api.handle("sendMessage", {"chat_id": "1", "text": "🙂" * 2048})[0] == 200
    parts = split("好🙂" * 2000)
    assert [units(p) for p in parts] == [4096, 1904]  # never half a surrogate pair
    assert "".join(parts) == "好🙂" * 2000
    assert all(units(p) <= 4096 for p in split(("评语🙂" * 500 + "\n") * 5))


def test_a_blocked_user_is_marked_unreachable_and_gets_no_more_pushes(Session, api):
    with Session() as s, s.begin():
        group, people = small_org(s)
        _inst, _head, staff = people["东城支行"]
        s.add(
            ChatIdentity(
                platform="telegram", external_id="1002", employee_id=staff[0].id, bound_at=NOW
            )
        )
        s.add(
            ChatIdentity(
                platform="telegram", external_id="1003", employee_id=staff[1].id, bound_at=NOW
            )
        )
        group_id = group.id
    api.blocked.add("1002")
    with Session() as s, s.begin():
        assert announce(s, NOW, group_id, "周五前完成评分") == 2
    asyncio.run(_drain(Session, api))
    with Session() as s, s.begin():
        marks = dict(s.execute(select(ChatIdentity.external_id, ChatIdentity.unreachable)).all())
        assert marks == {"1002": True, "1003": False}
        assert announce(s, NOW, group_id, "第二次通知") == 1
        assert remind(s, [staff[0].id, staff[1].id]) == {"1003"}


def remind(session, employee_ids):
    return {
        i.external_id
        for ids in reachable_identities(session, set(employee_ids)).values()
        for i in ids
    }


def test_two_workers_keep_each_chats_order(Session, api):
    """2,000 messages to 500 chats, 4 each, queued round by round; two senders at once,
    each in its own thread, claiming side by side: every chat receives its four in queue
    order, none lost, none twice. (No rate limits here, so only the claims keep order.)"""
    api.per_second = 100_000
    api.per_chat_interval = 0.0
    with Session() as s, s.begin():
        for k in range(4):
            for chat in range(500):
                outbox.enqueue(
                    s,
                    NOW,
                    platform="telegram",
                    chat_id=str(900_000 + chat),
                    content={"text": f"{chat}:{k}"},
                    dedupe_key=f"o:{chat}:{k}",
                )

    def worker():
        asyncio.run(_drain(Session, api, per_second=1000.0, per_chat_interval=0.0))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    received: dict[str, list[str]] = {}
    for message in api.sent:
        received.setdefault(message.chat_id, []).append(message.params["text"])
    assert len(api.sent) == 2000
    assert len(received) == 500
    for chat, texts in received.items():
        n = int(chat) - 900_000
        assert texts == [f"{n}:{k}" for k in range(4)], chat


def test_a_killed_workers_claims_are_taken_over_by_the_other_within_seconds(tmp_path, api):
    """Two workers drain 1,500 messages; one is killed with SIGKILL partway. The other,
    still running, takes over what the dead one had claimed as soon as its (short,
    renewed) lease lapses: no claim stays expired for more than a few seconds,
    everything arrives, nothing twice but the one in flight."""
    api.per_second = 100_000
    api.per_chat_interval = 0.0
    url = f"sqlite:///{tmp_path / 'two.db'}"
    engine = make_engine(url)
    upgrade(engine)
    Session = sessions(engine)
    _queue(Session, range(20_000, 21_500))
    lease = 3.0
    cmd = [
        sys.executable,
        "-m",
        "handlers.telegram.worker",
        "--database-url",
        url,
        "--base-url",
        api.base_url,
        "--per-second",
        "1000",
        "--lease",
        str(lease),
    ]
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:TEST"}
    doomed = subprocess.Popen(cmd, cwd=ROOT, env=env)
    survivor = subprocess.Popen(cmd, cwd=ROOT, env=env)
    pending = [OutboxState.QUEUED, OutboxState.CLAIMED, OutboxState.SENDING]
    held = [OutboxState.CLAIMED, OutboxState.SENDING]
    try:

        def owners() -> Counter[str | None]:
            with Session() as s:
                return Counter(
                    s.scalars(select(OutboxMessage.claimed_by).where(OutboxMessage.state.in_(held)))
                )

        # Partway, with both workers holding claims (on a busy machine one may start
        # late): only then is there a dead worker's share to take over.
        deadline = time.monotonic() + 120
        while (len(api.sent) < 300 or len(owners()) < 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(owners()) == 2, "both workers must hold claims before the kill"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        assert owners(), "the kill must leave the dead worker's claims behind"
        overdue, left = 0.0, 1
        deadline = time.monotonic() + 120
        while left and time.monotonic() < deadline:
            now = dt.datetime.now(dt.UTC)
            with Session() as s:
                left = s.scalar(
                    select(func.count(OutboxMessage.id)).where(OutboxMessage.state.in_(pending))
                )
                oldest = s.scalar(
                    select(func.min(OutboxMessage.lease_until)).where(OutboxMessage.state.in_(held))
                )
            if oldest is not None:
                overdue = max(overdue, (now - oldest).total_seconds())
            time.sleep(0.1)
    finally:
        survivor.terminate()
        survivor.wait(30)
    assert left == 0, f"{left} messages still undelivered two minutes after the kill"
    assert overdue < 10, f"a dead worker's claim stayed expired {overdue:.1f} s"
    received = Counter(s.params["text"] for s in api.sent)
    assert set(received) | _unknown(Session) == {f"m{i}" for i in range(1500)}
    assert len([t for t, n in received.items() if n > 1]) <= 1
    with Session() as s:
        assert Counter(s.scalars(select(OutboxMessage.state)))[OutboxState.UNKNOWN] <= 1
    engine.dispose()


def test_two_workers_share_telegrams_overall_limit(Session, api):
    """Each sender keeps 29 a second; two side by side take half each, so together they
    stay under Telegram's 30 and are not refused."""
    api.per_chat_interval = 0.0
    _queue(Session, range(30_000, 30_240))

    def worker():
        asyncio.run(_drain(Session, api))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(api.sent) == 240
    assert api.rejected_429 <= 2, api.rejected_429
