"""Corrections after a period is final (调整: 补发 / 扣回): a final period never changes,
so a correction is a top-up or claw-back line paid with a later period, linked to the
one it corrects, and shown in both periods' explanations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.appraisal.periods import parse_label, period_tz
from bot.importing.cells import BadCell, decimal
from bot.infra.errors import Refused
from bot.infra.i18n import _, money
from models import Adjustment, Employee, Period, PeriodKind, PeriodState, Result

CENT = Decimal("0.01")
LIMIT = Decimal("1000000")  # a correction this large is a typo, not a correction
LOOKAHEAD = 36  # periods after the origin searched for one not yet final


def next_label(label: str) -> str:
    """The period after `label` of the same kind: 2026-12 → 2027-01, 2026-Q4 → 2027-Q1."""
    span = parse_label(label)
    after = span.ends_on + dt.timedelta(days=1)
    if span.kind == PeriodKind.MONTHLY:
        return f"{after.year}-{after.month:02d}"
    if span.kind == PeriodKind.QUARTERLY:
        return f"{after.year}-Q{(after.month - 1) // 3 + 1}"
    return str(after.year)


def parse_amount(text: str) -> Decimal:
    """+120.00, -50, −50, ¥120, ＋１２０: exact, to the fen, not zero."""
    t = text.strip().replace("−", "-").replace("＋", "+").replace("－", "-")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-").strip()
    try:
        value = decimal(t, money=True) * sign
    except BadCell:
        raise Refused(
            _("Amount {value!r} is not a number like +120.00 or -50.").format(value=text)
        ) from None
    if value.is_zero():
        raise Refused(_("An adjustment of zero changes nothing."))
    if value != value.quantize(CENT):
        raise Refused(_("Amount {value!r} has more than two decimal places.").format(value=text))
    if abs(value) >= LIMIT:
        raise Refused(_("Amount {value!r} is too large for a correction.").format(value=text))
    return value.quantize(CENT)


def add(
    session: Session,
    now: dt.datetime,
    origin: Period,
    employee: Employee,
    amount: Decimal,
    reason: str,
    actor: str = "cli",
) -> Adjustment:
    """Record a correction of a final period, carried into the first later period of the
    same kind and scope that is not final yet."""
    if origin.state != PeriodState.FINAL:
        raise Refused(
            _(
                "Period {label} is not final: correct it within the period (appeals, or "
                "recompute before publication); adjustments are for final periods."
            ).format(label=origin.label)
        )
    text = reason.strip()
    if not text:
        raise Refused(_("An adjustment needs a reason."))
    has_result = session.scalar(
        select(Result.id).where(Result.period_id == origin.id, Result.employee_id == employee.id)
    )
    if has_result is None:
        raise Refused(
            _("{number} {name} has no result in {label}.").format(
                number=employee.number, name=employee.name, label=origin.label
            )
        )
    label = origin.label
    for _n in range(LOOKAHEAD):
        label = next_label(label)
        later = session.scalar(
            select(Period.state).where(
                Period.group_id == origin.group_id,
                Period.scope == origin.scope,
                Period.label == label,
            )
        )
        if later != PeriodState.FINAL:
            break
    adjustment = Adjustment(
        employee_id=employee.id,
        origin_id=origin.id,
        into_label=label,
        amount=amount,
        reason=text,
        created_at=now,
        created_by=actor,
    )
    session.add(adjustment)
    session.flush()
    record(
        session,
        now,
        "adjustment.add",
        "adjustment",
        adjustment.id,
        actor_label=actor,
        after={
            "employee": employee.number,
            "origin": origin.label,
            "into": label,
            "amount": str(amount),
        },
        note=text[:200],
    )
    return adjustment


def into(session: Session, period: Period) -> dict[int, list[tuple[Adjustment, str]]]:
    """The adjustments paid with `period`, by employee, each with its origin's label;
    cancelled ones are paid with nothing, so they are left out."""
    found: dict[int, list[tuple[Adjustment, str]]] = defaultdict(list)
    for adj, origin_label in session.execute(
        _INTO, {"p_label": period.label, "p_group": period.group_id, "p_scope": period.scope}
    ).tuples():
        found[adj.employee_id].append((adj, origin_label))
    return found


def paying_period(session: Session, adjustment: Adjustment) -> Period | None:
    """The period whose pay sheet carries `adjustment` (None while it is not opened yet)."""
    origin = adjustment.origin
    return session.scalar(
        select(Period).where(
            Period.group_id == origin.group_id,
            Period.scope == origin.scope,
            Period.label == adjustment.into_label,
        )
    )


def cancel(
    session: Session,
    now: dt.datetime,
    origin: Period,
    employee: Employee,
    adjustment_id: int,
    reason: str,
    actor: str = "cli",
) -> Adjustment:
    """Cancel an adjustment entered by mistake, before it is paid: it stays in the history
    with who, when and why, and is left off every pay sheet and explanation. Once the
    period that pays it is final, payroll has paid it: only a counter-adjustment undoes it."""
    text = reason.strip()
    if not text:
        raise Refused(_("Cancelling an adjustment needs a reason."))
    # Locked: two cancels at once, or a cancel beside finalizing, cannot both pass.
    adjustment = session.scalar(
        select(Adjustment).where(Adjustment.id == adjustment_id).with_for_update()
    )
    if (
        adjustment is None
        or adjustment.employee_id != employee.id
        or adjustment.origin_id != origin.id
    ):
        raise Refused(
            _("{number} {name} has no adjustment #{id} for {label}.").format(
                number=employee.number, name=employee.name, id=adjustment_id, label=origin.label
            )
        )
    if adjustment.cancelled_at is not None:
        raise Refused(
            _("Adjustment #{id} was already cancelled on {date} by {who}: {reason}").format(
                id=adjustment.id,
                date=adjustment.cancelled_at.astimezone(ZoneInfo(period_tz(origin))).date(),
                who=adjustment.cancelled_by or "",
                reason=adjustment.cancel_reason or "",
            )
        )
    paying = paying_period(session, adjustment)
    if paying is not None:
        session.refresh(paying, with_for_update=True)
        if paying.state == PeriodState.FINAL:
            raise Refused(
                _(
                    "Adjustment #{id} was paid with {into}, which is final: it cannot be "
                    "cancelled. Enter a counter-adjustment instead (jixiao adjust {label} "
                    '{number} --amount {counter} --reason "…").'
                ).format(
                    id=adjustment.id,
                    into=adjustment.into_label,
                    label=origin.label,
                    number=employee.number,
                    counter=("+" if adjustment.amount < 0 else "-") + str(abs(adjustment.amount)),
                )
            )
    adjustment.cancelled_at = now
    adjustment.cancelled_by = actor
    adjustment.cancel_reason = text
    session.flush()
    record(
        session,
        now,
        "adjustment.cancel",
        "adjustment",
        adjustment.id,
        actor_label=actor,
        before={
            "employee": employee.number,
            "origin": origin.label,
            "into": adjustment.into_label,
            "amount": str(adjustment.amount),
        },
        after={"employee": employee.number, "cancelled": True},
        note=text[:200],
    )
    return adjustment


def of_period(session: Session, period: Period, number: str | None = None) -> list[Adjustment]:
    """Every adjustment for `period` or paid with it (cancelled ones too: the history), in
    the order they were entered; only one person's with `number`."""
    query = (
        select(Adjustment)
        .join(Period, Period.id == Adjustment.origin_id)
        .join(Employee, Employee.id == Adjustment.employee_id)
        .where(
            Period.group_id == period.group_id,
            Period.scope == period.scope,
            (Adjustment.origin_id == period.id) | (Adjustment.into_label == period.label),
        )
        .order_by(Adjustment.id)
    )
    if number is not None:
        query = query.where(Employee.number == number)
    return list(session.scalars(query))


def signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "−") + money(abs(amount))


_CORRECTING = (
    select(Adjustment)
    .where(
        Adjustment.origin_id == bindparam("p_origin"),
        Adjustment.employee_id == bindparam("p_emp"),
        Adjustment.cancelled_at.is_(None),
    )
    .order_by(Adjustment.id)
)
_INTO = (
    select(Adjustment, Period.label)
    .join(Period, Period.id == Adjustment.origin_id)
    .where(
        Adjustment.into_label == bindparam("p_label"),
        Period.group_id == bindparam("p_group"),
        Period.scope == bindparam("p_scope"),
        Adjustment.cancelled_at.is_(None),
    )
    .order_by(Adjustment.id)
)


def adjustment_lines(session: Session, result: Result) -> list[str]:
    """What an explanation says of corrections: those paid with this period, and those
    that correct it (paid with a later one)."""
    period = result.period
    lines = []
    for adj, origin in into(session, period).get(result.employee_id, []):
        lines.append(
            _("Includes {amount} correction for {label}: {reason}").format(
                amount=signed(adj.amount), label=origin, reason=adj.reason
            )
        )
    for adj in session.scalars(_CORRECTING, {"p_origin": period.id, "p_emp": result.employee_id}):
        lines.append(
            _("Corrected after final by {amount}, paid with {label}: {reason}").format(
                amount=signed(adj.amount), label=adj.into_label, reason=adj.reason
            )
        )
    return lines
