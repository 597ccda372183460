"""Outbox delivery through the real python-telegram-bot client and a local fake Bot API."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot import outbox
from bot.delivery import Limits, Sender
from handlers.telegram.fake_api import FakeBotAPI
from handlers.telegram.transport import TelegramTransport, split
from models import OutboxMessage, OutboxState
from models.db import make_engine, sessions, upgrade

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
