"""Two real `jixiao worker` processes on one PostgreSQL database share a 5,000-message
broadcast at Telegram's real limits (30 messages a second per bot, one a second per
chat, enforced by the fake Bot API). One is killed with SIGKILL partway; the other takes
over its claims after their lease and finishes. Every recipient gets exactly one
message (but for the one send the kill may have cut off, left "unknown", never
repeated), and the fake never had to refuse a message for breaking a limit.

PostgreSQL only, and slow by nature (5,000 messages at under 30 a second take about
three minutes): SQLite's two-worker case is the kill of the scheduler leader in
test_worker_failover.py, and a single worker killed mid-broadcast is in
test_telegram_delivery.py.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from bot.notify import outbox
from models import OutboxMessage, OutboxState
from models.db import make_engine, sessions, upgrade
from tests.conftest import new_pg_database
from tests.fakes.telegram import FakeBotAPI
from tests.workers import start_worker, stop_workers

MESSAGES = 5000
CHAT0 = 800_000
LEASE = 4.0  # sender claims, seconds: short, so the survivor takes over quickly
KILL_AFTER = 1500  # messages delivered before the kill


@pytest.fixture
def url() -> Iterator[str]:
    with new_pg_database("jixiao_broadcast") as found:
        yield found


@pytest.fixture
def engine(url):
    engine = make_engine(url, poolclass=NullPool)
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with sessions(engine)() as s, s.begin():
        queued = outbox.enqueue_many(
            s,
            now,
            (
                outbox.Push("telegram", str(CHAT0 + n), {"text": f"m{n}"}, f"broadcast:{n}")
                for n in range(MESSAGES)
            ),
        )
    assert queued == MESSAGES
    yield engine
    engine.dispose()


def _states(Session) -> Counter[OutboxState]:
    with Session() as s:
        return Counter(s.scalars(select(OutboxMessage.state)))


@pytest.mark.postgres
def test_killing_one_of_two_senders_mid_broadcast_sends_each_message_once_within_limits(
    url, engine, tmp_path
):
    api = FakeBotAPI().start()
    Session = sessions(engine)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    procs = [start_worker(url, api, log, OUTBOX_LEASE_SECONDS=str(LEASE)) for log in logs]
    try:
        deadline = time.monotonic() + 180
        while len(api.sent) < KILL_AFTER and time.monotonic() < deadline:
            for p, log in zip(procs, logs, strict=True):
                assert p.poll() is None, log.read_text()
            time.sleep(0.05)
        # Both were sending: each holds claims when one is killed.
        with Session() as s:
            holders = set(
                s.scalars(
                    select(OutboxMessage.claimed_by).where(
                        OutboxMessage.state.in_((OutboxState.CLAIMED, OutboxState.SENDING))
                    )
                )
            )
        assert len(holders) == 2, holders
        doomed, survivor = procs
        before = len(api.sent)
        assert KILL_AFTER <= before < MESSAGES, "the kill must land mid-broadcast"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()

        left = MESSAGES
        while left and time.monotonic() < deadline + 300:
            assert survivor.poll() is None, logs[1].read_text()
            states = _states(Session)
            left = sum(states[s] for s in (OutboxState.QUEUED, OutboxState.CLAIMED))
            left += states[OutboxState.SENDING]
            time.sleep(0.5)
        assert left == 0, f"messages still waiting: {_states(Session)}"
    finally:
        stop_workers(procs)
        api.stop()

    states = _states(Session)
    assert states[OutboxState.UNKNOWN] <= 1, states  # only the send the kill cut off
    assert states[OutboxState.SENT] + states[OutboxState.UNKNOWN] == MESSAGES, states
    received = Counter(sent.chat_id for sent in api.sent if sent.method == "sendMessage")
    assert [chat for chat, n in received.items() if n > 1] == []
    with Session() as s:
        unknown = set(
            s.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.state == OutboxState.UNKNOWN)
            )
        )
        assert s.scalar(select(func.count(OutboxMessage.id))) == MESSAGES
    assert set(received) | unknown == {str(CHAT0 + n) for n in range(MESSAGES)}
    # Each chat's text is its own message, and Telegram's limits were kept throughout.
    assert all(sent.params["text"] == f"m{int(sent.chat_id) - CHAT0}" for sent in api.sent)
    assert api.rejected_429 == 0, api.rejected_429
