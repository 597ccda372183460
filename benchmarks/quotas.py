"""How fast a period's grade quotas are checked at group scale (200 institutions, 100,000
results), beside one SQL aggregate of the same counts on the same database.

The set-up writes employees (five departments per institution) and their results
straight through the driver (benchmarks.compute's bulk path); grades follow the totals under the
bench scheme's bands, and three rules apply: at most 20% A per institution, at least 5%
D or E per institution, at most 40% A or B per department.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from benchmarks.compute import _Bulk, _scheme
from bot.appraisal import quotas
from bot.appraisal.periods import new_period
from models import (
    Department,
    Employee,
    Group,
    Institution,
    Period,
    PeriodState,
    QuotaBound,
    QuotaRule,
    QuotaScope,
)
from models.db import make_engine, sessions, upgrade

DEPARTMENTS = 5
RUNS = 3


@dataclass(frozen=True, slots=True)
class QuotaBenchReport:
    employees: int
    institutions: int
    database: str
    setup_seconds: float
    check_seconds: list[float]
    aggregate_seconds: list[float]
    violations: int

    @property
    def check(self) -> float:
        return statistics.median(self.check_seconds)

    @property
    def aggregate(self) -> float:
        return statistics.median(self.aggregate_seconds)

    @property
    def ratio(self) -> float:
        return self.check / self.aggregate if self.aggregate else float("inf")


def run(
    employees: int, institutions: int, database_url: str | None = None, seed: int = 1
) -> QuotaBenchReport:
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id = build(engine, employees, institutions, seed)
        setup = time.perf_counter() - started
        checks: list[float] = []
        aggregates: list[float] = []
        found: list[quotas.Violation] = []
        for _ in range(RUNS):
            started = time.perf_counter()
            with Session(engine) as session:
                found = quotas.check(session, session.get_one(Period, period_id))
            checks.append(time.perf_counter() - started)
            started = time.perf_counter()
            with engine.connect() as conn:
                counts = aggregate(conn, period_id)
            aggregates.append(time.perf_counter() - started)
        _agree(found, counts)
        return QuotaBenchReport(
            employees,
            institutions,
            engine.dialect.name,
            setup,
            checks,
            aggregates,
            len(found),
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def aggregate(conn: Connection, period_id: int) -> list[Any]:
    """Every count the rules need, as one aggregate: results per institution, department
    and grade. The least any check of these quotas can cost on this database."""
    sql = text(
        """
        SELECT e.institution_id, e.department_id, r.grade, COUNT(*)
        FROM results r JOIN employees e ON e.id = r.employee_id
        WHERE r.period_id = :period
        GROUP BY e.institution_id, e.department_id, r.grade
        """
    )
    return list(conn.execute(sql, {"period": period_id}).all())


def _agree(found: Sequence[quotas.Violation], counts: Sequence[Any]) -> None:
    """The check's counts are the aggregate's: a benchmark of wrong answers is worthless."""
    by_inst: dict[tuple[int, str], int] = {}
    for inst, _dept, grade, n in counts:
        by_inst[(inst, grade)] = by_inst.get((inst, grade), 0) + n
    for v in found:
        if v.rule.scope != QuotaScope.INSTITUTION:
            continue
        expected = sum(by_inst.get((v.group, g), 0) for g in v.rule.grades)
        if expected != v.count:
            raise RuntimeError(f"institution {v.group}: check counted {v.count}, SQL {expected}")


def build(engine: Any, employees: int, institutions: int, seed: int) -> int:
    """The group, its results in a period closed for scoring; returns the period's id."""
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    rng = random.Random(seed)
    with sessions(engine)() as session, session.begin():
        group = Group(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(group)
        session.flush()
        scheme = _scheme(group.id, 1, 1, at)
        scheme.quotas = [
            QuotaRule(
                position=1,
                row=2,
                grades=["A"],
                bound=QuotaBound.AT_MOST,
                ratio=Decimal(20),
                scope=QuotaScope.INSTITUTION,
            ),
            QuotaRule(
                position=2,
                row=3,
                grades=["D", "E"],
                bound=QuotaBound.AT_LEAST,
                ratio=Decimal(5),
                scope=QuotaScope.INSTITUTION,
            ),
            QuotaRule(
                position=3,
                row=4,
                grades=["A", "B"],
                bound=QuotaBound.AT_MOST,
                ratio=Decimal(40),
                scope=QuotaScope.DEPARTMENT,
            ),
        ]
        session.add(scheme)
        insts = [Institution(group_id=group.id, name=f"机构{i:03d}") for i in range(institutions)]
        session.add_all(insts)
        session.flush()
        depts = [
            Department(institution_id=inst.id, name=f"部门{d}", path=f"部门{d}")
            for inst in insts
            for d in range(DEPARTMENTS)
        ]
        session.add_all(depts)
        period = new_period(
            group.id, scheme.id, "2026-11", state=PeriodState.SCORING_CLOSED, deadline=at, now=at
        )
        session.add(period)
        session.flush()
        conn = session.connection()
        bulk = _Bulk(conn)
        first = (session.scalar(select(func.max(Employee.id))) or 0) + 1
        bands = sorted(scheme.grades, key=lambda g: g.min_score, reverse=True)
        base = Decimal("5000.00")

        def people() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                inst = insts[n % institutions]
                dept = depts[(n % institutions) * DEPARTMENTS + (n // institutions) % DEPARTMENTS]
                yield (
                    first + n,
                    group.id,
                    f"Q{n + 1:07d}",
                    f"员工{n + 1}",
                    "",
                    inst.id,
                    dept.id,
                    bulk.dec(base),
                    bulk.true,
                    bulk.false,
                )

        bulk.copy(
            "employees",
            (
                "id",
                "group_id",
                "number",
                "name",
                "position",
                "institution_id",
                "department_id",
                "pay_base",
                "active",
                "on_leave",
            ),
            people(),
        )
        when = bulk.when(at)

        def results() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                total = Decimal(rng.randint(5500, 9900)).scaleb(-2)
                band = next(b for b in bands if total >= b.min_score)
                pay = (base * band.coefficient).quantize(Decimal("0.01"))
                yield (
                    period.id,
                    first + n,
                    bulk.dec(total),
                    band.grade,
                    bulk.dec(band.coefficient),
                    bulk.dec(base),
                    bulk.dec(pay),
                    "{}",
                    when,
                )

        bulk.copy(
            "results",
            (
                "period_id",
                "employee_id",
                "total",
                "grade",
                "coefficient",
                "pay_base",
                "pay",
                "trace",
                "computed_at",
            ),
            results(),
        )
        bulk.fix_sequences(("employees",))
        return period.id
