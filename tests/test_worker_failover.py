"""Two real `jixiao worker` processes on one database while deadline reminders are due;
the scheduler leader is killed with SIGKILL while its reminders are being sent. The
other takes the lease within the lease time, scans again (queueing nothing twice), takes
over the dead one's claims, and every scorer gets their reminder exactly once: one outbox
row each, one message each at the fake Bot API (but for the one send the kill may have
cut off, which is left "unknown", never repeated).

The clock is pinned with libfaketime to a Monday morning in Shanghai, the deadline day
of the period, so the reminders are due however late this test runs.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from libfaketime import get_reload_information
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from models import ChatIdentity, Employee, Lease, OutboxMessage, OutboxState, ScoringTask
from models.db import make_engine, sessions, upgrade
from tests.chat_helpers import NOW, build_world
from tests.conftest import new_pg_database
from tests.fakes.telegram import FakeBotAPI
from tests.workers import start_worker, stop_workers

# 10:00 in Shanghai on Monday 2026-12-07, the deadline day of build_world's 2026-11.
MOMENT = "@2026-12-07 02:00:00"
SCORERS = 240
LEASE = 4.0  # scheduler lease and sender claims, seconds: short, so the test is quick
CHAT0 = 700_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'failover.db'}"
    else:
        with new_pg_database("jixiao_failover") as found:
            yield found


@pytest.fixture
def engine(url):
    engine = make_engine(url, poolclass=NullPool)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        w = build_world(s)
        for i in range(SCORERS):
            scorer = Employee(
                group_id=w.group.id,
                number=f"9{i:04d}",
                name=f"评分人{i}",
                institution_id=w.inst.id,
                language="en",
            )
            s.add(scorer)
            s.flush()
            s.add(
                ScoringTask(
                    period_id=w.period.id,
                    scorer_id=scorer.id,
                    appraisee_id=w.zhang.id,
                    role_code="manager",
                    deadline=w.period.deadline,
                )
            )
            s.add(
                ChatIdentity(
                    platform="telegram",
                    external_id=str(CHAT0 + i),
                    employee_id=scorer.id,
                    bound_at=NOW,
                )
            )
    yield engine
    engine.dispose()


def _worker(url: str, api: FakeBotAPI, log: Path) -> subprocess.Popen[bytes]:
    _, faketime = get_reload_information()
    return start_worker(
        url,
        api,
        log,
        **faketime,
        FAKETIME=MOMENT,
        TZ="UTC",
        SCHEDULER_LEASE_SECONDS=str(LEASE),
        OUTBOX_LEASE_SECONDS=str(LEASE),
    )


def _leader(Session) -> int | None:
    """The pid in the scheduler lease's holder (host:pid:tail)."""
    with Session() as s:
        lease = s.get(Lease, "scheduler")
        if lease is None:
            return None
        found = re.fullmatch(r".*:(\d+):[0-9a-f]+", lease.holder)
        return int(found.group(1)) if found else None


def _reminders(Session) -> Counter[str]:
    with Session() as s:
        return Counter(
            s.scalars(select(OutboxMessage.state).where(OutboxMessage.dedupe_key.like("remind:%")))
        )


def test_killing_the_scheduler_leader_mid_reminders_loses_and_doubles_nothing(
    url, engine, tmp_path
):
    api = FakeBotAPI().start()
    Session = sessions(engine)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    procs = [_worker(url, api, log) for log in logs]
    try:
        deadline = time.monotonic() + 90
        leader = None
        # Partway: the leader has queued the reminders and some, not all, have gone.
        while time.monotonic() < deadline:
            for p, log in zip(procs, logs, strict=True):
                assert p.poll() is None, log.read_text()
            leader = _leader(Session)
            if leader is not None and 20 <= len(api.sent) <= SCORERS - 60:
                break
            time.sleep(0.05)
        doomed = next((p for p in procs if p.pid == leader), None)
        assert doomed is not None, f"no worker leads ({leader}): {logs[0].read_text()}"
        sent_before = len(api.sent)
        assert 0 < sent_before < SCORERS, "the kill must land mid-reminders"
        doomed.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        doomed.wait()
        survivor = next(p for p in procs if p is not doomed)
        survivor_log = logs[procs.index(survivor)]

        took_over = None
        while time.monotonic() - killed_at < 60:
            if _leader(Session) == survivor.pid:
                took_over = time.monotonic() - killed_at
                break
            time.sleep(0.05)
        assert took_over is not None, survivor_log.read_text()
        # At most a lease after the dead leader's last renewal, plus the standby's own
        # quarter-lease wait between asks; a second of slack for a loaded machine.
        assert took_over < LEASE * 1.25 + 1.0, took_over

        left = 1
        while left and time.monotonic() - killed_at < 90:
            states = _reminders(Session)
            left = sum(states[s] for s in (OutboxState.QUEUED, OutboxState.CLAIMED))
            left += states[OutboxState.SENDING]
            time.sleep(0.1)
        assert left == 0, f"reminders still waiting 90 s after the kill: {states}"
        # The new leader scanned again as soon as it led, and found every reminder queued.
        for _ in range(50):
            text = survivor_log.read_text()
            if "queued 0 deadline reminders" in text:
                break
            time.sleep(0.1)
        assert "holds the scheduler lease" in text, text
        assert "queued 0 deadline reminders" in text, text
    finally:
        stop_workers(procs)
        api.stop()

    states = _reminders(Session)
    assert sum(states.values()) == SCORERS  # one outbox row per scorer
    assert states[OutboxState.UNKNOWN] <= 1, states  # only the send the kill cut off
    assert states[OutboxState.SENT] + states[OutboxState.UNKNOWN] == SCORERS, states
    with Session() as s:
        per_row = Counter(
            s.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.dedupe_key.like("remind:%"))
            )
        )
        unknown = set(
            s.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.state == OutboxState.UNKNOWN)
            )
        )
        assert s.scalar(select(func.count(ScoringTask.id))) >= SCORERS
    assert set(per_row) == {str(CHAT0 + i) for i in range(SCORERS)}
    assert set(per_row.values()) == {1}
    received = Counter(m.chat_id for m in api.sent if m.method == "sendMessage")
    assert all("deadline" in m.params["text"] for m in api.sent if m.method == "sendMessage")
    for i in range(SCORERS):
        chat = str(CHAT0 + i)
        if chat in unknown:
            assert received[chat] <= 1, chat  # cut off on the wire: it may have arrived
        else:
            assert received[chat] == 1, (chat, received[chat])
    # The fake refuses (429) any send over Telegram's limits; the senders kept them.
    assert api.rejected_429 == 0, api.rejected_429
