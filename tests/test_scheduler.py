"""One scheduler across processes: a lease decides who runs the fixed-id jobs."""

from __future__ import annotations

import datetime as dt
import threading
import time

import time_machine
from sqlalchemy import func, select

from bot.appraisal.periods import open_period
from bot.notify import scheduler as sched
from models import Lease, OutboxMessage
from tests.factories import T0, bind, small_org

T = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
SH = dt.timezone(dt.timedelta(hours=8))


def test_only_one_holder_has_the_lease_until_it_lapses(Session):
    with Session() as s, s.begin():
        assert sched.acquire(s, "scheduler", "a", T, 60)
    with Session() as s, s.begin():
        assert not sched.acquire(s, "scheduler", "b", T + dt.timedelta(seconds=30), 60)
        assert sched.acquire(s, "scheduler", "a", T + dt.timedelta(seconds=30), 60)  # renew
    with Session() as s, s.begin():
        assert not sched.acquire(s, "scheduler", "b", T + dt.timedelta(seconds=89), 60)
        assert sched.acquire(s, "scheduler", "b", T + dt.timedelta(seconds=91), 60)
    with Session() as s:
        assert s.scalars(select(Lease.holder)).one() == "b"


def test_the_jobs_have_fixed_ids_and_never_pile_up(Session):
    scheduler = sched.build_scheduler(sched.Jobs(Session))
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"digests", "reminders", "weekly", "prune"}
        assert all(job.coalesce for job in jobs.values())
        assert all(job.misfire_grace_time == 600 for job in jobs.values())
    finally:
        scheduler.shutdown(wait=False)
    again = sched.build_scheduler(sched.Jobs(Session))  # a restart replaces, never duplicates
    again.start(paused=True)
    try:
        assert len(again.get_jobs()) == 4
    finally:
        again.shutdown(wait=False)


def test_a_standby_process_takes_over_when_the_leader_stops(engine, Session, monkeypatch):
    # A lease many renewals long, so a busy CI machine delaying one renewal does not
    # hand it over early; the leader releases it when it stops, so takeover is prompt.
    # Jobs run as soon as a leader starts; this test is about the lease alone.
    monkeypatch.setattr(sched.Jobs, "each_group", lambda self, work: 0)
    stop_a, stop_b = threading.Event(), threading.Event()
    lease = {"lease_seconds": 3.0}
    a = threading.Thread(target=sched.run_scheduler, args=(Session, stop_a, "a"), kwargs=lease)
    a.start()
    _wait_for_holder(Session, "a")
    b = threading.Thread(target=sched.run_scheduler, args=(Session, stop_b, "b"), kwargs=lease)
    b.start()
    time.sleep(0.3)
    assert _holder(Session) == "a"
    stop_a.set()
    a.join(10)
    _wait_for_holder(Session, "b")
    stop_b.set()
    b.join(10)


def _holder(Session):
    with Session() as s:
        lease = s.get(Lease, "scheduler")
        return lease.holder if lease and lease.expires_at > dt.datetime.now(dt.UTC) else None


def _wait_for_holder(Session, who):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _holder(Session) == who:
            return
        time.sleep(0.02)
    raise AssertionError(f"{who} never held the lease")


def test_due_jobs_run_as_soon_as_the_worker_starts(engine, Session, monkeypatch):
    """A worker started at 09:30 on a workday queues the heads' 09:00 digest at once, not
    a quarter of an hour later."""
    # Its own lease: the travelled clock must not meet a lease another test's scheduler
    # thread, still stopping, renewed in real time.
    monkeypatch.setattr(sched, "LEASE", "scheduler-at-start")
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 30, tzinfo=SH), tick=True):
        with Session() as s, s.begin():
            group, people = small_org(s)
            open_period(s, T0, group=group, label="2026-11", scheme_code="STD")
            for _inst, head, _staff in people.values():
                bind(s, head)
        stop = threading.Event()
        runner = threading.Thread(target=sched.run_scheduler, args=(Session, stop, "w"))
        runner.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _digests(Session) < 2:
                time.sleep(0.1)
        finally:
            stop.set()
            runner.join(30)
    assert _digests(Session) == 2


def _digests(Session):
    with Session() as s:
        return s.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like("digest:%"))
        )


def test_the_jobs_read_the_clock_they_are_given(Session):
    """The session factory and the clock are handed in (no module global, no wall clock):
    the 09:00 digest is queued at 09:30 by the given clock, and not at 08:30."""
    with Session() as s, s.begin():
        group, people = small_org(s)
        open_period(s, T0, group=group, label="2026-11", scheme_code="STD")
        for _inst, head, _staff in people.values():
            bind(s, head)
    early = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SH)
    sched.Jobs(Session, clock=lambda: early).digests()
    assert _digests(Session) == 0
    sched.Jobs(Session, clock=lambda: early + dt.timedelta(hours=1)).digests()
    assert _digests(Session) == 2
