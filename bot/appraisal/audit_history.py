"""`jixiao audit show --employee 工号`: one person's appraisal history from the audit log,
in plain language: scored, submitted, edited, computed, calibrated, appealed, revised,
published, final and paid.

Actions named here get their own sentence. An action added later (by a module this one
does not know) is still shown: its verb is guessed from its name where a word says it
(calibrat…, appeal…, cancel…, revis…/adjust…, pay/paid…), else the action itself is printed,
with what changed (before → after) either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.infra import render
from bot.infra.errors import Refused
from bot.infra.i18n import N_, _
from models import (
    AuditEvent,
    Employee,
    Group,
    Indicator,
    Institution,
    Period,
    Result,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
)

_CHUNK = 500
# Entities whose events are found by id; events about anything else are found when
# their before/after name the person.
_KNOWN = ("scoring_task", "score_entry", "result", "period", "employee")
# Actions on the employee that are about chat access, not the appraisal.
_NOT_HISTORY = ("codes.", "identity.", "chat.")
# Keys under which a later module's event may name the person.
_PERSON_KEYS = ("employee_id", "appraisee_id")
_NUMBER_KEYS = ("number", "employee_number", "employee", "appraisee", "工号")

# The verbs an unknown action is read as, by a word in its name (checked in this order).
_GUESSED = (
    ("calibrat", N_("Calibrated")),
    ("appeal", N_("Appealed")),
    ("revis", N_("Revised")),
    ("cancel", N_("Cancelled")),  # adjustment.cancel: not "revised", nothing is paid
    ("adjust", N_("Revised")),
    ("paid", N_("Paid")),
    ("payroll", N_("Paid")),
    ("acceptance", N_("Paid")),
    ("publish", N_("Published")),
    ("submit", N_("Submitted")),
    ("edit", N_("Edited")),
    ("score", N_("Scored")),
)
_PERIOD_STEPS = {
    "period.open": N_("Period {period} opened for scoring."),
    "period.close": N_("Scoring of period {period} closed."),
    "period.reopen": N_("Scoring of period {period} reopened."),
    "period.publish": N_("Results of period {period} published."),
    "period.finalize": N_("Period {period} final: this result sets the pay to be paid."),
}


@dataclass
class _Task:
    period: str
    scorer: str
    role: str


def show(session: Session, group: Group, number: str, label: str | None = None) -> list[str]:
    """The lines of `number`'s history, oldest first, ending with the current result."""
    emp = session.scalar(
        select(Employee).where(Employee.group_id == group.id, Employee.number == number)
    )
    if emp is None:
        raise Refused(_("No employee with number {number}.").format(number=number))
    tz = ZoneInfo(session.get_one(Institution, emp.institution_id).timezone)
    periods = _periods(session, emp.id, label)
    if label is not None and not periods:
        raise Refused(
            _("{name} ({number}) has no task or result in period {label}.").format(
                name=emp.name, number=number, label=label
            )
        )
    tasks = _tasks(session, emp.id, periods)
    entries = _entries(session, list(tasks))
    results = {
        rid: pid
        for rid, pid in session.execute(
            select(Result.id, Result.period_id).where(
                Result.employee_id == emp.id, Result.period_id.in_(list(periods))
            )
        ).tuples()
    }
    people = _People(session)
    lines = [
        _("History of {name} ({number}){scope}:").format(
            name=emp.name,
            number=number,
            scope=_(", period {label}").format(label=label) if label else "",
        )
    ]
    shown = 0
    for e in _events(session, emp, periods, tasks, entries, results):
        text = _sentence(e, emp, periods, tasks, entries, results, people)
        if text is None:
            continue
        shown += 1
        lines.append(f"{render.when(e.at, tz)}  {text}")
    if not shown:
        lines.append(_("No recorded events."))
    lines.extend(_now(session, emp, periods))
    return lines


def _periods(session: Session, emp_id: int, label: str | None) -> dict[int, str]:
    ids = select(ScoringTask.period_id).where(ScoringTask.appraisee_id == emp_id)
    with_result = select(Result.period_id).where(Result.employee_id == emp_id)
    query = select(Period.id, Period.label).where(
        or_(Period.id.in_(ids), Period.id.in_(with_result))
    )
    if label is not None:
        query = query.where(Period.label == label)
    return {pid: label for pid, label in session.execute(query).tuples()}


def _tasks(session: Session, emp_id: int, periods: dict[int, str]) -> dict[int, _Task]:
    scorer = aliased(Employee)
    rows = session.execute(
        select(
            ScoringTask.id,
            ScoringTask.period_id,
            scorer.name,
            scorer.number,
            func.coalesce(ScorerRole.name, ScoringTask.role_code),
        )
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .join(Period, Period.id == ScoringTask.period_id)
        .outerjoin(
            ScorerRole,
            and_(
                ScorerRole.scheme_id == Period.scheme_id, ScorerRole.code == ScoringTask.role_code
            ),
        )
        .where(ScoringTask.appraisee_id == emp_id, ScoringTask.period_id.in_(list(periods)))
    ).tuples()
    return {t: _Task(periods[p], f"{name} ({number})", role) for t, p, name, number, role in rows}


def _entries(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    for start in range(0, len(task_ids), _CHUNK):
        rows = session.execute(
            select(ScoreEntry.id, ScoreEntry.task_id, Indicator.name)
            .join(Indicator, Indicator.id == ScoreEntry.indicator_id)
            .where(ScoreEntry.task_id.in_(task_ids[start : start + _CHUNK]))
        ).tuples()
        found.update((i, (t, name)) for i, t, name in rows)
    return found


def _events(
    session: Session,
    emp: Employee,
    periods: dict[int, str],
    tasks: dict[int, _Task],
    entries: dict[int, tuple[int, str]],
    results: dict[int, int],
) -> Iterable[AuditEvent]:
    def about(entity: str, ids: Iterable[int]) -> list[Any]:
        wanted = list(ids)
        return [
            and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(wanted[s : s + _CHUNK]))
            for s in range(0, len(wanted), _CHUNK)
        ]

    # Later modules' events about this person: found by the 工号 in their text, then
    # kept only when a key really names them.
    text = or_(
        cast(AuditEvent.after, String).contains(emp.number),
        cast(AuditEvent.before, String).contains(emp.number),
        cast(AuditEvent.after, String).contains(f'"employee_id":{emp.id}'),
        cast(AuditEvent.before, String).contains(f'"employee_id":{emp.id}'),
    )
    conditions = [
        # About the person themself, but not their chat bindings and codes.
        and_(
            AuditEvent.entity == "employee",
            AuditEvent.entity_id == emp.id,
            *(AuditEvent.action.not_like(f"{prefix}%") for prefix in _NOT_HISTORY),
        ),
        *about("scoring_task", tasks),
        *about("score_entry", entries),
        *about("result", results),
        *about("period", periods),
        and_(AuditEvent.entity.not_in(_KNOWN), text),
    ]
    found = session.scalars(
        select(AuditEvent)
        .where(or_(*conditions))
        .order_by(AuditEvent.at, AuditEvent.seq, AuditEvent.id)
    )
    for e in found:
        if e.entity in _KNOWN or _names(e, emp):
            yield e


def _names(e: AuditEvent, emp: Employee) -> bool:
    for side in (e.before, e.after):
        if isinstance(side, dict) and (
            any(side.get(k) == emp.id for k in _PERSON_KEYS)
            or any(side.get(k) == emp.number for k in _NUMBER_KEYS)
        ):
            return True
    return False


class _People:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[int, str] = {}

    def actor(self, e: AuditEvent) -> str:
        if e.actor_id is not None:
            if e.actor_id not in self.cache:
                row = self.session.execute(
                    select(Employee.name, Employee.number).where(Employee.id == e.actor_id)
                ).first()
                self.cache[e.actor_id] = f"{row[0]} ({row[1]})" if row else f"#{e.actor_id}"
            return self.cache[e.actor_id]
        label = e.actor_label or ""
        if label.startswith("hr-import:"):
            return _("HR (import of {file})").format(file=label.split(":", 1)[1])
        if label in ("cli", ""):
            return _("HR (command line)")
        return label


def _sentence(
    e: AuditEvent,
    emp: Employee,
    periods: dict[int, str],
    tasks: dict[int, _Task],
    entries: dict[int, tuple[int, str]],
    results: dict[int, int],
    people: _People,
) -> str | None:
    after = e.after if isinstance(e.after, dict) else {}
    before = e.before if isinstance(e.before, dict) else {}
    if e.action.startswith("audit."):
        return None  # the chain's own bookkeeping, not the person's history
    if e.entity == "scoring_task" and e.entity_id in tasks:
        task = tasks[e.entity_id]
        if e.action == "task.submit":
            return _("{period}: {scorer} scored and submitted as {role}: {marks}.").format(
                period=task.period, scorer=people.actor(e), role=task.role, marks=_marks(after)
            )
        if e.action == "task.submit_by_hr":
            return _(
                "{period}: {actor} entered and submitted the scores of {scorer} as {role}: {marks}."
            ).format(
                period=task.period,
                actor=people.actor(e),
                scorer=task.scorer,
                role=task.role,
                marks=_marks(after.get("scores", {})),
            )
        if e.action == "task.keep_original":
            return _(
                "{period}: {actor} closed the appeal's re-scoring without {scorer}: their "
                "scores as {role} from before it were submitted again."
            ).format(period=task.period, actor=people.actor(e), scorer=task.scorer, role=task.role)
        if e.action == "chat.refused":
            return None  # a refused tap changed nothing
    if e.entity == "score_entry" and e.entity_id in entries:
        task_id, indicator = entries[e.entity_id]
        if e.action == "score.edit":
            return _("{period}: {scorer} edited {indicator}: {old} → {new}.").format(
                period=tasks[task_id].period,
                scorer=people.actor(e),
                indicator=indicator,
                old=render.score(before["value"]) if before.get("value") else "—",
                new=render.score(after["value"]) if after.get("value") else "—",
            )
    if e.entity == "result" and e.entity_id in results and e.action == "result.recompute":
        return _("{period}: result recomputed: {changes}.").format(
            period=periods[results[e.entity_id]], changes=_changes(before, after)
        )
    if e.entity == "period" and e.entity_id in periods:
        label = periods[e.entity_id]
        if e.action in _PERIOD_STEPS:
            return _(_PERIOD_STEPS[e.action]).format(period=label)
        if e.action == "results.compute":
            return _("{period}: results computed by {actor}.").format(
                period=label, actor=people.actor(e)
            )
        if e.action == "period.add_tasks" and emp.number not in after.get("for", []):
            return None
    return _unknown(e, periods, results, people, before, after)


def _unknown(
    e: AuditEvent,
    periods: dict[int, str],
    results: dict[int, int],
    people: _People,
    before: dict[str, Any],
    after: dict[str, Any],
) -> str:
    """An action this module has no sentence for: a guessed verb, or the action itself."""
    verb = next((_(v) for word, v in _GUESSED if word in e.action.lower()), None)
    period = (
        periods.get(e.entity_id or 0)
        if e.entity == "period"
        else periods.get(results.get(e.entity_id or 0, 0))
        if e.entity == "result"
        else None
    )
    changes = _changes(before, after)
    return _("{period}{verb} ({action}) by {actor}{changes}.").format(
        period=f"{period}: " if period else "",
        verb=verb or _("Recorded"),
        action=e.action,
        actor=people.actor(e),
        changes=f": {changes}" if changes else "",
    )


def _marks(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {render.score(v)}" if _number(v) else f"{k} {v}" for k, v in values.items()
    )


def _number(value: Any) -> bool:
    try:
        render.score(str(value))
    except Exception:
        return False
    return True


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What changed, key by key: "grade B → A, pay 4000.00 → 4400.00"."""
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if old == new or isinstance(old, dict | list) or isinstance(new, dict | list):
            continue
        if key in before:
            parts.append(f"{key} {old} → {new}")
        else:
            parts.append(f"{key} {new}")
    return ", ".join(parts)


def _now(session: Session, emp: Employee, periods: dict[int, str]) -> list[str]:
    rows = session.execute(
        select(Period.label, Result.total, Result.grade, Result.pay)
        .join(Period, Period.id == Result.period_id)
        .where(Result.employee_id == emp.id, Result.period_id.in_(list(periods)))
        .order_by(Period.starts_on)
    ).tuples()
    return [
        _("Result now, {period}: total {total}, grade {grade}, pay {pay}.").format(
            period=label, total=render.points(total), grade=grade, pay=render.money(pay)
        )
        for label, total, grade, pay in rows
    ]
