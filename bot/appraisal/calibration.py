"""校准: HR, or the head of the employee's institution, sets a computed result's grade or
adjusts its total, with a mandatory reason, between scoring closed and publication.

The calibration is stored (who, in which role, why, from what) and applied to the
result at once through `bot.appraisal.results.calibrate_outcome`, the one function every
computation goes through, so recomputing keeps it until it is removed. Every calibration
and removal is audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.appraisal.pay import SchemeSpec
from bot.appraisal.periods import state_name
from bot.appraisal.results import calibrate_outcome, in_force, uncalibrated
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import (
    Calibration,
    CalibrationRole,
    Employee,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    Scheme,
)
from models.base import EncodedJSON

REASON_MAX = 2000


def heads(session: Session, head: Employee, institution_id: int) -> bool:
    """Whether `head` heads the institution (as its head, or by a head role grant)."""
    return bool(
        session.scalar(
            select(Institution.id).where(
                Institution.id == institution_id,
                or_(
                    Institution.head_id == head.id,
                    Institution.id.in_(
                        select(RoleGrant.institution_id).where(
                            RoleGrant.employee_id == head.id, RoleGrant.role == Role.HEAD
                        )
                    ),
                ),
            )
        )
    )


def open_for_calibration(period: Period) -> None:
    """Refuse unless scoring is closed and the results are not published yet."""
    if period.state == PeriodState.SCORING_CLOSED:
        return
    if period.state in (PeriodState.PUBLISHED, PeriodState.FINAL):
        raise Refused(
            _("Period {label} is {state}: its results can no longer be calibrated.").format(
                label=period.label, state=state_name(period.state)
            )
        )
    raise Refused(
        _(
            "Period {label} is {state}: results are calibrated once scoring is closed "
            "(`jixiao period close {label}`) and before they are published."
        ).format(label=period.label, state=state_name(period.state))
    )


def _result(session: Session, period: Period, employee: Employee) -> Result:
    result = session.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )
    if result is None:
        raise Refused(
            _(
                "{number} {name} has no result in {label} to calibrate: compute the results "
                "first (`jixiao results compute {label}`)."
            ).format(number=employee.number, name=employee.name, label=period.label)
        )
    return result


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Refused(_("A calibration needs a reason: say why, in a sentence."))
    if len(text) > REASON_MAX:
        raise Refused(
            _("The reason is longer than {n} characters: shorten it.").format(n=REASON_MAX)
        )
    return text


def _store(
    session: Session, now: dt.datetime, result: Result, spec: SchemeSpec, cal: Calibration | None
) -> dict[str, str]:
    """Apply `cal` (None: nothing) to the computed result; the new figures."""
    out = calibrate_outcome(spec, uncalibrated(result), result.pay_base, cal)
    session.execute(
        update(Result)
        .where(Result.id == result.id)
        .values(
            total=out.total,
            grade=out.grade,
            coefficient=out.coefficient,
            pay=out.pay,
            trace=EncodedJSON(out.trace),
            computed_at=now,
        )
    )
    session.refresh(result)
    return {
        "total": str(out.total),
        "grade": out.grade,
        "coefficient": str(out.coefficient),
        "pay": str(out.pay),
    }


def _figures(result: Result) -> dict[str, str]:
    return {
        "total": str(result.total),
        "grade": result.grade,
        "coefficient": str(result.coefficient),
        "pay": str(result.pay),
    }


def calibrate(
    session: Session,
    now: dt.datetime,
    period: Period,
    employee: Employee,
    *,
    reason: str,
    role: CalibrationRole,
    grade: str | None = None,
    total_adjust: Decimal | None = None,
    actor_id: int | None = None,
    actor_label: str = "cli",
) -> Result:
    """Set the grade of, or adjust the total of, one employee's result; the calibration
    in force before (if any) is replaced. Returns the calibrated result."""
    open_for_calibration(period)
    text = _reason(reason)
    if (grade is None) == (total_adjust is None):
        raise Refused(_("Calibrate with either a grade or a total adjustment, not both."))
    result = _result(session, period, employee)
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    computed = uncalibrated(result)
    if grade is not None:
        grades = [b.grade for b in spec.bands]
        if grade not in grades:
            raise Refused(
                _("Grade {grade} is not in scheme {scheme} (it has {grades}).").format(
                    grade=grade, scheme=spec.code, grades=_(", ").join(grades)
                )
            )
        if grade == computed.grade:
            raise Refused(
                _(
                    "{number} {name} is computed as grade {grade} already: nothing to "
                    "calibrate (use --remove to undo a calibration)."
                ).format(number=employee.number, name=employee.name, grade=grade)
            )
    if total_adjust is not None:
        if not total_adjust.is_finite() or total_adjust == 0:
            raise Refused(_("A total adjustment is a number other than 0, such as +2.5 or -3."))
        exponent = total_adjust.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > spec.score_places:
            raise Refused(
                _("Totals have {places} decimal places in this scheme: adjust by {value}?").format(
                    places=spec.score_places,
                    value=total_adjust.quantize(spec.score_quantum),
                )
            )
    before = _figures(result)
    for old in in_force(session, period.id, employee.id).values():
        old.removed = True
        old.removed_at = now
    cal = Calibration(
        period_id=period.id,
        employee_id=employee.id,
        computed_grade=computed.grade,
        computed_total=computed.total,
        grade=grade,
        total_adjust=total_adjust,
        reason=text,
        role=role,
        actor_id=actor_id,
        actor_label=actor_label[:64],
        at=now,
    )
    session.add(cal)
    session.flush()
    after = _store(session, now, result, spec, cal)
    record(
        session,
        now,
        "result.calibrate",
        "result",
        result.id,
        actor_id=actor_id,
        actor_label=actor_label[:64],
        before=before,
        after={
            **after,
            "calibration": cal.id,
            "role": role.value,
            "set_grade": grade,
            "total_adjust": None if total_adjust is None else str(total_adjust),
        },
        note=text,
    )
    return result


def remove(
    session: Session,
    now: dt.datetime,
    period: Period,
    employee: Employee,
    *,
    actor_id: int | None = None,
    actor_label: str = "cli",
) -> Result:
    """Remove the calibration in force: the result goes back to what was computed."""
    open_for_calibration(period)
    result = _result(session, period, employee)
    found = in_force(session, period.id, employee.id)
    if not found:
        raise Refused(
            _("{number} {name} has no calibration in {label} to remove.").format(
                number=employee.number, name=employee.name, label=period.label
            )
        )
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    before = _figures(result)
    for cal in found.values():
        cal.removed = True
        cal.removed_at = now
    after = _store(session, now, result, spec, None)
    record(
        session,
        now,
        "result.calibration_removed",
        "result",
        result.id,
        actor_id=actor_id,
        actor_label=actor_label[:64],
        before=before,
        after={**after, "calibrations": sorted(found_cal.id for found_cal in found.values())},
    )
    return result


def find_employee(session: Session, group_id: int, number: str) -> Employee:
    employee = session.scalar(
        select(Employee).where(Employee.group_id == group_id, Employee.number == number.strip())
    )
    if employee is None:
        raise Refused(_("No employee with 工号 {number}.").format(number=number))
    return employee
