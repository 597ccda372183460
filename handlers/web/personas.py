"""Who one can play on the demo page: an employee, a scorer, a head, HR (and leadership).

Found in the database by what each person actually does, so any imported organisation
works, not only the demo group.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.infra.i18n import N_, _
from models import (
    Employee,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    ScoringTask,
    TaskState,
)

ROLE_LABELS = {
    "employee": N_("Employee"),
    "scorer": N_("Scorer"),
    "head": N_("Head of institution"),
    "hr": N_("HR administrator"),
    "leadership": N_("Group leadership"),
}
ROLE_HINTS = {
    "employee": N_("Sees the published score and asks why the pay is this amount."),
    "scorer": N_("Scores the people on the list, indicator by indicator."),
    "head": N_("Follows today's scoring progress and reminds the laggards."),
    "hr": N_("Watches periods and results across the institutions."),
    "leadership": N_("Compares the institutions."),
}


@dataclass(frozen=True, slots=True)
class Persona:
    role: str
    employee_id: int
    name: str
    number: str
    institution: str
    position: str

    def as_json(self) -> dict[str, object]:
        return {
            "role": self.role,
            "role_label": _(ROLE_LABELS[self.role]),
            "hint": _(ROLE_HINTS[self.role]),
            "employee_id": self.employee_id,
            "name": self.name,
            "number": self.number,
            "institution": self.institution,
            "position": self.position,
        }


def _persona(session: Session, role: str, employee_id: int | None) -> Persona | None:
    if employee_id is None:
        return None
    emp = session.get(Employee, employee_id)
    if emp is None:
        return None
    return Persona(
        role=role,
        employee_id=emp.id,
        name=emp.name,
        number=emp.number,
        institution=emp.institution.name,
        position=emp.position,
    )


def find(session: Session) -> list[Persona]:
    """One person per role, chosen deterministically; roles nobody holds are left out."""
    active = Employee.active.is_(True)
    holds_role = exists().where(RoleGrant.employee_id == Employee.id)
    heads = exists().where(Institution.head_id == Employee.id)
    open_tasks = (
        select(ScoringTask.id)
        .join(Period, Period.id == ScoringTask.period_id)
        .where(Period.state == PeriodState.SCORING, ScoringTask.state != TaskState.SUBMITTED)
    )
    scores_now = exists(open_tasks.where(ScoringTask.scorer_id == Employee.id))

    scorer = session.scalar(
        select(Employee.id)
        .where(active, scores_now, ~heads, ~holds_role)
        .order_by(Employee.number)
        .limit(1)
    ) or session.scalar(select(Employee.id).where(active, scores_now).order_by(Employee.number))
    published = (
        select(Result.id)
        .join(Period, Period.id == Result.period_id)
        .where(Period.state.in_([PeriodState.PUBLISHED, PeriodState.FINAL]))
    )
    has_result = exists(published.where(Result.employee_id == Employee.id))
    employee = session.scalar(
        select(Employee.id)
        .where(active, has_result, ~heads, ~holds_role, ~scores_now)
        .order_by(Employee.number)
        .limit(1)
    ) or session.scalar(select(Employee.id).where(active, has_result).order_by(Employee.number))
    head = session.scalar(
        select(Institution.head_id)
        .where(Institution.head_id.is_not(None))
        .order_by(Institution.id)
        .limit(1)
    )

    def granted(role: Role) -> int | None:
        return session.scalar(
            select(RoleGrant.employee_id)
            .join(Employee, Employee.id == RoleGrant.employee_id)
            .where(RoleGrant.role == role, active)
            .order_by(RoleGrant.institution_id.is_not(None), RoleGrant.id)
            .limit(1)
        )

    found = [
        _persona(session, "employee", employee),
        _persona(session, "scorer", scorer),
        _persona(session, "head", head),
        _persona(session, "hr", granted(Role.HR)),
        _persona(session, "leadership", granted(Role.LEADERSHIP)),
    ]
    return [p for p in found if p is not None]
