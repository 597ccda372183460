"""What the appeal flow pushes through the outbox: a new appeal to the head and HR, a
reopened task to its scorer, the decision (and a revision's before/after) to the
employee, and reminders of decisions due or overdue, escalated like scoring tasks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.appraisal.appeals import role_name
from bot.infra.i18n import _, money
from bot.infra.message import Button, Reply
from bot.infra.workdays import is_quiet, is_workday, local_now, workdays_between
from bot.notify.reminders import MORNING, push
from models import (
    Appeal,
    AppealState,
    Employee,
    Institution,
    Period,
    PeriodState,
    Role,
    RoleGrant,
    ScoringTask,
)

SHOWN = 300  # characters of an appeal's reason in a push; the full text is in the chat
ESCALATE_AFTER = 2  # workdays overdue before HR for the whole group hears of it


def shorten(text: str, limit: int = SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def deciders(session: Session, appellant: Employee) -> dict[int, Employee]:
    """The appellant's institution's head and the HR who administer it."""
    inst = session.get_one(Institution, appellant.institution_id)
    ids = set(
        session.scalars(
            select(RoleGrant.employee_id).where(
                or_(
                    RoleGrant.role == Role.HR,
                    RoleGrant.role == Role.HEAD,
                ),
                or_(
                    RoleGrant.institution_id == inst.id,
                    (RoleGrant.institution_id.is_(None)) & (RoleGrant.role == Role.HR),
                ),
            )
        )
    )
    if inst.head_id:
        ids.add(inst.head_id)
    ids.discard(appellant.id)
    return {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(ids)))}


def appeal_filed(session: Session, now: dt.datetime, appeal: Appeal) -> int:
    who = appeal.employee

    def render(e: Employee) -> Reply:
        text = _(
            "{name} ({number}) appeals their result for {label}: “{reason}”. "
            "Please decide by {due}."
        ).format(
            name=who.name,
            number=who.number,
            label=appeal.period.label,
            reason=shorten(appeal.reason),
            due=local_now(appeal.due_at, who.institution.timezone).date(),
        )
        return Reply(text, [[Button(_("Decide"), f"ap:{appeal.id}")]])

    return push(session, now, deciders(session, who), f"appeal:{appeal.id}", render)


def tasks_reopened(session: Session, now: dt.datetime, tasks: list[ScoringTask]) -> int:
    queued = 0
    for task in tasks:
        scorer = session.get_one(Employee, task.scorer_id)

        def render(e: Employee, task: ScoringTask = task) -> Reply:
            text = _(
                "After an appeal, the scoring of {name} for {label} is reopened for you: "
                "please review it and submit again."
            ).format(name=task.appraisee.name, label=task.period.label)
            return Reply(text, [[Button(_("Re-score"), f"task:{task.id}")]])

        queued += push(
            session, now, {scorer.id: scorer}, f"reopened:{task.appeal_id}:{task.id}", render
        )
    return queued


def decided(session: Session, now: dt.datetime, appeal: Appeal, result_id: int) -> int:
    """Tell the employee the decision: the answer, or the revision's before and after."""

    def render(e: Employee) -> Reply:
        label = appeal.period.label
        if appeal.state == AppealState.UPHELD and appeal.before is not None:
            # A revision closed without the scorer (`appeals decide --keep-original`).
            text = _(
                "The re-scoring of your appeal for {label} was closed by {role} without new "
                "scores: your result stands as it was. Reason: “{answer}”"
            ).format(label=label, role=role_name(appeal.decided_as), answer=appeal.answer)
        elif appeal.state == AppealState.UPHELD:
            text = _(
                "Your appeal for {label} was reviewed by {role}: the result stands. "
                "Answer: “{answer}”"
            ).format(label=label, role=role_name(appeal.decided_as), answer=appeal.answer)
        elif appeal.state == AppealState.REVISING:
            text = _(
                "Your appeal for {label} was accepted by {role}: the scores it concerns "
                "are being reviewed. You will be told the new result."
            ).format(label=label, role=role_name(appeal.decided_as))
        else:
            text = revised_text(appeal)
        return Reply(text, [[Button(_("Why this pay?"), f"why:{result_id}")]])

    return push(
        session,
        now,
        {appeal.employee_id: appeal.employee},
        f"decided:{appeal.id}:{appeal.state.value}",
        render,
    )


def revised_text(appeal: Appeal) -> str:
    before, after = appeal.before or {}, appeal.after or {}
    if not before or not after:
        return _("Your result for {label} was recomputed after your appeal.").format(
            label=appeal.period.label
        )
    return _(
        "Your result for {label} was revised after your appeal: total {old_total} → "
        "{new_total}, grade {old_grade} → {new_grade}, performance pay {old_pay} → {new_pay}."
    ).format(
        label=appeal.period.label,
        old_total=before["total"],
        new_total=after["total"],
        old_grade=before["grade"],
        new_grade=after["grade"],
        old_pay=money(Decimal(before["pay"])),
        new_pay=money(Decimal(after["pay"])),
    )


def queue_appeal_reminders(session: Session, group_id: int, now: dt.datetime) -> int:
    """Each workday morning, remind the head and HR of appeals due within a workday or
    overdue; after two workdays overdue, group-wide HR hears of it too."""
    rows = session.scalars(
        select(Appeal)
        .join(Period, Period.id == Appeal.period_id)
        .where(
            Period.group_id == group_id,
            Period.state == PeriodState.PUBLISHED,
            Appeal.state == AppealState.OPEN,
        )
        .order_by(Appeal.id)
    ).all()
    queued = 0
    for appeal in rows:
        tz = appeal.employee.institution.timezone
        local = local_now(now, tz)
        today = local.date()
        if not is_workday(today) or is_quiet(local) or local.time() < MORNING:
            continue
        gap = workdays_between(today, local_now(appeal.due_at, tz).date())
        if gap > 1:
            continue
        people = deciders(session, appeal.employee)
        if gap <= -ESCALATE_AFTER:
            people.update(
                (e.id, e)
                for e in session.scalars(
                    select(Employee)
                    .join(RoleGrant, RoleGrant.employee_id == Employee.id)
                    .where(
                        Employee.group_id == group_id,
                        RoleGrant.role == Role.HR,
                        RoleGrant.institution_id.is_(None),
                    )
                )
            )

        def render(e: Employee, appeal: Appeal = appeal, gap: int = gap) -> Reply:
            who = appeal.employee
            if gap >= 0:
                text = _("The appeal of {name} ({number}) for {label} is due {due}.")
            else:
                text = _("The appeal of {name} ({number}) for {label} was due {due}: overdue.")
            due = local_now(appeal.due_at, who.institution.timezone).date()
            return Reply(
                text.format(name=who.name, number=who.number, label=appeal.period.label, due=due),
                [[Button(_("Decide"), f"ap:{appeal.id}")]],
            )

        queued += push(session, now, people, f"appeal-due:{appeal.id}:{today}", render)
    return queued
