"""`jixiao appeals list|decide` (the objection window and its appeals) and `jixiao adjust`
(a correction after final, paid with a later period)."""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal import adjustments, appeals
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, Failure, now, transaction
from bot.cli.output import emit
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.notify import appeal_notices
from models import (
    Adjustment,
    Appeal,
    AppealState,
    Confirmation,
    Employee,
    Institution,
    Period,
    Result,
)

appeals_app = typer.Typer(help=_("The objection window after publication, and its appeals."))

INDICATOR = typer.Option(None, "--indicator", help=_("Indicator code to re-score (repeatable)."))
NUMBER = typer.Argument(..., help=_("The employee's number."))


def _period(session: Session, label: str, group: str | None) -> Period:
    grp = lifecycle.find_group(session, group)
    return lifecycle.find_period(session, grp, label)


def _employee(session: Session, period: Period, number: str) -> Employee:
    found = session.scalar(
        select(Employee).where(Employee.group_id == period.group_id, Employee.number == number)
    )
    if found is None:
        raise Refused(_("No employee with number {number}.").format(number=number))
    return found


@appeals_app.command(
    "list",
    help=_(
        "The window's progress by institution (confirmed, appealed, silent) and the "
        "appeals still open."
    ),
)
def appeals_list(label: str = PERIOD, group: str = GROUP) -> None:
    with transaction() as s:
        period = _period(s, label, group)
        lines = _progress(s, period)
    emit(lines)


def _progress(s: Session, period: Period) -> list[str]:
    at = now()
    people = s.execute(
        select(Result.employee_id, Institution.name)
        .join(Employee, Employee.id == Result.employee_id)
        .join(Institution, Institution.id == Employee.institution_id)
        .where(Result.period_id == period.id)
    ).all()
    confirmed = set(
        s.scalars(select(Confirmation.employee_id).where(Confirmation.period_id == period.id))
    )
    appealed = set(
        s.scalars(
            select(Appeal.employee_id).where(
                Appeal.period_id == period.id, Appeal.state != AppealState.WITHDRAWN
            )
        )
    )
    total, conf, appl = Counter[str](), Counter[str](), Counter[str]()
    for emp_id, inst in people:
        total[inst] += 1
        conf[inst] += emp_id in confirmed
        appl[inst] += emp_id in appealed and emp_id not in confirmed
    closes = period.window_closes_at
    if closes is None:
        head = _("Period {label}: no objection window (not published).").format(label=period.label)
    else:
        when = closes.astimezone(ZoneInfo(lifecycle.period_tz(period))).strftime("%Y-%m-%d %H:%M")
        head = (
            _("Period {label}: objection window open until {when}.")
            if at <= closes
            else _("Period {label}: objection window closed {when}; silence counted as confirmed.")
        ).format(label=period.label, when=when)
    lines = [head, _("Institution · results · confirmed · appealed · silent")]
    for inst in sorted(total):
        silent = total[inst] - conf[inst] - appl[inst]
        lines.append(f"{inst} · {total[inst]} · {conf[inst]} · {appl[inst]} · {silent}")
    all_silent = sum(total.values()) - sum(conf.values()) - sum(appl.values())
    lines.append(
        _("Total · {n} · {c} · {a} · {s}").format(
            n=sum(total.values()), c=sum(conf.values()), a=sum(appl.values()), s=all_silent
        )
    )
    still = appeals.open_appeals(s, period.id)
    if still:
        lines.append(_("Open appeals:"))
        for a in still:
            lines.append(
                _("  {number} {name}: {state}, due {due}; indicators: {inds}; “{reason}”").format(
                    number=a.employee.number,
                    name=a.employee.name,
                    state=appeals.state_name(a.state),
                    due=a.due_at.astimezone(ZoneInfo(lifecycle.period_tz(period))).date(),
                    inds=", ".join(a.indicators) or "—",
                    reason=appeal_notices.shorten(" ".join(a.reason.split()), 80),
                )
            )
    else:
        lines.append(_("No appeal is open."))
    return lines


@appeals_app.command(
    "decide",
    help=_(
        "Decide an employee's open appeal: --uphold with a written answer, or --revise "
        "to reopen the scoring of the named indicators (default: those the appeal names). "
        "A revision whose scorer never submits again is closed with --keep-original "
        "and a written reason: the marks from before it are submitted again."
    ),
)
def appeals_decide(
    label: str = PERIOD,
    number: str = NUMBER,
    uphold: str = typer.Option(
        None, "--uphold", help=_("Keep the result; this answer goes to the employee.")
    ),
    revise: bool = typer.Option(
        False, "--revise", help=_("Reopen the scoring tasks for their scorers.")
    ),
    keep_original: str = typer.Option(
        None,
        "--keep-original",
        help=_(
            "Close a revision still waiting for its scorer: the marks from before it are "
            "submitted again and the result stands; this reason goes to the employee."
        ),
    ),
    indicator: list[str] | None = INDICATOR,
    group: str = GROUP,
) -> None:
    if [uphold is not None, revise, keep_original is not None].count(True) != 1:
        raise Failure(_('Say one of --uphold "answer", --revise or --keep-original "reason".'))
    at = now()
    actor = appeals.Actor("hr", None, "cli")
    if keep_original is not None:
        if indicator:
            raise Failure(
                _(
                    "--indicator names what --revise reopens; --keep-original closes the "
                    "whole revision: leave --indicator out."
                )
            )
        emit(_keep_original(label, number, keep_original, group, actor))
        return
    with transaction() as s:
        period = _period(s, label, group)
        employee = _employee(s, period, number)
        appeal = appeals.open_appeal(s, period.id, employee.id)
        if appeal is not None and appeal.state == AppealState.REVISING:
            raise Refused(
                _(
                    "The appeal of {number} {name} in {label} was decided already and is being "
                    "re-scored. If its scorer will not submit again, close it with "
                    '--keep-original "reason".'
                ).format(number=employee.number, name=employee.name, label=period.label)
            )
        if appeal is None or appeal.state != AppealState.OPEN:
            raise Refused(
                _("{number} {name} has no appeal waiting for a decision in {label}.").format(
                    number=employee.number, name=employee.name, label=period.label
                )
            )
        result_id = s.scalar(
            select(Result.id).where(
                Result.period_id == period.id, Result.employee_id == employee.id
            )
        )
        if uphold is not None:
            appeals.uphold(s, at, appeal, uphold, actor)
            appeal_notices.decided(s, at, appeal, result_id or 0)
            lines = [
                _("Appeal of {number} {name} upheld; the answer is queued for them.").format(
                    number=employee.number, name=employee.name
                )
            ]
        else:
            tasks = appeals.revise(s, at, appeal, list(indicator or []), actor)
            appeal_notices.tasks_reopened(s, at, tasks)
            appeal_notices.decided(s, at, appeal, result_id or 0)
            lines = [
                _(
                    "Appeal of {number} {name}: {n} scoring tasks reopened for {scorers}. "
                    "The result is recomputed when they submit again."
                ).format(
                    number=employee.number,
                    name=employee.name,
                    n=len(tasks),
                    scorers=", ".join(sorted({t.scorer.name for t in tasks})),
                )
            ]
    emit(lines)


def _keep_original(
    label: str, number: str, reason: str, group: str | None, actor: appeals.Actor
) -> list[str]:
    at = now()
    with transaction() as s:
        period = _period(s, label, group)
        employee = _employee(s, period, number)
        appeal = appeals.open_appeal(s, period.id, employee.id)
        if appeal is None:
            raise Refused(
                _("{number} {name} has no open appeal in {label}.").format(
                    number=employee.number, name=employee.name, label=period.label
                )
            )
        tasks = appeals.keep_original(s, at, appeal, reason, actor)
        result_id = s.scalar(
            select(Result.id).where(
                Result.period_id == period.id, Result.employee_id == employee.id
            )
        )
        appeal_notices.decided(s, at, appeal, result_id or 0)
        after = appeal.after or {}
        scorers = ", ".join(sorted({t.scorer.name for t in tasks}))
        if appeal.state == AppealState.UPHELD:
            line = _(
                "Appeal of {number} {name}: the revision is closed without {scorers}; their "
                "marks from before it are submitted again. The result stands: total {total}, "
                "grade {grade}, performance pay {pay}. The reason is queued for them."
            )
        else:
            line = _(
                "Appeal of {number} {name}: the revision is closed without {scorers}; their "
                "marks from before it are submitted again, the other scorers' new marks "
                "count. New result: total {total}, grade {grade}, performance pay {pay}."
            )
        return [
            line.format(
                number=employee.number,
                name=employee.name,
                scorers=scorers,
                total=after.get("total", "—"),
                grade=after.get("grade", "—"),
                pay=after.get("pay", "—"),
            )
        ]


def adjust(
    label: str = PERIOD,
    number: str = NUMBER,
    amount: str = typer.Option(
        None, "--amount", help=_("Top-up +120.00 or claw-back -50.00, in yuan.")
    ),
    cancel: int = typer.Option(
        None,
        "--cancel",
        help=_("Cancel the adjustment with this id (see jixiao adjustments), before it is paid."),
    ),
    reason: str = typer.Option(..., "--reason", help=_("Why: shown to the employee.")),
    group: str = GROUP,
) -> None:
    if (amount is None) == (cancel is None):
        raise Failure(_("Give either --amount (a new adjustment) or --cancel ID (undo one)."))
    at = now()
    with transaction() as s:
        period = _period(s, label, group)
        employee = _employee(s, period, number)
        if cancel is not None:
            adj = adjustments.cancel(s, at, period, employee, cancel, reason)
            lines = [
                _(
                    "Adjustment #{id} ({amount} for {number} {name}, {label}) is cancelled: "
                    "{into} will not pay it."
                ).format(
                    id=adj.id,
                    amount=adjustments.signed(adj.amount),
                    number=employee.number,
                    name=employee.name,
                    label=period.label,
                    into=adj.into_label,
                )
            ]
        else:
            value = adjustments.parse_amount(amount)
            adj = adjustments.add(s, at, period, employee, value, reason)
            lines = [
                _(
                    "Adjustment #{id} {amount} for {number} {name} ({label}) is paid with {into}."
                ).format(
                    id=adj.id,
                    amount=adjustments.signed(adj.amount),
                    number=employee.number,
                    name=employee.name,
                    label=period.label,
                    into=adj.into_label,
                )
            ]
    emit(lines)


def adjustments_list(
    label: str = PERIOD,
    number: str = typer.Option(None, "--number", help=_("Only this employee's.")),
    group: str = GROUP,
) -> None:
    with transaction() as s:
        period = _period(s, label, group)
        found = adjustments.of_period(s, period, number)
        lines = [_adjustment_line(s, a) for a in found]
        if not lines:
            lines = [_("No adjustments for or paid with {label}.").format(label=period.label)]
    emit(lines)


def _adjustment_line(session: Session, adj: Adjustment) -> str:
    tz = ZoneInfo(lifecycle.period_tz(adj.origin))
    line = _(
        "#{id} {number} {name}: {amount} for {label}, paid with {into}; entered {date} by "
        "{who}: {reason}"
    ).format(
        id=adj.id,
        number=adj.employee.number,
        name=adj.employee.name,
        amount=adjustments.signed(adj.amount),
        label=adj.origin.label,
        into=adj.into_label,
        date=adj.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        who=adj.created_by,
        reason=" ".join(adj.reason.split()),
    )
    if adj.cancelled_at is None:
        return line
    return (
        line
        + " — "
        + _("CANCELLED {date} by {who}: {reason} (not paid)").format(
            date=adj.cancelled_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            who=adj.cancelled_by or "",
            reason=" ".join((adj.cancel_reason or "").split()),
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(appeals_app, name="appeals")
    app.command(
        "adjust",
        help=_(
            "Correct a final period's pay: a top-up or claw-back paid with the next "
            "period, shown in both periods' explanations and on the pay sheet; "
            "--cancel ID undoes one entered by mistake, until it is paid."
        ),
    )(adjust)
    app.command(
        "adjustments",
        help=_(
            "The adjustments for a period or paid with it, with their ids; cancelled ones "
            "are shown as cancelled, with who, when and why."
        ),
    )(adjustments_list)
