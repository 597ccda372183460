"""Publication's objection window (公示期): confirming, appealing (申诉), withdrawing, and
the head's or HR's decision (uphold with an answer, or revise by reopening the scoring
tasks of the named indicators).

Every function re-checks on the server what it is asked: whose result, which window,
who decides. The caller owns the transaction; every change is audited in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.appraisal.periods import add_workdays, end_of_day
from bot.appraisal.results import recompute_one
from bot.appraisal.sections import Counting, indicators_for
from bot.appraisal.values import control_character, visible
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.workdays import default_tz, local_now
from models import (
    OPEN_STATES,
    Appeal,
    AppealState,
    AuditEvent,
    Confirmation,
    Employee,
    Indicator,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    ScoreEntry,
    ScoringTask,
    TaskState,
)

DECISION_DAYS = 5  # workdays the head and HR have to decide an appeal
REASON_MAX = 10_000


def is_open(period: Period, now: dt.datetime) -> bool:
    """Whether confirmations and appeals are taken now."""
    return (
        period.state == PeriodState.PUBLISHED
        and period.window_closes_at is not None
        and now <= period.window_closes_at
    )


def window_closed(period: Period, now: dt.datetime) -> bool:
    return period.window_closes_at is None or now > period.window_closes_at


def open_appeal(session: Session, period_id: int, employee_id: int) -> Appeal | None:
    return session.scalar(
        select(Appeal).where(
            Appeal.period_id == period_id,
            Appeal.employee_id == employee_id,
            Appeal.state.in_(OPEN_STATES),
        )
    )


# Read under every result and explanation shown: built once (cache keys memoized).
_LATEST = (
    select(Appeal)
    .where(Appeal.period_id == bindparam("p_period"), Appeal.employee_id == bindparam("p_emp"))
    .order_by(Appeal.id.desc())
    .limit(1)
)
_CONFIRMED = select(Confirmation.id).where(
    Confirmation.period_id == bindparam("p_period"),
    Confirmation.employee_id == bindparam("p_emp"),
)


def latest_appeal(session: Session, period_id: int, employee_id: int) -> Appeal | None:
    return session.scalar(_LATEST, {"p_period": period_id, "p_emp": employee_id})


def confirmed(session: Session, period_id: int, employee_id: int) -> bool:
    return session.scalar(_CONFIRMED, {"p_period": period_id, "p_emp": employee_id}) is not None


def _own_result(session: Session, now: dt.datetime, employee: Employee, period: Period) -> Result:
    """The employee's result in a period whose window is open, or refused."""
    result = session.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )
    if result is None:
        raise Refused(_("You have no result for {label}.").format(label=period.label))
    if not is_open(period, now):
        raise Refused(
            _(
                "The objection window for {label} is closed: results can no longer be "
                "confirmed or appealed."
            ).format(label=period.label)
        )
    return result


def confirm(session: Session, now: dt.datetime, employee: Employee, period: Period) -> bool:
    """Confirm one's own result; False if it was confirmed already (a second tap)."""
    _own_result(session, now, employee, period)
    if open_appeal(session, period.id, employee.id) is not None:
        raise Refused(
            _("Your appeal for {label} is open: withdraw it first to confirm.").format(
                label=period.label
            )
        )
    if confirmed(session, period.id, employee.id):
        return False
    try:
        with session.begin_nested():
            session.add(Confirmation(period_id=period.id, employee_id=employee.id, at=now))
    except IntegrityError:
        return False  # the same tap in another request won
    record(
        session,
        now,
        "result.confirm",
        "period",
        period.id,
        actor_id=employee.id,
        after={"employee": employee.number},
    )
    return True


def clean_reason(text: str) -> str:
    """An appeal's reason as stored: refused when empty or too long. Kept as typed
    (markup, emoji): every screen escapes it when it shows it."""
    reason = text.strip()
    if not visible(reason):
        raise Refused(_("Please write why you appeal: the reason cannot be empty."))
    if (code := control_character(reason)) is not None:
        raise Refused(
            _(
                "The reason contains a control character ({code}) that cannot be stored: "
                "please type it again without it."
            ).format(code=code)
        )
    if len(reason) > REASON_MAX:
        raise Refused(
            _("The reason is {n} characters long; please keep it within {max}.").format(
                n=len(reason), max=REASON_MAX
            )
        )
    return reason


def indicator_codes(session: Session, period: Period, codes: list[str]) -> list[str]:
    """The named indicators of the period's scheme, in the scheme's order; an unknown
    code is refused, naming it and the codes there are."""
    known = list(
        session.scalars(
            select(Indicator.code)
            .where(Indicator.scheme_id == period.scheme_id)
            .order_by(Indicator.position)
        )
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Refused(
            _("No indicator {codes} in {label}; its indicators are: {known}.").format(
                codes=", ".join(unknown), label=period.label, known=", ".join(known)
            )
        )
    return [c for c in known if c in codes]


def decision_due(now: dt.datetime, tz: str | None = None) -> dt.datetime:
    zone = tz or default_tz()
    return end_of_day(add_workdays(local_now(now, zone).date(), DECISION_DAYS), zone)


def check_may_appeal(
    session: Session, now: dt.datetime, employee: Employee, period: Period
) -> None:
    """Refused unless the employee may appeal their result in `period` now."""
    _own_result(session, now, employee, period)
    if confirmed(session, period.id, employee.id):
        raise Refused(
            _("You confirmed your result for {label}: it can no longer be appealed.").format(
                label=period.label
            )
        )
    if open_appeal(session, period.id, employee.id) is not None:
        raise Refused(_already_open(period))


def file_appeal(
    session: Session,
    now: dt.datetime,
    employee: Employee,
    period: Period,
    reason: str,
    codes: list[str] | None = None,
) -> Appeal:
    """Appeal one's own result, inside the window; one open appeal per person and period
    (the database enforces it, so two first appeals racing leave one)."""
    text = clean_reason(reason)
    check_may_appeal(session, now, employee, period)
    inds = indicator_codes(session, period, codes or [])
    appeal = Appeal(
        period_id=period.id,
        employee_id=employee.id,
        state=AppealState.OPEN,
        reason=text,
        indicators=inds,
        created_at=now,
        due_at=decision_due(now, employee.institution.timezone),
        decided_as="",
        answer="",
    )
    try:
        with session.begin_nested():
            session.add(appeal)
    except IntegrityError:
        raise Refused(_already_open(period)) from None
    record(
        session,
        now,
        "appeal.file",
        "appeal",
        appeal.id,
        actor_id=employee.id,
        after={"period": period.label, "indicators": inds, "chars": len(text)},
    )
    return appeal


def _already_open(period: Period) -> str:
    return _("You already have an open appeal for {label}.").format(label=period.label)


def withdraw(session: Session, now: dt.datetime, employee: Employee, appeal_id: int) -> Appeal:
    """Withdraw one's own appeal while it waits for a decision."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.employee_id != employee.id:
        raise Refused(_("Sorry, that is not available to you."))
    if appeal.state != AppealState.OPEN:
        raise Refused(
            _("This appeal is {state}: it can no longer be withdrawn.").format(
                state=state_name(appeal.state)
            )
        )
    appeal.state = AppealState.WITHDRAWN
    appeal.closed_at = now
    record(session, now, "appeal.withdraw", "appeal", appeal.id, actor_id=employee.id)
    return appeal


def state_name(state: AppealState) -> str:
    return {
        AppealState.OPEN: _("waiting for a decision"),
        AppealState.REVISING: _("being re-scored"),
        AppealState.UPHELD: _("upheld"),
        AppealState.REVISED: _("revised"),
        AppealState.WITHDRAWN: _("withdrawn"),
    }[state]


def role_name(role: str) -> str:
    return {"hr": _("HR"), "head": _("the institution's head")}.get(role, role)


# ---- deciding ---------------------------------------------------------------------


def decider_role(session: Session, employee: Employee, appeal: Appeal) -> str | None:
    """ "head" or "hr" when `employee` may decide `appeal`: the head of the appellant's
    institution, or HR for the group or that institution. Never the appellant."""
    if employee.id == appeal.employee_id:
        return None
    inst_id = appeal.employee.institution_id
    inst = session.get_one(Institution, inst_id)
    granted = session.scalar(
        select(RoleGrant.role)
        .where(
            RoleGrant.employee_id == employee.id,
            RoleGrant.role.in_((Role.HEAD, Role.HR)),
            or_(RoleGrant.institution_id == inst_id, RoleGrant.institution_id.is_(None)),
        )
        .order_by(RoleGrant.role)
        .limit(1)
    )
    if inst.head_id == employee.id or granted == Role.HEAD:
        return "head"
    if granted == Role.HR:
        return "hr"
    return None


def _decidable(appeal: Appeal) -> None:
    if appeal.state != AppealState.OPEN:
        raise Refused(
            _("This appeal is {state}: it has been decided or withdrawn.").format(
                state=state_name(appeal.state)
            )
        )
    if appeal.period.state != PeriodState.PUBLISHED:
        raise Refused(_("Period {label} is no longer published.").format(label=appeal.period.label))


@dataclass
class Actor:
    """Who decides: an employee in chat (with their role), or HR at the command line."""

    role: str  # "hr" or "head"
    employee_id: int | None = None
    label: str = ""


def uphold(session: Session, now: dt.datetime, appeal: Appeal, answer: str, actor: Actor) -> Appeal:
    """The result stands; the employee gets the written answer."""
    _decidable(appeal)
    text = answer.strip()
    if not visible(text):
        raise Refused(_("Upholding needs a written answer for the employee."))
    if (code := control_character(text)) is not None:
        raise Refused(
            _(
                "The answer contains a control character ({code}) that cannot be stored: "
                "please type it again without it."
            ).format(code=code)
        )
    if len(text) > REASON_MAX:
        raise Refused(
            _("The answer is {n} characters long; please keep it within {max}.").format(
                n=len(text), max=REASON_MAX
            )
        )
    appeal.state = AppealState.UPHELD
    appeal.answer = text
    _decided(session, now, appeal, actor, "appeal.uphold", {"answer_chars": len(text)})
    appeal.closed_at = now
    return appeal


def _decided(
    session: Session,
    now: dt.datetime,
    appeal: Appeal,
    actor: Actor,
    action: str,
    after: dict[str, Any],
) -> None:
    appeal.decided_at = now
    appeal.decided_by = actor.employee_id
    appeal.decided_as = actor.role
    record(
        session,
        now,
        action,
        "appeal",
        appeal.id,
        actor_id=actor.employee_id,
        actor_label=actor.label,
        before={"state": AppealState.OPEN.value},
        after={"state": appeal.state.value, **after},
    )


def revise(
    session: Session,
    now: dt.datetime,
    appeal: Appeal,
    codes: list[str] | None,
    actor: Actor,
    answer: str = "",
) -> list[ScoringTask]:
    """Reopen the submitted scoring tasks that scored the named indicators (the appeal's
    own when none are named; every task of the appellant when it named none) for their
    scorers, through the normal form. The result is recomputed when they resubmit."""
    _decidable(appeal)
    wanted = indicator_codes(session, appeal.period, codes or []) or list(appeal.indicators)
    tasks = _counting_tasks(session, appeal, wanted)
    if not tasks:
        raise Refused(
            _(
                "No submitted scoring task of {name} has marks that count for {codes} (a "
                "scorer whose weight there is 0 does not count): nothing to reopen."
            ).format(name=appeal.employee.name, codes=", ".join(wanted) or _("any indicator"))
        )
    for task in tasks:
        # The form opens at the first named indicator. Its cursor counts the indicators
        # this task's role shows (its sections', no metric), not the scheme's.
        shown = indicators_for(appeal.period.scheme, task.role_code)
        task.state = TaskState.DRAFT
        task.appeal_id = appeal.id
        task.cursor = next((k for k, ind in enumerate(shown) if ind.code in wanted), 0)
        task.updated_at = now
    appeal.state = AppealState.REVISING
    appeal.answer = answer.strip()
    _decided(
        session,
        now,
        appeal,
        actor,
        "appeal.revise",
        {"indicators": wanted, "tasks": [t.id for t in tasks]},
    )
    for task in tasks:
        record(
            session,
            now,
            "task.reopen",
            "scoring_task",
            task.id,
            actor_id=actor.employee_id,
            actor_label=actor.label,
            before={"state": TaskState.SUBMITTED.value},
            after={"state": TaskState.DRAFT.value, "appeal": appeal.id},
        )
    return tasks


def _counting_tasks(session: Session, appeal: Appeal, wanted: list[str]) -> list[ScoringTask]:
    """The appellant's submitted tasks whose marks count for a `wanted` indicator they
    scored (for any indicator of the scheme when none is wanted): by the role's weight
    within the indicator's section, as the pay engine counts it, so a self-assessment of
    weight 0 is not re-scored while a role weighted only in a section is."""
    scheme_id = appeal.period.scheme_id
    count = Counting.load(session, scheme_id)
    inds = session.execute(
        select(Indicator.id, Indicator.code, Indicator.kind, Indicator.section).where(
            Indicator.scheme_id == scheme_id
        )
    ).tuples()
    counts = {
        ind_id: (code, count.roles_for(kind, section)) for ind_id, code, kind, section in inds
    }
    mine = select(ScoringTask).where(
        ScoringTask.period_id == appeal.period_id,
        ScoringTask.appraisee_id == appeal.employee_id,
        ScoringTask.state == TaskState.SUBMITTED,
    )
    if not wanted:
        anywhere = frozenset().union(*(roles for _c, roles in counts.values()))
        return list(
            session.scalars(
                mine.where(ScoringTask.role_code.in_(anywhere)).order_by(ScoringTask.id)
            )
        )
    # A person has one to three tasks: which of them to reopen is decided here, per mark.
    reopen = {
        task_id
        for task_id, role, ind_id in session.execute(
            select(ScoringTask.id, ScoringTask.role_code, ScoreEntry.indicator_id)
            .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
            .where(ScoringTask.id.in_(mine.with_only_columns(ScoringTask.id)))
        ).tuples()
        if ind_id in counts and counts[ind_id][0] in wanted and role in counts[ind_id][1]
    }
    return list(
        session.scalars(
            select(ScoringTask).where(ScoringTask.id.in_(reopen)).order_by(ScoringTask.id)
        )
    )


def reopened_open(session: Session, task: ScoringTask) -> bool:
    """Whether a task of a published period was reopened by an appeal still re-scoring."""
    if task.appeal_id is None:
        return False
    state = session.scalar(select(Appeal.state).where(Appeal.id == task.appeal_id))
    return state == AppealState.REVISING


def still_reopened(session: Session, appeal_id: int) -> int:
    """Tasks reopened for the appeal that their scorers have not resubmitted."""
    return (
        session.scalar(
            select(func.count(ScoringTask.id)).where(
                ScoringTask.appeal_id == appeal_id, ScoringTask.state != TaskState.SUBMITTED
            )
        )
        or 0
    )


def open_appeals(session: Session, period_id: int) -> list[Appeal]:
    return list(
        session.scalars(
            select(Appeal)
            .join(Employee, Employee.id == Appeal.employee_id)
            .where(Appeal.period_id == period_id, Appeal.state.in_(OPEN_STATES))
            .order_by(Employee.number)
        )
    )


def finish_revision(session: Session, now: dt.datetime, task: ScoringTask) -> Appeal | None:
    """After a reopened task is submitted again: once every task reopened for its appeal
    is, recompute that one employee's result and close the appeal as revised, with the
    figures before and after. None while other reopened tasks wait."""
    if task.appeal_id is None:
        return None
    appeal = session.get_one(Appeal, task.appeal_id)
    if appeal.state != AppealState.REVISING or still_reopened(session, appeal.id):
        return None
    before, after = recompute_one(session, now, appeal.period, appeal.employee_id, "appeal")
    appeal.before = before
    appeal.after = after
    appeal.state = AppealState.REVISED
    appeal.closed_at = now
    record(
        session,
        now,
        "appeal.revised",
        "appeal",
        appeal.id,
        before=before,
        after=after,
    )
    return appeal


# ---- closing a revision without the scorer -----------------------------------------


def keep_original(
    session: Session, now: dt.datetime, appeal: Appeal, reason: str, actor: Actor
) -> list[ScoringTask]:
    """Close a revision whose scorers never resubmitted: each task still reopened for it
    gets back the marks it had when it was reopened (read from the audit chain: every
    change to a reopened task is a `score.edit` event holding the value before) and is
    submitted again; the result is recomputed from the stored marks and the appeal is
    closed as upheld with HR's written reason. Finalizing is refused while a revision is
    open, so without this a scorer who never answers would block the period's pay.

    A reopened task that its scorer did resubmit keeps its new marks: then the result
    may change, and the appeal closes as revised, with before and after."""
    if appeal.state == AppealState.OPEN:
        raise Refused(
            _(
                "This appeal is {state}, not being re-scored: there is no revision to close. "
                "Decide it with --uphold or --revise."
            ).format(state=state_name(appeal.state))
        )
    if appeal.state != AppealState.REVISING:
        raise Refused(
            _(
                "This appeal is {state} and closed: there is no revision to close, and no "
                "original marks to keep."
            ).format(state=state_name(appeal.state))
        )
    if appeal.period.state != PeriodState.PUBLISHED:
        raise Refused(_("Period {label} is no longer published.").format(label=appeal.period.label))
    text = _closing_reason(reason)
    waiting = list(
        session.scalars(
            select(ScoringTask)
            .where(ScoringTask.appeal_id == appeal.id, ScoringTask.state != TaskState.SUBMITTED)
            .order_by(ScoringTask.id)
            # Locked: a scorer submitting at this moment waits, then finds it submitted
            # (its submit is guarded on the state), so the two never both land.
            .with_for_update()
        )
    )
    if not waiting:
        raise Refused(
            _(
                "Every scoring task reopened for this appeal was submitted again: there are "
                "no original marks to keep."
            )
        )
    restored: dict[int, list[str]] = {}
    for task in waiting:
        restored[task.id] = _restore_marks(session, now, task, actor)
        task.state = TaskState.SUBMITTED
        task.updated_at = now
        # submitted_at stays the scorer's own submission: these are their marks.
    session.flush()
    for task in waiting:
        record(
            session,
            now,
            "task.keep_original",
            "scoring_task",
            task.id,
            actor_id=actor.employee_id,
            actor_label=actor.label,
            before={"state": TaskState.DRAFT.value, "appeal": appeal.id},
            after={"state": TaskState.SUBMITTED.value, "restored": restored[task.id]},
        )
    before, after = recompute_one(session, now, appeal.period, appeal.employee_id, "appeal")
    unchanged = all(before.get(k) == after.get(k) for k in ("total", "grade", "pay"))
    appeal.before = before
    appeal.after = after
    appeal.state = AppealState.UPHELD if unchanged else AppealState.REVISED
    appeal.answer = text
    appeal.decided_at = now
    appeal.decided_by = actor.employee_id
    appeal.decided_as = actor.role
    appeal.closed_at = now
    record(
        session,
        now,
        "appeal.keep_original",
        "appeal",
        appeal.id,
        actor_id=actor.employee_id,
        actor_label=actor.label,
        before={"state": AppealState.REVISING.value, **before},
        after={
            "state": appeal.state.value,
            "tasks": [t.id for t in waiting],
            "reason_chars": len(text),
            **after,
        },
    )
    return waiting


def _closing_reason(reason: str) -> str:
    text = reason.strip()
    if not visible(text):
        raise Refused(
            _("Closing a revision without the scorer needs a written reason for the employee.")
        )
    if (code := control_character(text)) is not None:
        raise Refused(
            _(
                "The reason contains a control character ({code}) that cannot be stored: "
                "please type it again without it."
            ).format(code=code)
        )
    if len(text) > REASON_MAX:
        raise Refused(
            _("The reason is {n} characters long; please keep it within {max}.").format(
                n=len(text), max=REASON_MAX
            )
        )
    return text


def _restore_marks(
    session: Session, now: dt.datetime, task: ScoringTask, actor: Actor
) -> list[str]:
    """Put back the marks `task` had when its latest reopening happened; returns the
    indicator codes changed back. An answer added since (an optional item) is removed."""
    reopened = session.scalar(
        select(func.max(AuditEvent.id)).where(
            AuditEvent.action == "task.reopen",
            AuditEvent.entity == "scoring_task",
            AuditEvent.entity_id == task.id,
        )
    )
    if reopened is None:
        raise Refused(
            _(
                "The reopening of task {id} is not in the audit log: its marks cannot be restored."
            ).format(id=task.id)
        )
    entries = {e.id: e for e in task.entries}
    first: dict[int, dict[str, Any] | None] = {}
    for entry_id, was in session.execute(
        select(AuditEvent.entity_id, AuditEvent.before)
        .where(
            AuditEvent.action == "score.edit",
            AuditEvent.entity == "score_entry",
            AuditEvent.entity_id.in_(list(entries)),
            AuditEvent.id > reopened,
        )
        .order_by(AuditEvent.id)
    ).tuples():
        if entry_id is not None and entry_id not in first:
            first[entry_id] = was if isinstance(was, dict) else None
    changed: list[str] = []
    for entry_id, was in sorted(first.items()):
        entry = entries[entry_id]
        now_is = {"value": str(entry.value), "comment": entry.comment}
        code = entry.indicator.code
        if was is None:
            session.delete(entry)
            session.flush()
            after: dict[str, Any] | None = None
        elif was == now_is:
            continue  # changed and changed back
        else:
            entry.value = Decimal(str(was["value"]))
            entry.comment = str(was.get("comment", ""))
            entry.entered_at = now
            after = {"value": str(entry.value), "comment": entry.comment}
        changed.append(code)
        record(
            session,
            now,
            "score.edit",
            "score_entry",
            entry_id,
            actor_id=actor.employee_id,
            actor_label=actor.label,
            before=now_is,
            after={
                **(after or {"value": None, "comment": None}),
                "indicator": code,
                "task": task.id,
            },
            note="keep-original",
        )
    return changed
