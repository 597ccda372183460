"""Computing a period's results: stream the submitted marks once, run the pay engine per
appraisee, and write results in batches with their traces.

Published and final periods are never recomputed: their results change only through
audited actions (calibration, upheld appeals), never from today's scheme or pay base.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import String, cast, insert, select, update
from sqlalchemy.orm import Session

from bot.audit import record
from bot.errors import Refused
from bot.i18n import _
from bot.pay import Incomplete, Mark, SchemeSpec, compute
from bot.periods import state_name
from models import (
    Department,
    Employee,
    Institution,
    Period,
    PeriodState,
    Result,
    Scheme,
    ScoreEntry,
    ScoringTask,
    TaskState,
)

BATCH = 5000


@dataclass
class ComputeReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    incomplete: list[tuple[str, list[str]]] = field(default_factory=list)  # (工号, indicators)

    @property
    def computed(self) -> int:
        return self.created + self.updated + self.unchanged


def _marks(session: Session, period_id: int) -> Iterator[tuple[int, list[Mark]]]:
    """Submitted marks grouped by appraisee, streamed in appraisee order.

    Rows are read through Core, not the ORM, and equal marks share one immutable `Mark`:
    at group scale there are millions of rows but only thousands of distinct marks. The
    value is read as text so 87.5 and 87.50 stay apart (the trace shows what was entered).
    """
    rows = session.connection().execute(
        select(
            ScoringTask.appraisee_id,
            ScoringTask.role_code,
            ScoreEntry.indicator_id,
            cast(ScoreEntry.value, String),
            ScoreEntry.comment,
        )
        .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
        .where(ScoringTask.period_id == period_id, ScoringTask.state == TaskState.SUBMITTED)
        .order_by(ScoringTask.appraisee_id)
        .execution_options(yield_per=BATCH)
    )
    known: dict[tuple[str, int, str, str], Mark] = {}

    def mark(role: str, ind: int, value: str, comment: str) -> Mark:
        key = (role, ind, value, comment)
        found = known.get(key)
        if found is None:
            found = Mark(role, ind, Decimal(value), comment)
            if len(known) < 100_000:
                known[key] = found
        return found

    for appraisee, group in groupby(rows, key=itemgetter(0)):
        yield appraisee, [mark(role, ind, value, comment) for _, role, ind, value, comment in group]


def compute_period(
    session: Session, now: dt.datetime, period: Period, actor: str = "cli"
) -> ComputeReport:
    """(Re)compute every result of a period that is open or closed for scoring."""
    if period.state in (PeriodState.PUBLISHED, PeriodState.FINAL):
        raise Refused(
            _("Period {label} is {state}: its results are not recomputed.").format(
                label=period.label, state=state_name(period.state)
            )
        )
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    people: dict[int, tuple[str, str, Decimal, str, str]] = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Employee.id,
                Employee.number,
                Employee.name,
                Employee.pay_base,
                Institution.name,
                Department.path,
            )
            .join(Institution, Institution.id == Employee.institution_id)
            .outerjoin(Department, Department.id == Employee.department_id)
            .where(
                Employee.id.in_(
                    select(ScoringTask.appraisee_id).where(ScoringTask.period_id == period.id)
                )
            )
        ).tuples()
    }
    old: dict[int, tuple[int, Decimal, str, Decimal, Decimal]] = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Result.employee_id,
                Result.id,
                Result.total,
                Result.grade,
                Result.coefficient,
                Result.pay,
            ).where(Result.period_id == period.id)
        ).tuples()
    }
    report = ComputeReport()
    scored: set[int] = set()
    inserts: list[dict[str, Any]] = []
    period_info = {"id": period.id, "label": period.label}
    for appraisee, marks in _marks(session, period.id):
        scored.add(appraisee)
        number, name, base, inst, dept = people[appraisee]
        try:
            out = compute(spec, marks, base)
        except Incomplete as exc:
            report.incomplete.append((number, exc.missing))
            continue
        out.trace["period"] = period_info
        out.trace["appraisee"] = {
            "number": number,
            "name": name,
            "institution": inst,
            "department": dept or "",
        }
        values = {
            "total": out.total,
            "grade": out.grade,
            "coefficient": out.coefficient,
            "pay_base": base,
            "pay": out.pay,
            "trace": out.trace,
            "computed_at": now,
        }
        prev = old.get(appraisee)
        if prev is None:
            inserts.append({"period_id": period.id, "employee_id": appraisee, **values})
            report.created += 1
            if len(inserts) >= BATCH:
                session.connection().execute(insert(Result), inserts)
                inserts.clear()
            continue
        result_id, *before = prev
        if before == [out.total, out.grade, out.coefficient, out.pay]:
            report.unchanged += 1
            continue
        session.execute(update(Result).where(Result.id == result_id).values(**values))
        record(
            session,
            now,
            "result.recompute",
            "result",
            result_id,
            actor_label=actor,
            before=dict(
                zip(("total", "grade", "coefficient", "pay"), map(str, before), strict=True)
            ),
            after={
                "total": str(out.total),
                "grade": out.grade,
                "coefficient": str(out.coefficient),
                "pay": str(out.pay),
            },
        )
        report.updated += 1
    if inserts:
        session.connection().execute(insert(Result), inserts)
    for emp_id in sorted(set(people) - scored):
        report.incomplete.append((people[emp_id][0], []))
    record(
        session,
        now,
        "results.compute",
        "period",
        period.id,
        actor_label=actor,
        after={
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "incomplete": len(report.incomplete),
        },
    )
    return report
