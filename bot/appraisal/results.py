"""Computing a period's results: stream the submitted marks once, run the pay engine per
appraisee, and write results in batches with their traces.

Published and final periods are never recomputed: their results change only through
audited actions (calibration, upheld appeals), never from today's scheme or pay base.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby, islice
from json.encoder import encode_basestring as _text
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, literal_column, select, update
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.appraisal.gaps import number_key
from bot.appraisal.metric_values import any_metric, values_of
from bot.appraisal.pay import (
    Evaluated,
    Figures,
    Incomplete,
    Part,
    SchemeSpec,
    Task,
    evaluate,
    fresh_parts,
    regrade,
)
from bot.appraisal.periods import state_name
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import (
    Calibration,
    Department,
    Employee,
    Institution,
    MetricValue,
    Period,
    PeriodState,
    Result,
    Scheme,
    ScoreEntry,
    ScoringTask,
    TaskState,
    TracePart,
)
from models.base import EncodedJSON, encode_json
from models.chain import results_hasher
from models.db import insert_many, stream

BATCH = 5000
# Appraisees evaluated, and their results and new trace parts written, at a time.
CHUNK = 5000

# number, name, pay base, institution, department path
Person = tuple[str, str, Decimal, str, str]
# appraisee id, task id, role code, "indicator value indicator value …",
# {indicator id: comment}
TaskRow = tuple[int, int, str, str, dict[str, str]]


class Unresolved(NamedTuple):
    """An appraisee left without a result: the weighted indicators (names, in the
    scheme's order) that no counting role has scored; all of them when no counting
    scorer has submitted anything."""

    employee_id: int
    number: str
    name: str
    indicators: list[str]


# "n more appraisees are done"
Advance = Callable[[int], None]


@dataclass
class ComputeReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    incomplete: list[Unresolved] = field(default_factory=list)

    @property
    def computed(self) -> int:
        return self.created + self.updated + self.unchanged


def task_rows(
    session: Session, period_id: int, appraisee_id: int | None = None
) -> Iterator[TaskRow]:
    """Submitted tasks in appraisee order, each with its marks joined into one string.

    The database does the joining, so at group scale Python reads 200,000 task rows
    instead of 2,000,000 mark rows. Values are read as text so 87.5 and 87.50 stay apart
    (the trace shows what was entered). Comments are rare and read first, through an
    index of the commented marks only: each task comes with {indicator id: comment}.
    With `appraisee_id`, that one appraisee's only.
    """
    conn = session.connection()
    submitted: tuple[ColumnElement[bool], ...] = (
        ScoringTask.period_id == period_id,
        ScoringTask.state == TaskState.SUBMITTED,
    )
    if appraisee_id is not None:
        submitted += (ScoringTask.appraisee_id == appraisee_id,)
    notes: dict[int, dict[str, str]] = {}
    # Written as the index's own condition (not a parameter) so the planner uses it.
    commented = ScoreEntry.comment != literal_column("''")
    for task, indicator, comment in conn.execute(
        select(ScoreEntry.task_id, ScoreEntry.indicator_id, ScoreEntry.comment)
        .join(ScoringTask, ScoringTask.id == ScoreEntry.task_id)
        .where(*submitted, commented)
    ).tuples():
        notes.setdefault(task, {})[str(indicator)] = comment
    space: ColumnElement[str] = literal_column("' '")
    marks = (func.group_concat if conn.dialect.name == "sqlite" else func.string_agg)(
        ScoreEntry.indicator_id.concat(space).concat(ScoreEntry.value), space
    )
    query = (
        select(ScoringTask.appraisee_id, ScoringTask.id, ScoringTask.role_code, marks)
        .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
        .where(*submitted)
        .group_by(ScoringTask.id)
        .order_by(ScoringTask.appraisee_id, ScoringTask.id)
    )
    empty: dict[str, str] = {}
    for appraisee, task, role, joined in stream(conn, query, BATCH):
        yield appraisee, task, role, joined, notes.get(task, empty)


def evaluate_appraisee(
    spec: SchemeSpec,
    period: str,
    person: Person,
    rows: Sequence[TaskRow],
    metrics: Mapping[str, Figures] | None = None,
) -> Evaluated | list[str]:
    """One appraisee's result from their task rows (and metric values), or the
    indicators still missing.

    `period` is the trace's period entry, already JSON.
    """
    tasks: list[Task] = []
    for _appraisee, _task, role, joined, said in rows:
        it = iter(joined.split(" "))
        tasks.append((role, dict(zip(it, it, strict=True)), said))
    number, name, base, institution, department = person
    about = (
        f'"period":{period},"appraisee":{{"number":{_text(number)},"name":{_text(name)},'
        f'"institution":{_text(institution)},"department":{_text(department or "")}}}'
    )
    try:
        return evaluate(spec, tasks, base, about, metrics=metrics)
    except Incomplete as exc:
        return exc.missing


Chunk = list[tuple[int, Person, list[TaskRow]]]
Outcomes = tuple[list[tuple[int, Evaluated | list[str]]], list[Part]]


def evaluate_chunk(
    spec: SchemeSpec,
    period: str,
    chunk: Chunk,
    figures: Mapping[int, Mapping[str, Figures]] | None = None,
) -> Outcomes:
    """Appraisees' outcomes, and the trace parts they named for the first time.
    `figures` are the period's metric values by appraisee."""
    got = figures or {}
    outcomes = [(a, evaluate_appraisee(spec, period, p, rows, got.get(a))) for a, p, rows in chunk]
    return outcomes, fresh_parts(spec)


def _outcomes(
    spec: SchemeSpec,
    period: str,
    people: dict[int, Person],
    rows: Iterator[TaskRow],
    figures: Mapping[int, Mapping[str, Figures]],
) -> Iterator[Outcomes]:
    """Every scored appraisee's outcome, a chunk at a time, in appraisee order; then
    those with metric values but no submitted task (a scheme of data alone, or nobody
    has scored them yet: then the outcome names what is missing)."""
    seen: set[int] = set()
    groups = ((a, people[a], list(g)) for a, g in groupby(rows, key=itemgetter(0)))
    while chunk := list(islice(groups, CHUNK)):
        seen.update(a for a, _p, _r in chunk)
        yield evaluate_chunk(spec, period, chunk, figures)
    rest: Chunk = [(a, people[a], []) for a in sorted(figures) if a not in seen and a in people]
    for start in range(0, len(rest), CHUNK):
        yield evaluate_chunk(spec, period, rest[start : start + CHUNK], figures)


def in_force(
    session: Session, period_id: int, employee_id: int | None = None
) -> dict[int, Calibration]:
    """The calibrations in force in a period (one per employee at most), by employee."""
    query = select(Calibration).where(
        Calibration.period_id == period_id, Calibration.removed.is_(False)
    )
    if employee_id is not None:
        query = query.where(Calibration.employee_id == employee_id)
    return {c.employee_id: c for c in session.scalars(query.order_by(Calibration.id))}


def calibrate_outcome(
    spec: SchemeSpec, out: Evaluated, pay_base: Decimal, cal: Calibration | None
) -> Evaluated:
    """THE place where a calibration changes what the pay engine computed, on its way to
    a Result row: the period's computation and any single result's recomputation go
    through here, so a calibration survives every recompute until it is removed.

    The grade set (or the total adjusted, then graded again) decides the coefficient and
    the pay by the scheme's rules. The trace keeps both: the computed total, grade and pay
    under "calibration" (with the entries to restore them), the calibrated ones where an
    uncalibrated trace has them.
    """
    if cal is None:
        return out
    trace = json.loads(out.trace)
    if cal.grade is not None:
        band = next((b for b in spec.bands if b.grade == cal.grade), None)
        if band is None:  # the scheme version has no such grade: keep what was computed
            return out
        total = out.total
        band, grade_entry, pay, pay_entry = regrade(spec, total, pay_base, band)
    else:
        raw = out.total + (cal.total_adjust or Decimal(0))
        total = raw.quantize(spec.score_quantum, rounding=spec.rounding)
        band, grade_entry, pay, pay_entry = regrade(spec, total, pay_base)
    computed_band = next((b for b in spec.bands if b.grade == out.grade), None)
    trace["calibration"] = {
        "id": cal.id,
        "role": cal.role.value if hasattr(cal.role, "value") else str(cal.role),
        "reason": cal.reason,
        "at": cal.at.isoformat(),
        "grade": cal.grade,
        "total_adjust": None if cal.total_adjust is None else str(cal.total_adjust),
        "computed": {
            "total": str(out.total),
            "grade": out.grade,
            "label": computed_band.label if computed_band else "",
            "coefficient": str(out.coefficient),
            "pay": str(out.pay),
        },
        # The computed trace's own entries, restored when the calibration is removed.
        "entries": {"total": trace["total"], "grade": trace["grade"], "pay": trace["pay"]},
    }
    trace["total"] = str(total)
    trace["grade"] = grade_entry
    trace["pay"] = pay_entry
    return Evaluated(total, band.grade, band.coefficient, pay, encode_json(trace))


def uncalibrated(result: Result) -> Evaluated:
    """A stored result as the pay engine computed it, whatever calibration it carries."""
    trace = dict(result.trace)
    cal = trace.pop("calibration", None)
    if cal is None:
        return Evaluated(
            result.total, result.grade, result.coefficient, result.pay, encode_json(trace)
        )
    computed = cal["computed"]
    for key in ("total", "grade", "pay"):
        trace[key] = cal["entries"][key]
    return Evaluated(
        Decimal(computed["total"]),
        computed["grade"],
        Decimal(computed["coefficient"]),
        Decimal(computed["pay"]),
        encode_json(trace),
    )


RESULT_COLUMNS = (
    "period_id",
    "employee_id",
    "total",
    "grade",
    "coefficient",
    "pay_base",
    "pay",
    "trace",
    "computed_at",
    "row_hash",
)


def result_values(
    period: Period,
    employee_id: int,
    base: Decimal,
    out: Evaluated,
    now: dt.datetime,
    hasher: Callable[[int, Decimal, str, Decimal, Decimal, Decimal, str], str] | None = None,
) -> dict[str, Any]:
    """Where an engine outcome becomes a Result row, for a whole period's computation
    and for one employee's recompute after an appeal alike: the one place a rule that
    changes what is stored (such as a calibration) goes. `row_hash` is hashed here from
    the very text stored (models.chain, docs/audit.md); a compute passes one `hasher`
    for all its rows."""
    hashed = (hasher or results_hasher(period.id, now))(
        employee_id, out.total, out.grade, out.coefficient, base, out.pay, out.trace
    )
    return {
        "period_id": period.id,
        "employee_id": employee_id,
        "total": out.total,
        "grade": out.grade,
        "coefficient": out.coefficient,
        "pay_base": base,
        "pay": out.pay,
        "trace": EncodedJSON(out.trace),
        "computed_at": now,
        "row_hash": hashed,
    }


FIGURES = ("total", "grade", "coefficient", "pay")


def _store_change(
    session: Session,
    now: dt.datetime,
    result_id: int,
    before: list[Any],
    trace: Any,
    values: dict[str, Any],
    actor: str,
    actor_id: int | None = None,
) -> bool:
    """Update a stored result to `values`, audited; False when nothing changed."""
    # Unchanged only if the explanation is too: an edited comment or a renamed
    # department must reach the stored trace.
    if before == [values[f] for f in FIGURES] and trace == json.loads(values["trace"]):
        return False
    session.execute(
        update(Result)
        .where(Result.id == result_id)
        # The row hash is left as it was: the event below seals the change, recording
        # the hash before and after (bot.appraisal.audit).
        .values(
            {k: v for k, v in values.items() if k not in ("period_id", "employee_id", "row_hash")}
        )
    )
    record(
        session,
        now,
        "result.recompute",
        "result",
        result_id,
        actor_id=actor_id,
        actor_label=actor,
        before=dict(zip(FIGURES, map(str, before), strict=True)),
        after={f: str(values[f]) for f in FIGURES},
    )
    return True


def compute_period(
    session: Session,
    now: dt.datetime,
    period: Period,
    actor: str = "cli",
    progress: Advance | None = None,
) -> ComputeReport:
    """(Re)compute every result of a period that is open or closed for scoring;
    `progress` hears of the appraisees done (see `appraisee_count` for the total)."""
    with _gc_paused():
        return _compute_period(session, now, period, actor, progress or _quiet)


def _quiet(_n: int) -> None:
    pass


def appraisee_count(session: Session, period: Period) -> int:
    """How many appraisees `compute_period` goes through."""
    return (
        session.scalar(
            select(func.count(ScoringTask.appraisee_id.distinct())).where(
                ScoringTask.period_id == period.id
            )
        )
        or 0
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cycle collection while a period is computed: its hundreds of thousands of
    long-lived rows and memo entries would be scanned again and again for nothing (the
    computation makes no cycles worth collecting), a quarter of the time at group scale.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _compute_period(
    session: Session, now: dt.datetime, period: Period, actor: str, progress: Advance
) -> ComputeReport:
    if period.state in (PeriodState.PUBLISHED, PeriodState.FINAL):
        raise Refused(
            _("Period {label} is {state}: its results are not recomputed.").format(
                label=period.label, state=state_name(period.state)
            )
        )
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    names = {i.code: i.name for i in spec.indicators}
    every_weighted = [i.name for i in spec.indicators if i.weighted]
    conn = session.connection()
    people: dict[int, Person] = {
        row[0]: row[1:]
        for row in conn.execute(
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
                | Employee.id.in_(
                    select(MetricValue.employee_id).where(MetricValue.period_id == period.id)
                )
            )
        ).tuples()
    }
    figures = values_of(session, period.id) if any_metric(spec) else {}
    old: dict[int, tuple[int, Decimal, str, Decimal, Decimal, Any]] = {
        row[0]: row[1:]
        for row in conn.execute(
            select(
                Result.employee_id,
                Result.id,
                Result.total,
                Result.grade,
                Result.coefficient,
                Result.pay,
                Result.trace,
            ).where(Result.period_id == period.id)
        ).tuples()
    }
    stored_parts = set(
        conn.execute(select(TracePart.digest).where(TracePart.scheme_id == spec.id)).scalars()
    )
    calibrations = in_force(session, period.id)
    report = ComputeReport()
    scored: set[int] = set()
    period_entry = json.dumps({"id": period.id, "label": period.label}, ensure_ascii=False)
    hasher = results_hasher(period.id, now)
    rows = task_rows(session, period.id)
    for outcomes, parts in _outcomes(spec, period_entry, people, rows, figures):
        # Parts first: the traces below name them.
        new_parts = {name: body for name, body in parts if name not in stored_parts}
        insert_many(
            conn,
            TracePart,
            ("scheme_id", "digest", "body"),
            ((spec.id, name, EncodedJSON(body)) for name, body in new_parts.items()),
        )
        stored_parts.update(new_parts)
        inserts: list[tuple[Any, ...]] = []
        for appraisee, out in outcomes:
            scored.add(appraisee)
            number, name, base, _institution, _department = people[appraisee]
            if isinstance(out, list):
                report.incomplete.append(
                    Unresolved(appraisee, number, name, [names[code] for code in out])
                )
                continue
            # Calibration (bot.appraisal.calibration) first: the pay follows the calibrated grade.
            out = calibrate_outcome(spec, out, base, calibrations.get(appraisee))
            values = result_values(period, appraisee, base, out, now, hasher)
            prev = old.get(appraisee)
            if prev is None:
                inserts.append(tuple(values[c] for c in RESULT_COLUMNS))
                continue
            result_id, *before, trace = prev
            if _store_change(session, now, result_id, before, trace, values, actor):
                report.updated += 1
            else:
                report.unchanged += 1
        insert_many(conn, Result, RESULT_COLUMNS, inserts)
        report.created += len(inserts)
        progress(len(outcomes))
    # No submitted task at all: every weighted indicator is missing.
    unscored = sorted(set(people) - scored)
    for emp_id in unscored:
        number, name = people[emp_id][:2]
        report.incomplete.append(Unresolved(emp_id, number, name, list(every_weighted)))
    progress(len(unscored))
    report.incomplete.sort(key=lambda u: number_key(u.number))
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


def recompute_one(
    session: Session, now: dt.datetime, period: Period, employee_id: int, actor: str = "cli"
) -> tuple[dict[str, str], dict[str, str]]:
    """Recompute one employee's result from their submitted marks (after an appeal's
    revision, in a published period): the figures before and after. Goes through the
    same `result_values` as `compute_period`, reading only that employee's marks."""
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    conn = session.connection()
    row = conn.execute(
        select(
            Employee.number,
            Employee.name,
            Employee.pay_base,
            Institution.name,
            Department.path,
        )
        .join(Institution, Institution.id == Employee.institution_id)
        .outerjoin(Department, Department.id == Employee.department_id)
        .where(Employee.id == employee_id)
    ).one()
    person: Person = (row[0], row[1], row[2], row[3], row[4])
    period_entry = json.dumps({"id": period.id, "label": period.label}, ensure_ascii=False)
    rows = list(task_rows(session, period.id, employee_id))
    figures = values_of(session, period.id, employee_id).get(employee_id)
    out = evaluate_appraisee(spec, period_entry, person, rows, figures)
    if isinstance(out, list):
        names = {i.code: i.name for i in spec.indicators}
        raise Refused(
            _("{name}'s result cannot be recomputed: {indicators} not scored.").format(
                name=person[1], indicators=", ".join(names[c] for c in out)
            )
        )
    parts = dict(fresh_parts(spec))
    if parts:
        stored = set(
            conn.execute(
                select(TracePart.digest).where(
                    TracePart.scheme_id == spec.id, TracePart.digest.in_(parts)
                )
            ).scalars()
        )
        insert_many(
            conn,
            TracePart,
            ("scheme_id", "digest", "body"),
            ((spec.id, n, EncodedJSON(b)) for n, b in parts.items() if n not in stored),
        )
    # A calibration in force stays, as in compute_period: HR removes it, not a revision.
    calibration = in_force(session, period.id, employee_id).get(employee_id)
    out = calibrate_outcome(spec, out, person[2], calibration)
    values = result_values(period, employee_id, person[2], out, now)
    prev = conn.execute(
        select(
            Result.id, Result.total, Result.grade, Result.coefficient, Result.pay, Result.trace
        ).where(Result.period_id == period.id, Result.employee_id == employee_id)
    ).one_or_none()
    after = {f: str(values[f]) for f in FIGURES}
    if prev is None:
        insert_many(conn, Result, RESULT_COLUMNS, [tuple(values[c] for c in RESULT_COLUMNS)])
        return {}, after
    result_id, *before, trace = prev
    _store_change(session, now, result_id, before, trace, values, actor)
    return dict(zip(FIGURES, map(str, before), strict=True)), after
