"""How fast a period opens at group scale: N employees, a scheme scored by the direct
manager (70) and by each person themself (30), so about 2 × N scoring tasks and one
push to every scorer (N of them, each bound to a chat), beside the floor: a bulk
insert of the same task and outbox rows, with its commit, on the same database.

The open is timed as `jixiao period open` runs it: the period's tasks, the push to each
scorer queued in the same transaction, the check for people who can never get a result,
and the commit.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from benchmarks.compute import _Bulk, _scheme, peak_mb
from bot.appraisal import gaps, quotas
from bot.appraisal.periods import new_period, open_period
from bot.notify.reminders import queue_period_opened
from models import (
    Employee,
    Group,
    Institution,
    OutboxMessage,
    Period,
    PeriodState,
    Scheme,
    ScorerRole,
    ScoringTask,
)
from models.db import make_engine, sessions, upgrade

AT = dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC)
# People a manager manages in the bench org.
TEAM = 20
# The chats everyone is bound to: a name no platform has (nothing is sent, only queued).
PLATFORM = "bench"


@dataclass(frozen=True, slots=True)
class OpenBenchReport:
    employees: int
    database: str
    setup_seconds: float
    tasks: int
    pushes: int
    open_seconds: float
    floor_seconds: float
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.open_seconds / self.floor_seconds if self.floor_seconds else float("inf")


def run(employees: int, database_url: str | None = None) -> OpenBenchReport:
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        group_id = build(engine, employees)
        setup = time.perf_counter() - started
        floor = floor_seconds(engine, group_id)
        started = time.perf_counter()
        with sessions(engine)() as session, session.begin():
            group = session.get_one(Group, group_id)
            period, tasks = open_period(
                session, AT, group=group, label="2026-12", scheme_code="BENCH"
            )
            pushes = queue_period_opened(session, period, AT)
            gaps.unscorable(session, period)
            quotas.unmeetable(session, period)
        opened = time.perf_counter() - started
        name = engine.dialect.name
        engine.dispose()
        return OpenBenchReport(employees, name, setup, tasks, pushes, opened, floor, peak_mb())
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def build(engine: Engine, employees: int) -> int:
    """The bench group: institutions of 500, teams of 20 under a manager (the first of
    each team, who reports to the institution's first person), every person bound to a
    chat. Returns the group id."""
    with sessions(engine)() as session, session.begin():
        group = Group(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(group)
        session.flush()
        scheme = _scheme(group.id, 6, 1, AT)
        scheme.roles = [
            ScorerRole(position=1, code="manager", name="直接上级", weight=Decimal(70)),
            ScorerRole(position=2, code="self", name="自评", weight=Decimal(30)),
        ]
        session.add(scheme)
        n_inst = max(1, employees // 500)
        insts = [Institution(group_id=group.id, name=f"机构{i:03d}") for i in range(n_inst)]
        session.add_all(insts)
        session.flush()
        conn = session.connection()
        first = (session.scalar(select(func.max(Employee.id))) or 0) + 1
        bulk = _Bulk(conn)
        size = -(-employees // n_inst)

        def manager_of(n: int) -> int | None:
            top = (n // size) * size
            if n == top:
                return None
            lead = top + ((n - top) // TEAM) * TEAM
            return first + (top if n == lead else lead)

        def people() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                yield (
                    first + n,
                    group.id,
                    f"B{n + 1:07d}",
                    f"员工{n + 1}",
                    "",
                    insts[min(n // size, n_inst - 1)].id,
                    manager_of(n),
                    bulk.dec(Decimal("3000.00")),
                    bulk.true,
                    bulk.false,
                )

        columns = ("id", "group_id", "number", "name", "position", "institution_id")
        bulk.copy(
            "employees",
            (*columns, "manager_id", "pay_base", "active", "on_leave"),
            people(),
        )
        when = bulk.when(AT)
        bulk.copy(
            "chat_identities",
            ("platform", "external_id", "employee_id", "bound_at", "unreachable"),
            (
                (PLATFORM, str(7_000_000_000 + first + n), first + n, when, bulk.false)
                for n in range(employees)
            ),
        )
        bulk.fix_sequences(("employees",))
        for i, inst in enumerate(insts):
            conn.execute(
                update(Institution)
                .where(Institution.id == inst.id)
                .values(head_id=first + i * size)
            )
        return group.id


def floor_seconds(engine: Engine, group_id: int) -> float:
    """Seconds to bulk-insert what opening writes (a task per person and role, a push per
    person) and commit, through the driver's fastest path; then removed again."""
    with Session(engine) as session:
        scheme_id = session.scalars(select(Scheme.id).where(Scheme.group_id == group_id)).one()
        period = new_period(
            group_id,
            scheme_id,
            "2099-01",
            state=PeriodState.SCORING,
            deadline=AT,
            now=AT,
        )
        session.add(period)
        session.commit()
        ids = session.scalars(
            select(Employee.id).where(Employee.group_id == group_id).order_by(Employee.id)
        ).all()
        period_id = period.id
    with Session(engine) as session:
        conn = session.connection()
        bulk = _Bulk(conn)
        when = bulk.when(AT)
        content = '{"text": "x"}'
        started = time.perf_counter()
        bulk.copy(
            "scoring_tasks",
            ("period_id", "scorer_id", "appraisee_id", "role_code", "deadline", "state", "cursor"),
            (
                (period_id, emp, emp, code, when, "pending", 0)
                for emp in ids
                for code in ("manager", "self")
            ),
        )
        bulk.copy(
            "outbox",
            (
                *("platform", "chat_id", "is_group", "employee_id", "dedupe_key", "content"),
                *("state", "attempts", "parts_sent", "next_attempt_at", "created_at"),
                "last_error",
            ),
            (
                (
                    PLATFORM,
                    str(emp),
                    bulk.false,
                    emp,
                    f"floor:{emp}",
                    content,
                    "queued",
                    0,
                    0,
                    when,
                    when,
                    "",
                )
                for emp in ids
            ),
        )
        session.commit()
        elapsed = time.perf_counter() - started
        session.execute(delete(ScoringTask).where(ScoringTask.period_id == period_id))
        session.execute(delete(OutboxMessage).where(OutboxMessage.dedupe_key.like("floor:%")))
        session.execute(delete(Period).where(Period.id == period_id))
        session.commit()
    return elapsed
