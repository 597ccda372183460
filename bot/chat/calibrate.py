"""Grade quotas and calibration in chat, for heads: their institution's violations with
the people at each boundary first, one tap to calibrate one of them, then the reason.

Each button names (period, employee, grade by its place in the scheme, the calibration in
force when the button was drawn). The server checks again, on the tap and on the reason,
that the speaker heads the employee's institution and the period is between scoring
closed and publication; a button drawn before another calibration of the same person is
out of date and refused (a replay changes nothing). Every refusal is audited.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.appraisal import calibration, quotas
from bot.appraisal.results import in_force
from bot.chat import menu
from bot.chat.context import Ctx
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.message import Button, Reply
from models import CalibrationRole, Employee, Institution, Period, PeriodState, Result

PAYLOAD = "qc"
# Boundary people offered as buttons per violation.
OFFERED = 3


def _periods(ctx: Ctx, institution_id: int) -> list[Period]:
    """Periods of the institution (its own or group-wide) open for calibration."""
    return list(
        ctx.session.scalars(
            select(Period)
            .where(
                Period.group_id == ctx.employee.group_id,
                Period.state == PeriodState.SCORING_CLOSED,
                (Period.institution_id.is_(None)) | (Period.institution_id == institution_id),
            )
            .order_by(Period.starts_on, Period.id)
        )
    )


def _version(ctx: Ctx, period_id: int, employee_id: int) -> int:
    found = in_force(ctx.session, period_id, employee_id)
    return max((c.id for c in found.values()), default=0)


def _moves(v: quotas.Violation, order: list[str]) -> list[tuple[quotas.Person, int]]:
    """The boundary people calibration would move, nearest the edge first, each with the
    place (in `order`) of the grade it would give them."""
    ranks = sorted(order.index(g) for g in v.rule.grades if g in order)
    if not ranks or not v.meetable:
        return []
    if v.rule.bound.value == "at_most":
        movers, at = v.inside, (ranks[-1] + 1 if v.upper else ranks[0] - 1)
    else:
        movers, at = v.outside, (ranks[-1] if v.upper else ranks[0])
    if not 0 <= at < len(order):
        return []
    return [(p, at) for p in movers[:OFFERED]]


def broken(ctx: Ctx, institutions: list[Institution]) -> int:
    """How many violations the head's institutions have in periods open for calibration
    (for the progress view: a line and a button only when there are some)."""
    return sum(
        len(quotas.check(ctx.session, period, inst.id))
        for inst in institutions
        for period in _periods(ctx, inst.id)
        if quotas.rules_of(ctx.session, period)
    )


def show(ctx: Ctx, note: str = "") -> Reply:
    """Each headed institution's violations, with buttons for the boundary people."""
    mine = menu.headed(ctx)
    if not mine:
        return ctx.refuse("quotas: not a head", text=_("Grade quotas are shown to heads."))
    parts: list[str] = [note] if note else []
    rows: list[list[Button]] = []
    for inst in mine:
        for period in _periods(ctx, inst.id):
            found = quotas.check(ctx.session, period, inst.id)
            if not found:
                if quotas.rules_of(ctx.session, period):
                    parts.append(
                        _("{name}, {label}: every grade quota rule is met.").format(
                            name=inst.name, label=period.label
                        )
                    )
                continue
            parts.append(
                "\n".join(
                    [
                        _("{name}, {label}: grade quota violations").format(
                            name=inst.name, label=period.label
                        ),
                        *quotas.lines(found),
                    ]
                )
            )
            order = quotas.grade_order(ctx.session, period.scheme_id)
            for v in found:
                for person, at in _moves(v, order):
                    version = _version(ctx, period.id, person.employee_id)
                    row = [
                        ctx.button(
                            _("{number} {name}: {old} → {new}").format(
                                number=person.number,
                                name=person.name,
                                old=person.grade,
                                new=order[at],
                            ),
                            f"{PAYLOAD}:{period.id}:{person.employee_id}:{at}:{version}",
                        )
                    ]
                    # "What if" on that person's computed result, before deciding.
                    result_id = ctx.session.scalar(
                        select(Result.id).where(
                            Result.period_id == period.id,
                            Result.employee_id == person.employee_id,
                        )
                    )
                    if result_id is not None:
                        row.append(ctx.button(_("What if…"), f"wi:{result_id}"))
                    rows.append(row)
    if not parts:
        parts.append(_("No period of yours is waiting for calibration."))
    elif rows:
        parts.append(_("Tap a person to calibrate their grade; you will be asked why."))
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply("\n\n".join(parts), rows, ctx.tapped)


def _checked(
    ctx: Ctx, period_id: int, employee_id: int, at: int, version: int
) -> tuple[Period, Employee, str] | Reply:
    """What a calibration button points to, if the speaker may still use it."""
    period = ctx.session.get(Period, period_id)
    employee = ctx.session.get(Employee, employee_id)
    if (
        period is None
        or employee is None
        or period.group_id != ctx.employee.group_id
        or not calibration.heads(ctx.session, ctx.employee, employee.institution_id)
        or period.institution_id not in (None, employee.institution_id)
    ):
        return ctx.refuse(
            "calibrate: not the head of this person's institution", "result", employee_id
        )
    try:
        calibration.open_for_calibration(period)
    except Refused as exc:
        return ctx.refuse(
            "calibrate: period not open for calibration", "period", period.id, text=str(exc)
        )
    order = quotas.grade_order(ctx.session, period.scheme_id)
    has_result = ctx.session.scalar(
        select(Result.id).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )
    if not 0 <= at < len(order) or has_result is None:
        return ctx.refuse("calibrate: no such grade or result", "result", employee_id)
    if _version(ctx, period.id, employee.id) != version:
        return ctx.refuse(
            "calibrate: out-of-date button",
            "result",
            employee_id,
            text=_(
                "That button is out of date: {number} {name} was calibrated since. Send "
                "/quotas to see where things stand now."
            ).format(number=employee.number, name=employee.name),
        )
    return period, employee, order[at]


def tapped(ctx: Ctx, period_id: int, employee_id: int, at: int, version: int) -> Reply:
    """A boundary person tapped: ask for the reason (mandatory)."""
    found = _checked(ctx, period_id, employee_id, at, version)
    if isinstance(found, Reply):
        return found
    period, employee, grade = found
    ctx.update(calibrating=[period_id, employee_id, at, version])
    return Reply(
        _(
            "Calibrate {number} {name} in {label} to grade {grade}. Why? Type the reason "
            "(it is kept and shown to the employee, with your role but not your name)."
        ).format(number=employee.number, name=employee.name, label=period.label, grade=grade),
        [[ctx.button(_("Cancel"), "quo")]],
    )


def reason(ctx: Ctx, text: str) -> Reply:
    """The reason typed after a tap: check everything again, then calibrate."""
    period_id, employee_id, at, version = (int(x) for x in ctx.state["calibrating"])
    ctx.update(calibrating=None)
    found = _checked(ctx, period_id, employee_id, at, version)
    if isinstance(found, Reply):
        return found
    period, employee, grade = found
    try:
        result = calibration.calibrate(
            ctx.session,
            ctx.now,
            period,
            employee,
            reason=text,
            role=CalibrationRole.HEAD,
            grade=grade,
            actor_id=ctx.employee.id,
            actor_label=f"{ctx.incoming.platform}:{ctx.incoming.user_id}",
        )
    except Refused as exc:
        return show(ctx, str(exc))
    computed = result.trace["calibration"]["computed"]
    return show(
        ctx,
        _("{number} {name} calibrated: grade {old} → {new}, pay {old_pay} → {pay}.").format(
            number=employee.number,
            name=employee.name,
            old=computed["grade"],
            new=result.grade,
            old_pay=computed["pay"],
            pay=result.pay,
        ),
    )
