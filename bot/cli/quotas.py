"""`jixiao quotas PERIOD` (grade quota violations) and `jixiao calibrate PERIOD 工号`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer

from bot.appraisal import calibration, quotas
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, Failure, now, transaction
from bot.cli.output import emit
from bot.cli.periods import INSTITUTION, _period
from bot.infra.i18n import _, ngettext
from models import CalibrationRole

# `jixiao quotas`: some rule is broken.
VIOLATED = 3


def show(label: str = PERIOD, group: str = GROUP, institution: str = INSTITUTION) -> None:
    with transaction() as s:
        period = _period(s, label, group, institution)
        found = quotas.check(s, period)
        rules = quotas.rules_of(s, period)
        if not rules:
            lines = [
                _("Period {label}: its scheme has no grade quota rules.").format(label=period.label)
            ]
        elif not found:
            lines = [
                _("Period {label}: every grade quota rule is met ({n} rules).").format(
                    label=period.label, n=len(rules)
                )
            ]
        else:
            lines = [
                ngettext(
                    "Period {label}: {n} grade quota violation.",
                    "Period {label}: {n} grade quota violations.",
                    len(found),
                ).format(label=period.label, n=len(found)),
                *quotas.lines(found),
            ]
    emit(lines)
    if found:
        raise typer.Exit(code=VIOLATED)


def _adjust(value: str) -> Decimal:
    try:
        number = Decimal(value.strip().replace("＋", "+").replace("－", "-").replace("−", "-"))
    except InvalidOperation:
        raise Failure(
            _("Total adjustment {value!r} is not a number like +2.5 or -3.").format(value=value)
        ) from None
    if not number.is_finite():
        raise Failure(
            _("Total adjustment {value!r} is not a number like +2.5 or -3.").format(value=value)
        )
    return number


def calibrate(
    label: str = PERIOD,
    employee: str = typer.Argument(..., help=_("The employee's number.")),
    grade: str = typer.Option(None, "--grade", help=_("The grade to set, such as A.")),
    total_adjust: str = typer.Option(
        None, "--total-adjust", help=_("Points to add to the total (negative to take off).")
    ),
    reason: str = typer.Option(None, "--reason", help=_("Why: required, kept and shown.")),
    remove: bool = typer.Option(
        False, "--remove", help=_("Remove the calibration in force: back to the computed result.")
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    at = now()
    if remove and (grade is not None or total_adjust is not None):
        raise Failure(_("--remove takes no --grade or --total-adjust."))
    if not remove and grade is None and total_adjust is None:
        raise Failure(_("Say what to calibrate: --grade, --total-adjust, or --remove."))
    adjust = _adjust(total_adjust) if total_adjust is not None else None
    with transaction() as s:
        period = _period(s, label, group, institution)
        grp = lifecycle.find_group(s, group)
        person = calibration.find_employee(s, grp.id, employee)
        if remove:
            result = calibration.remove(s, at, period, person)
            lines = [
                _(
                    "{number} {name}: calibration removed; back to total {total}, grade {grade}, "
                    "pay {pay}."
                ).format(
                    number=person.number,
                    name=person.name,
                    total=result.total,
                    grade=result.grade,
                    pay=result.pay,
                )
            ]
        else:
            result = calibration.calibrate(
                s,
                at,
                period,
                person,
                reason=reason or "",
                role=CalibrationRole.HR,
                grade=grade.strip() if grade is not None else None,
                total_adjust=adjust,
            )
            cal = result.trace["calibration"]["computed"]
            lines = [
                _(
                    "{number} {name} calibrated: total {old_total} → {total}, grade {old_grade} → "
                    "{grade}, pay {old_pay} → {pay}."
                ).format(
                    number=person.number,
                    name=person.name,
                    old_total=cal["total"],
                    total=result.total,
                    old_grade=cal["grade"],
                    grade=result.grade,
                    old_pay=cal["pay"],
                    pay=result.pay,
                )
            ]
        left = quotas.check(s, period)
        if left:
            lines.append(
                ngettext(
                    "{n} grade quota violation remains (`jixiao quotas {label}`).",
                    "{n} grade quota violations remain (`jixiao quotas {label}`).",
                    len(left),
                ).format(n=len(left), label=period.label)
            )
        elif quotas.rules_of(s, period):
            lines.append(_("Every grade quota rule is met."))
    emit(lines)


def register(app: typer.Typer) -> None:
    app.command(
        "quotas",
        help=_(
            "Show a period's grade quota violations, with the people at each boundary. "
            "Exit status 3 while a rule is broken."
        ),
    )(show)
    app.command(
        "calibrate",
        help=_(
            "Calibrate one employee's result between scoring closed and publication: set "
            "the grade (--grade) or adjust the total (--total-adjust), with --reason; or "
            "--remove the calibration. Audited; recomputing keeps it."
        ),
    )(calibrate)
