"""How long an acceptance check takes at group scale, beside reading the payroll file
alone: a final period of N results, and a payroll file of N rows (one deliberate
mismatch), on a scratch database."""

from __future__ import annotations

import csv
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

from sqlalchemy import Engine, func, select

from benchmarks.compute import _Bulk, _scheme, peak_mb
from bot.appraisal import acceptance
from bot.appraisal.periods import new_period
from bot.importing.report import Problems
from bot.importing.table import read_table
from models import Employee, Group, Institution, Period, PeriodState, Result
from models.base import encode_json
from models.db import make_engine, sessions, upgrade

AT = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)
PER_INSTITUTION = 500


@dataclass(frozen=True, slots=True)
class Report:
    rows: int
    database: str
    file_format: str
    file_mb: float
    setup_seconds: float
    read_seconds: float
    check_seconds: float
    passed: bool
    mismatched: int
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.check_seconds / self.read_seconds if self.read_seconds else float("inf")


def _pay(n: int) -> Decimal:
    return Decimal(3000 + 100 * (n % 51)) + Decimal(n % 3) / 2


def build(engine: Engine, employees: int) -> tuple[int, int]:
    """A final period whose N employees all have a result. Returns (period id, group id)."""
    with sessions(engine)() as session, session.begin():
        group = Group(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(group)
        session.flush()
        scheme = _scheme(group.id, 1, 1, AT)
        session.add(scheme)
        n_inst = max(1, employees // PER_INSTITUTION)
        insts = [Institution(group_id=group.id, name=f"机构{i:03d}") for i in range(n_inst)]
        session.add_all(insts)
        session.flush()
        period = new_period(
            group.id, scheme.id, "2026-12", state=PeriodState.FINAL, deadline=AT, now=AT
        )
        session.add(period)
        session.flush()
        first = (session.scalar(select(func.max(Employee.id))) or 0) + 1
        bulk = _Bulk(session.connection())
        when = bulk.when(AT)

        def people() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                yield (
                    first + n,
                    group.id,
                    f"B{n + 1:07d}",
                    f"员工{n + 1}",
                    "",
                    insts[n % n_inst].id,
                    bulk.dec(Decimal(3000)),
                    bulk.true,
                    bulk.false,
                )

        bulk.copy(
            "employees",
            (
                *("id", "group_id", "number", "name", "position", "institution_id"),
                *("pay_base", "active", "on_leave"),
            ),
            people(),
        )

        def results() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                who = {
                    "number": f"B{n + 1:07d}",
                    "name": f"员工{n + 1}",
                    "institution": insts[n % n_inst].name,
                    "department": "",
                }
                pay = _pay(n)
                yield (
                    period.id,
                    first + n,
                    bulk.dec(Decimal("85.00")),
                    "B",
                    bulk.dec(Decimal("1.00")),
                    bulk.dec(pay),
                    bulk.dec(pay),
                    encode_json({"appraisee": who}),
                    when,
                )

        bulk.copy(
            "results",
            (
                *("period_id", "employee_id", "total", "grade", "coefficient"),
                *("pay_base", "pay", "trace", "computed_at"),
            ),
            results(),
        )
        bulk.fix_sequences(("employees",))
        return period.id, group.id


def payroll_file(path: Path, employees: int, fmt: str) -> None:
    """What payroll paid: everyone's amount, the last one ¥1 short."""
    rows = (
        (f"B{n + 1:07d}", f"员工{n + 1}", str(_pay(n) - (1 if n == employees - 1 else 0)))
        for n in range(employees)
    )
    header = ("工号", "姓名", "实发绩效工资")
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)
        return
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("发放")
    ws.append(header)
    for number, name, amount in rows:
        ws.append([number, name, Decimal(amount)])
    wb.save(path)


def run(employees: int, fmt: str = "csv", database_url: str | None = None) -> Report:
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-acceptance-"))
    url = database_url or f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        period_id, _group_id = build(engine, employees)
        path = tmp / f"payroll.{fmt}"
        payroll_file(path, employees, fmt)
        setup = time.perf_counter() - started

        started = time.perf_counter()
        problems = Problems()
        table = read_table(path, acceptance.COLUMNS, problems)
        problems.raise_if_any()
        read = time.perf_counter() - started
        assert len(table.rows) == employees
        del table

        started = time.perf_counter()
        with sessions(engine)() as session, session.begin():
            period = session.get(Period, period_id)
            assert period is not None
            check = acceptance.run(session, AT, period, path, who="bench")
        seconds = time.perf_counter() - started
        with sessions(engine)() as session:
            stored = session.scalar(select(func.count(Result.id)))
        assert stored == employees
        report = Report(
            rows=employees,
            database=engine.dialect.name,
            file_format=fmt,
            file_mb=path.stat().st_size / 1e6,
            setup_seconds=setup,
            read_seconds=read,
            check_seconds=seconds,
            passed=check.passed,
            mismatched=sum(len(o.mismatched) for o in check.outcomes),
            peak_mb=peak_mb(),
        )
        engine.dispose()
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
