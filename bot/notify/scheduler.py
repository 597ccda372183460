"""One scheduler for every platform: APScheduler 3, its jobs in memory, its leader chosen
by a lease in our database.

A handful of fixed-id jobs scan the database (not one job per employee); each is
`coalesce`d with a misfire grace time, so a restart neither floods nor forgets. With
several processes exactly one holds the `scheduler` lease and runs the jobs; the others
stand by and take over when its lease lapses.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.infra.settings import get_settings
from bot.infra.workdays import default_tz, utc_now
from bot.notify.appeal_notices import queue_appeal_reminders
from bot.notify.digest import queue_head_digests
from bot.notify.reminders import queue_deadline_reminders
from bot.notify.retention import prune_outbox
from bot.notify.weekly import queue_weekly_report
from models import Group, Lease

log = logging.getLogger(__name__)

LEASE = "scheduler"
LEASE_SECONDS = 60.0  # the default; SCHEDULER_LEASE_SECONDS sets it per deployment
PRUNE_AT = dt.time(3, 30)  # local time (DEFAULT_TIMEZONE) of the nightly outbox prune

Clock = Callable[[], dt.datetime]


def acquire(session: Session, name: str, holder: str, now: dt.datetime, ttl: float) -> bool:
    """Take or renew a lease; True while `holder` has it. One guarded statement, so two
    processes racing for a lapsed lease cannot both win."""
    until = now + dt.timedelta(seconds=ttl)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = Lease.__table__
    session.execute(
        insert(table)  # type: ignore[arg-type]
        .values(name=name, holder=holder, expires_at=now - dt.timedelta(seconds=1))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    won = session.execute(
        update(Lease)
        .where(Lease.name == name)
        .where((Lease.holder == holder) | (Lease.expires_at < now))
        .values(holder=holder, expires_at=until)
    ).rowcount  # type: ignore[attr-defined]
    return bool(won)


def release(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    )


@dataclass(frozen=True)
class Jobs:
    """The scheduled scans, with what they need handed in: the session factory and the
    clock that says what time it is for the appraisal (the timer itself is APScheduler's)."""

    sessions: sessionmaker[Session]
    clock: Clock = utc_now
    # Days the outbox keeps finished messages; None: OUTBOX_RETENTION_DAYS.
    retention_days: int | None = None

    def each_group(self, work: Callable[[Session, int, dt.datetime], int]) -> int:
        now = self.clock()
        total = 0
        with self.sessions() as s:
            group_ids = list(s.scalars(select(Group.id)))
        for group_id in group_ids:
            # One transaction per group: a failure in one group does not hold back the rest.
            with self.sessions() as s, s.begin():
                total += work(s, group_id, now)
        return total

    def digests(self) -> None:
        log.info("queued %d head digests", self.each_group(queue_head_digests))

    def reminders(self) -> None:
        log.info("queued %d deadline reminders", self.each_group(queue_deadline_reminders))
        log.info("queued %d appeal reminders", self.each_group(queue_appeal_reminders))

    def weekly(self) -> None:
        log.info("queued %d weekly reports", self.each_group(queue_weekly_report))

    def prune(self) -> None:
        days = self.retention_days
        if days is None:
            days = get_settings().outbox_retention_days
        done = prune_outbox(self.sessions, self.clock(), days, actor="scheduler")
        log.info("pruned %d outbox messages finished before %s", done.messages, done.cutoff)


def build_scheduler(jobs: Jobs) -> BackgroundScheduler:
    """The jobs live in memory: the leader builds them afresh whenever it takes the lease
    (the scans run at once, then every 15 minutes; the prune each night), so a stored copy
    would add nothing, and in memory they can be the `Jobs` methods themselves instead of
    reaching for a global."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={"coalesce": True, "misfire_grace_time": 600, "max_instances": 1},
        timezone="UTC",
    )
    # Institutions have their own local 09:00; scanning every 15 minutes finds each one's
    # moment, and the outbox's dedupe keys keep it to once a day. Each scan also runs as
    # soon as the scheduler starts: a worker started at 09:05 sends the 09:00 digest now,
    # not at 09:20 (what was queued already is skipped, so a restart sends nothing twice).
    # The timer's own time, not `jobs.clock`: APScheduler fires by the wall clock.
    start = dt.datetime.now(dt.UTC)
    for name, job in (("digests", jobs.digests), ("reminders", jobs.reminders),
                      ("weekly", jobs.weekly)):  # fmt: skip
        scheduler.add_job(
            job, "interval", minutes=15, id=name, replace_existing=True, next_run_time=start
        )
    # The outbox's pruning (bot.notify.retention) once a night, in the quiet hours when
    # little is queued; not at start-up, so a worker restarted at 09:00 does not prune
    # beside the morning's digests.
    scheduler.add_job(
        jobs.prune,
        "cron",
        hour=PRUNE_AT.hour,
        minute=PRUNE_AT.minute,
        timezone=ZoneInfo(default_tz()),
        id="prune",
        replace_existing=True,
    )
    return scheduler


def holder_name() -> str:
    """Who holds the lease, as an operator finds it: host and process id (and a random
    tail, so a restarted process with a reused pid is not taken for the old one)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_scheduler(
    sessions: sessionmaker[Session],
    stop: threading.Event,
    holder: str | None = None,
    clock: Clock = utc_now,
    lease_seconds: float = LEASE_SECONDS,
    retention_days: int | None = None,
) -> None:
    """Stand by until this process holds the lease, then run the jobs while it keeps it.

    The holder renews every quarter of the lease and a standby asks as often, so a killed
    leader is replaced at most a lease and a quarter after its last renewal."""
    jobs = Jobs(sessions, clock, retention_days)
    me = holder or holder_name()
    renew = lease_seconds / 4
    scheduler: BackgroundScheduler | None = None
    try:
        while not stop.is_set():
            with sessions() as s, s.begin():
                leader = acquire(s, LEASE, me, clock(), lease_seconds)
            if leader and scheduler is None:
                log.info("%s holds the scheduler lease; starting jobs", me)
                scheduler = build_scheduler(jobs)
                scheduler.start()
            elif not leader and scheduler is not None:
                log.warning("%s lost the scheduler lease; standing by", me)
                scheduler.shutdown(wait=False)
                scheduler = None
            stop.wait(renew)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            with sessions() as s, s.begin():
                release(s, LEASE, me)
