"""Period lifecycle: draft → scoring → scoring_closed → published → final.

Opening a period binds it to the scheme version in force and creates the scoring tasks
in one set-based pass; every transition is audited and an illegal one is refused with
the states it would have needed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, insert, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from bot.appraisal import quotas
from bot.appraisal.audit import record
from bot.appraisal.gaps import Gap, named, unscorable, without_result
from bot.appraisal.metric_values import missing_values
from bot.appraisal.sections import scoring_roles
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.workdays import default_tz, is_workday, local_now
from models import (
    OPEN_STATES,
    Appeal,
    AppealState,
    Employee,
    Group,
    Institution,
    Period,
    PeriodKind,
    PeriodState,
    Result,
    Scheme,
    ScoringTask,
    TaskState,
)
from models.db import chunks, flushed

S = PeriodState
# Which states each transition may start from.
TRANSITIONS: dict[str, tuple[tuple[PeriodState, ...], PeriodState]] = {
    "open": ((S.DRAFT,), S.SCORING),
    "close": ((S.SCORING,), S.SCORING_CLOSED),
    "reopen": ((S.SCORING_CLOSED,), S.SCORING),
    "publish": ((S.SCORING_CLOSED,), S.PUBLISHED),
    "finalize": ((S.PUBLISHED,), S.FINAL),
}

_LABEL = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


@dataclass(frozen=True)
class Span:
    kind: PeriodKind
    starts_on: dt.date
    ends_on: dt.date


def parse_label(label: str) -> Span:
    """2026-11 is a month, 2026-Q4 a quarter, 2026 a year."""
    m = _LABEL.match(label.strip().upper())
    if not m:
        raise Refused(
            _("Period {label!r} is not valid: write 2026-11, 2026-Q4 or 2026.").format(label=label)
        )
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        last = calendar.monthrange(year, month)[1]
        return Span(PeriodKind.MONTHLY, dt.date(year, month, 1), dt.date(year, month, last))
    if m.group(3):
        q = int(m.group(3))
        first, last_month = 3 * q - 2, 3 * q
        last = calendar.monthrange(year, last_month)[1]
        return Span(PeriodKind.QUARTERLY, dt.date(year, first, 1), dt.date(year, last_month, last))
    return Span(PeriodKind.ANNUAL, dt.date(year, 1, 1), dt.date(year, 12, 31))


def state_name(state: PeriodState) -> str:
    names = {
        S.DRAFT: _("draft"),
        S.SCORING: _("scoring"),
        S.SCORING_CLOSED: _("scoring closed"),
        S.PUBLISHED: _("published"),
        S.FINAL: _("final"),
    }
    return names[state]


def end_of_day(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=ZoneInfo(tz))


WINDOW_DAYS = 5  # workdays of the objection window unless the period or scheme says


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The `n`th workday after `start` (China's calendar, 调休 included); `start` for 0."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def window_days(session: Session, period: Period) -> int:
    """The period's objection window in workdays: its own, else its scheme's, else 5."""
    if period.objection_days is not None:
        return period.objection_days
    scheme = session.get_one(Scheme, period.scheme_id)
    return scheme.objection_days if scheme.objection_days is not None else WINDOW_DAYS


def period_tz(period: Period) -> str:
    return period.institution.timezone if period.institution else default_tz()


def window_close(session: Session, period: Period, published: dt.datetime) -> dt.datetime:
    """When the window of a period published at `published` closes: the end of its last
    workday, local time. A window of 0 workdays closes at publication."""
    days = window_days(session, period)
    if days <= 0:
        return published
    tz = period_tz(period)
    return end_of_day(add_workdays(local_now(published, tz).date(), days), tz)


def find_group(session: Session, name: str | None) -> Group:
    """The named group, or the only one when there is just one."""
    if name:
        group = session.scalar(select(Group).where(Group.name == name))
        if group is None:
            raise Refused(_("No group named {name!r}.").format(name=name))
        return group
    groups = session.scalars(select(Group).limit(2)).all()
    if not groups:
        raise Refused(_("No organisation yet: import one with `jixiao import org FILE`."))
    if len(groups) > 1:
        raise Refused(_("Several groups exist: say which with --group."))
    return groups[0]


def find_institution(session: Session, group: Group, name: str) -> Institution:
    inst = session.scalar(
        select(Institution).where(Institution.group_id == group.id, Institution.name == name)
    )
    if inst is None:
        raise Refused(_("No institution named {name!r}.").format(name=name))
    return inst


def newest_scheme(session: Session, group: Group, code: str) -> Scheme | None:
    """The latest version of a scheme, if any was imported."""
    return session.scalar(
        select(Scheme)
        .where(Scheme.group_id == group.id, Scheme.code == code)
        .order_by(Scheme.version.desc())
        .limit(1)
    )


def latest_scheme(session: Session, group: Group, code: str) -> Scheme:
    scheme = newest_scheme(session, group, code)
    if scheme is None:
        raise Refused(
            _("No scheme with code {code!r}: import one with `jixiao import scheme FILE`.").format(
                code=code
            )
        )
    return scheme


def scoped_period(
    session: Session, group: Group, label: str, institution: Institution | None = None
) -> Period | None:
    """The institution's own period `label` (the group-wide one without an institution)."""
    scope = str(institution.id) if institution else "group"
    return session.scalar(
        select(Period).where(
            Period.group_id == group.id, Period.scope == scope, Period.label == label
        )
    )


def find_period(
    session: Session, group: Group, label: str, institution: Institution | None = None
) -> Period:
    period = scoped_period(session, group, label, institution)
    if period is None:
        # An HR user rarely cares whether a period is group-wide: take the only match.
        matches = session.scalars(
            select(Period).where(Period.group_id == group.id, Period.label == label)
        ).all()
        if institution is None and len(matches) == 1:
            return matches[0]
        raise Refused(_("No period {label}.").format(label=label))
    return period


def _transition(
    session: Session, now: dt.datetime, period: Period, action: str, actor: str
) -> None:
    allowed, target = TRANSITIONS[action]
    if period.state not in allowed:
        raise Refused(
            _(
                "Cannot {action} period {label}: it is {state}, and that is allowed only "
                "when it is {allowed}."
            ).format(
                label=period.label,
                state=state_name(period.state),
                action=_action_name(action),
                allowed=" / ".join(state_name(s) for s in allowed),
            )
        )
    before = period.state
    period.state = target
    record(
        session,
        now,
        f"period.{action}",
        "period",
        period.id,
        actor_label=actor,
        before={"state": before.value},
        after={"state": target.value},
    )


def _action_name(action: str) -> str:
    return {
        "open": _("open"),
        "close": _("close"),
        "reopen": _("reopen"),
        "publish": _("publish"),
        "finalize": _("finalize"),
    }[action]


def new_period(
    group_id: int,
    scheme_id: int,
    label: str,
    *,
    state: PeriodState,
    deadline: dt.datetime,
    now: dt.datetime,
    institution_id: int | None = None,
) -> Period:
    """A period row for `label`, its kind and dates read from the label (not yet added)."""
    span = parse_label(label)
    return Period(
        group_id=group_id,
        institution_id=institution_id,
        scope=str(institution_id) if institution_id else "group",
        label=label,
        kind=span.kind,
        starts_on=span.starts_on,
        ends_on=span.ends_on,
        scheme_id=scheme_id,
        state=state,
        deadline=deadline,
        created_at=now,
    )


def open_period(
    session: Session,
    now: dt.datetime,
    *,
    group: Group,
    label: str,
    scheme_code: str,
    institution: Institution | None = None,
    deadline: dt.date | None = None,
    actor: str = "cli",
    force: bool = False,
) -> tuple[Period, int]:
    """Create (or take the draft of) a period, bind the scheme version in force, open it
    for scoring and create its scoring tasks. Returns the period and the task count.

    A deadline before the period starts, or already past, is almost always a typo (a
    wrong year or month); it is refused unless `force`."""
    span = parse_label(label)
    period = scoped_period(session, group, label, institution)
    tz = institution.timezone if institution else default_tz()
    due = end_of_day(deadline or span.ends_on + dt.timedelta(days=7), tz)
    if deadline is not None and not force:
        check_deadline(label, span, deadline, due, now)
    if period is None:
        period = new_period(
            group.id,
            latest_scheme(session, group, scheme_code).id,
            label,
            state=PeriodState.DRAFT,
            deadline=due,
            now=now,
            institution_id=institution.id if institution else None,
        )
        session.add(period)
        session.flush()
    elif deadline is not None:
        period.deadline = due
    _transition(session, now, period, "open", actor)
    period.opened_at = now
    count = create_tasks(session, period)
    return period, count


def check_deadline(
    label: str, span: Span, deadline: dt.date, due: dt.datetime, now: dt.datetime
) -> None:
    """Refuse a deadline before the period starts or already past, saying which."""
    if deadline < span.starts_on:
        raise Refused(
            _(
                "Deadline {deadline} is before period {label} starts ({start}): check the "
                "date, or open with --force if that is really meant."
            ).format(deadline=deadline.isoformat(), label=label, start=span.starts_on.isoformat())
        )
    if due < now:
        raise Refused(
            _(
                "Deadline {deadline} is already past: scorers would be overdue at once. "
                "Check the date, or open with --force if that is really meant."
            ).format(deadline=deadline.isoformat())
        )


def create_tasks(session: Session, period: Period, only: set[int] | None = None) -> int:
    """One task per appraisee and scheme role that has a scorer: the direct manager, the
    institution's head, or the appraisee themself. A role with nobody to fill it is left
    out; the pay engine re-weights among the roles present. With `only`, just for those
    employees. A task stored already is not made twice."""
    scheme = session.get_one(Scheme, period.scheme_id)
    # A role that scores nothing (every indicator is data, or no section lists it) gets
    # no task.
    codes = scoring_roles(scheme)
    roles = [(r.position, r.code) for r in sorted(scheme.roles, key=lambda r: r.position)]
    roles = [(position, code) for position, code in roles if code in codes and code in _SCORER]
    if not roles:
        return 0
    # One INSERT … SELECT, so the database makes the rows where they are stored: 200,000
    # tasks built in Python and sent back cost several times the insert itself.
    connection = flushed(session)
    if only is None:
        return int(connection.execute(_insert_tasks(period, roles, None)).rowcount)
    return sum(
        int(connection.execute(_insert_tasks(period, roles, ids)).rowcount) for ids in chunks(only)
    )


# What `create_tasks` writes.
_TASK_COLUMNS = (
    *("period_id", "scorer_id", "appraisee_id", "role_code", "deadline", "state", "cursor"),
)

# Who fills each role: an employee column, from the appraisee's row, or their
# institution's.
_SCORER = {"manager": "manager_id", "head": "head_id", "self": "id"}


def _insert_tasks(
    period: Period, roles: Sequence[tuple[int, str]], only: Sequence[int] | None
) -> Any:
    """The INSERT … SELECT of `create_tasks`: for each role, every active appraisee of the
    period's scope whose scorer is an active person of the group (not the appraisee,
    for a manager or head), unless that very task exists; in appraisee order, then the
    roles' order."""
    tasks = ScoringTask.__table__.c
    appraisee = aliased(Employee, name="appraisee")
    scorer = aliased(Employee, name="scorer")
    selects = []
    for position, code in roles:
        source = (
            Institution.head_id if _SCORER[code] == "head_id" else getattr(appraisee, _SCORER[code])
        )
        same = aliased(ScoringTask, name="same")
        q = (
            select(
                source.label("scorer_id"),
                appraisee.id.label("appraisee_id"),
                literal(code, tasks.role_code.type).label("role_code"),
                literal(position).label("role_position"),
            )
            .join(Institution, Institution.id == appraisee.institution_id)
            .join(scorer, scorer.id == source)
            .where(
                appraisee.group_id == period.group_id,
                appraisee.active.is_(True),
                scorer.group_id == period.group_id,
                scorer.active.is_(True),
                ~exists().where(
                    same.period_id == period.id,
                    same.appraisee_id == appraisee.id,
                    same.role_code == code,
                    same.scorer_id == source,
                ),
            )
        )
        if code != "self":
            q = q.where(source != appraisee.id)
        if period.institution_id is not None:
            q = q.where(appraisee.institution_id == period.institution_id)
        if only is not None:
            q = q.where(appraisee.id.in_(only))
        selects.append(q)
    rows = union_all(*selects).subquery("wanted")
    ordered = select(
        literal(period.id, tasks.period_id.type),
        rows.c.scorer_id,
        rows.c.appraisee_id,
        rows.c.role_code,
        literal(period.deadline, tasks.deadline.type),
        literal(TaskState.PENDING, tasks.state.type),
        literal(0, tasks.cursor.type),
    ).order_by(rows.c.appraisee_id, rows.c.role_position)
    # rowcount of an INSERT is kept only when asked for (SQLAlchemy 2.0).
    return (
        insert(ScoringTask)
        .from_select(_TASK_COLUMNS, ordered)
        .execution_options(preserve_rowcount=True)
    )


def add_missing_tasks(
    session: Session, now: dt.datetime, period: Period, actor: str = "cli"
) -> tuple[int, list[Gap]]:
    """While a period is open for scoring, give its tasks to everyone who cannot get a
    result yet (joined after it opened, or got a manager or head since): the tasks the
    org now calls for. Only for them: a changed manager of someone already scorable gets
    no second task, whose marks would be averaged with the first manager's. Returns the
    tasks added and who still cannot get a result."""
    if period.state != PeriodState.SCORING:
        raise Refused(
            _(
                "Tasks can be added only while period {label} is open for scoring; it is {state}."
            ).format(label=period.label, state=state_name(period.state))
        )
    before = unscorable(session, period)
    added = create_tasks(session, period, {g.employee_id for g in before})
    record(
        session,
        now,
        "period.add_tasks",
        "period",
        period.id,
        actor_label=actor,
        after={"tasks": added, "for": [g.number for g in before]},
    )
    return added, unscorable(session, period)


def close_period(session: Session, now: dt.datetime, period: Period, actor: str = "cli") -> None:
    """Close scoring; refused while an active appraisee lacks a metric value, naming
    who and which indicator (`jixiao import metrics` brings them)."""
    if period.state in TRANSITIONS["close"][0]:
        missing = missing_values(session, period)
        if missing:
            shown = [f"{number} {name}: {ind}" for number, name, ind in missing[:20]]
            if len(missing) > 20:
                shown.append("…")
            raise Refused(
                _(
                    "Period {label} cannot close: {n} metric values are missing ({missing}). "
                    "Import them with `jixiao import metrics {label} FILE`."
                ).format(label=period.label, n=len(missing), missing=_("; ").join(shown))
            )
    _transition(session, now, period, "close", actor)
    period.closed_at = now


def reopen_period(session: Session, now: dt.datetime, period: Period, actor: str = "cli") -> None:
    _transition(session, now, period, "reopen", actor)


def publish_period(
    session: Session,
    now: dt.datetime,
    period: Period,
    actor: str = "cli",
    allow_missing: bool = False,
    window: int | None = None,
    override_quota: str | None = None,
) -> list[Gap]:
    """Publish results; refused while an appraisee has no result, unless HR says so
    explicitly (e.g. a long leave). Returns everyone published without a result, the
    active employees who had no scoring task included: they get none for this period,
    since published results are never recomputed, and the pay sheet lists them without
    an amount.

    Publishing opens the objection window: `window` workdays when given (stored on the
    period), else the period's, its scheme's or the default 5."""
    if window is not None and not 0 <= window <= 60:
        raise Refused(
            _("An objection window of {n} workdays is not possible: give 0 to 60.").format(n=window)
        )
    results = session.scalar(select(func.count(Result.id)).where(Result.period_id == period.id))
    missing = without_result(session, period)
    incomplete = [g for g in missing if g.tasks]
    if not results and incomplete:
        # Computed already, perhaps, but nobody is complete: say who waits for what.
        raise Refused(
            _(
                "Period {label} has no results: none of its {count} appraisees has complete "
                "scores yet ({names}). Once the scores are in, run `jixiao results compute "
                "{label}`."
            ).format(
                label=period.label, count=len(incomplete), names=named(incomplete, 3, reasons=True)
            )
        )
    if not results:
        raise Refused(
            _("Period {label} has no results: run `jixiao results compute {label}` first.").format(
                label=period.label
            )
        )
    if incomplete and not allow_missing:
        raise Refused(
            _(
                "{count} people in {label} have no result: {names}. Once published, their "
                "results can no longer be computed, and the pay sheet lists them without an "
                "amount. Complete their scores and compute again, or publish with "
                "--allow-missing."
            ).format(
                count=len(incomplete), label=period.label, names=named(incomplete, reasons=True)
            )
        )
    # Grade quotas last: refused while one is broken, unless HR overrides it in writing.
    if period.state in TRANSITIONS["publish"][0]:
        quotas.gate(session, now, period, override_quota, actor)
    _transition(session, now, period, "publish", actor)
    period.published_at = now
    if window is not None:
        period.objection_days = window
    period.window_closes_at = window_close(session, period, now)
    return missing


def finalize_period(session: Session, now: dt.datetime, period: Period, actor: str = "cli") -> None:
    """Make a published period final: only once its objection window has closed and no
    appeal is open; refused otherwise, naming what it waits for."""
    if period.state == PeriodState.PUBLISHED:
        closes = period.window_closes_at
        if closes is not None and now <= closes:
            raise Refused(
                _(
                    "Period {label} cannot be final yet: its objection window is open until "
                    "{when}. Finalize after that."
                ).format(
                    label=period.label,
                    when=closes.astimezone(ZoneInfo(period_tz(period))).strftime("%Y-%m-%d %H:%M"),
                )
            )
        waiting = session.execute(
            select(Appeal.id, Appeal.state, Employee.number, Employee.name)
            .select_from(Employee)
            .join(Appeal, Appeal.employee_id == Employee.id)
            .where(Appeal.period_id == period.id, Appeal.state.in_(OPEN_STATES))
            .order_by(Employee.number)
        ).all()
        if waiting:
            raise Refused(_still_open(session, period, waiting))
    _transition(session, now, period, "finalize", actor)
    period.finalized_at = now


def _still_open(session: Session, period: Period, waiting: Sequence[Any]) -> str:
    """Why finalize waits: the appeals to decide, and those whose revision waits for a
    scorer, naming who must score again and how HR closes it without them."""
    undecided = [f"{n} {name}" for _id, state, n, name in waiting if state == AppealState.OPEN]
    rescoring = [row for row in waiting if row[1] == AppealState.REVISING]
    lines = [
        _("Period {label} cannot be final: {count} appeals are still open.").format(
            label=period.label, count=len(waiting)
        )
    ]
    if undecided:
        lines.append(
            _(
                "Waiting for a decision: {names}. Decide them (`jixiao appeals decide {label} "
                'NUMBER --uphold "answer"` or `--revise`).'
            ).format(names=", ".join(undecided), label=period.label)
        )
    for appeal_id, _state, number, name in rescoring:
        scorers = session.execute(
            select(Employee.number, Employee.name)
            .join(ScoringTask, ScoringTask.scorer_id == Employee.id)
            .where(ScoringTask.appeal_id == appeal_id, ScoringTask.state != TaskState.SUBMITTED)
            .order_by(Employee.number)
        ).all()
        lines.append(
            _(
                "Waiting for a re-score: {number} {name}, to be scored again by {scorers}. If "
                "they will not, keep the marks from before the revision: `jixiao appeals "
                'decide {label} {number} --keep-original "reason"`.'
            ).format(
                number=number,
                name=name,
                scorers=", ".join(f"{n} {s}" for n, s in scorers) or "—",
                label=period.label,
            )
        )
    return "\n".join(lines)
