"""How fast `jixiao import metrics` takes a group's business data: N employees × 3 metric
indicators (300,000 rows at 100,000 employees), beside reading the same file alone.

The set-up writes the employees straight through the driver (benchmarks.compute's bulk path), a
scheme of three metric indicators and a period open for scoring, then a CSV (or .xlsx)
file of one row per employee and indicator. The import is timed twice: into an empty
period, and again over its own values (a re-import deletes them first), each with its
commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benchmarks.compute import _Bulk, _scheme, peak_mb
from bot.appraisal import metrics
from bot.appraisal.periods import new_period
from bot.importing.metrics import COLUMNS, import_metrics
from bot.importing.report import Problems
from bot.importing.table import read_table
from models import (
    Employee,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    MetricValue,
    Period,
    PeriodState,
)
from models.db import make_engine, sessions, upgrade

INDICATORS = (
    ("deposit", "存款增量", 40),
    ("loans", "贷款投放", 30),
    ("complaints", "客户投诉", 30),
)


@dataclass(frozen=True, slots=True)
class MetricsBenchReport:
    employees: int
    rows: int
    database: str
    file_kind: str
    setup_seconds: float
    read_seconds: float
    import_seconds: float
    reimport_seconds: float
    stored: int
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.import_seconds / self.read_seconds if self.read_seconds else float("inf")


def run(
    employees: int, database_url: str | None = None, *, xlsx: bool = False, seed: int = 1
) -> MetricsBenchReport:
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    if database_url is None:
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id = build(engine, employees)
        path = write_file(tmp, employees, xlsx, seed)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        problems = Problems()
        table = read_table(path, COLUMNS, problems)
        problems.raise_if_any()
        read = time.perf_counter() - started
        rows = len(table.rows)
        del table
        at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            with sessions(engine)() as session, session.begin():
                import_metrics(session, at, path, session.get_one(Period, period_id))
            timings.append(time.perf_counter() - started)
        with Session(engine) as session:
            stored = (
                session.scalar(
                    select(func.count())
                    .select_from(MetricValue)
                    .where(MetricValue.period_id == period_id)
                )
                or 0
            )
        return MetricsBenchReport(
            employees,
            rows,
            engine.dialect.name,
            "xlsx" if xlsx else "csv",
            setup,
            read,
            timings[0],
            timings[1],
            stored,
            peak_mb(),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build(engine: Any, employees: int) -> int:
    """A group of `employees` in 100 institutions, a scheme of three metric indicators
    and its period open for scoring; returns the period's id."""
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    with sessions(engine)() as session, session.begin():
        group = Group(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(group)
        session.flush()
        scheme = _scheme(group.id, 1, 1, at)
        scheme.indicators = [
            Indicator(
                position=k,
                code=code,
                name=name,
                kind=IndicatorKind.METRIC,
                weight=Decimal(weight),
                rule=metrics.parse("线性 60-120", metrics.LOWER if k == 3 else metrics.HIGHER),
            )
            for k, (code, name, weight) in enumerate(INDICATORS, start=1)
        ]
        session.add(scheme)
        insts = [Institution(group_id=group.id, name=f"机构{i:03d}") for i in range(100)]
        session.add_all(insts)
        session.flush()
        period = new_period(
            group.id, scheme.id, "2026-11", state=PeriodState.SCORING, deadline=at, now=at
        )
        session.add(period)
        session.flush()
        bulk = _Bulk(session.connection())
        first = (session.scalar(select(func.max(Employee.id))) or 0) + 1

        def people() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                yield (
                    first + n,
                    group.id,
                    f"M{n + 1:07d}",
                    f"员工{n + 1}",
                    "客户经理",
                    insts[n % len(insts)].id,
                    bulk.dec(Decimal("5000.00")),
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
                "pay_base",
                "active",
                "on_leave",
            ),
            people(),
        )
        bulk.fix_sequences(("employees",))
        return period.id


def write_file(folder: Path, employees: int, xlsx: bool, seed: int) -> Path:
    """One row per employee and indicator, as a business system would export them."""
    rng = random.Random(seed)
    header = ["工号", "指标", "目标值", "实际值"]

    def rows() -> Iterator[list[Any]]:
        for n in range(employees):
            number = f"M{n + 1:07d}"
            yield [number, "存款增量", "5000000", str(rng.randrange(2_000_000, 7_000_000))]
            yield [number, "贷款投放", "3000000.00", f"{rng.randrange(1_000_000, 4_000_000)}.50"]
            yield [number, "客户投诉", "10", str(rng.randrange(0, 25))]

    if xlsx:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("指标数据")
        ws.append(header)
        for row in rows():
            ws.append(row)
        path = folder / "metrics.xlsx"
        wb.save(path)
        return path
    path = folder / "metrics.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows())
    return path
