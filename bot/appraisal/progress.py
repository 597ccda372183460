"""Scoring progress by institution, department and scorer, in a few grouped queries.

Completion counts scoring tasks of periods open for scoring, attributed to the
appraisee's institution. Rank is by completion rate across the group's institutions, so
heads see where they stand (你追我赶).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from models import Department, Employee, Institution, Period, PeriodState, ScoringTask, TaskState


@dataclass(frozen=True)
class Completion:
    done: int
    total: int

    @property
    def rate(self) -> Decimal:
        """Share submitted, 0..100 with one decimal; an institution with no tasks is 0."""
        if not self.total:
            return Decimal(0)
        return (Decimal(self.done) * 100 / self.total).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class InstitutionProgress:
    institution_id: int
    name: str
    now: Completion
    yesterday: Completion
    rank: int  # 1 = best completion in the group
    deadline: dt.datetime | None


@dataclass(frozen=True)
class GroupProgress:
    institutions: list[InstitutionProgress]
    average: Decimal  # group-wide completion rate

    def of(self, institution_id: int) -> InstitutionProgress | None:
        return next((i for i in self.institutions if i.institution_id == institution_id), None)


@dataclass(frozen=True)
class Overdue:
    scorer_id: int
    name: str
    left: int
    deadline: dt.datetime


def _open_tasks(group_id: int) -> Select[tuple[int]]:
    """Ids of tasks in the group's periods that are open for scoring."""
    return (
        select(ScoringTask.id)
        .join(Period, Period.id == ScoringTask.period_id)
        .where(Period.group_id == group_id, Period.state == PeriodState.SCORING)
    )


def group_progress(session: Session, group_id: int, now: dt.datetime) -> GroupProgress:
    """Every institution's completion now and 24 hours ago, ranked."""
    submitted = ScoringTask.state == TaskState.SUBMITTED
    # Aggregate the open tasks per institution first, then attach every institution (one
    # with no tasks still appears, at 0 %); an IN-subquery inside an outer join's ON
    # clause made SQLite rescan the tasks for every row.
    per_institution = (
        select(
            Employee.institution_id.label("institution_id"),
            func.count(ScoringTask.id).label("total"),
            func.count(ScoringTask.id).filter(submitted).label("done"),
            func.count(ScoringTask.id)
            .filter(and_(submitted, ScoringTask.submitted_at <= now - dt.timedelta(days=1)))
            .label("before"),
            func.min(ScoringTask.deadline).label("deadline"),
        )
        .select_from(ScoringTask)
        .join(Period, Period.id == ScoringTask.period_id)
        .join(Employee, Employee.id == ScoringTask.appraisee_id)
        .where(Period.group_id == group_id, Period.state == PeriodState.SCORING)
        .group_by(Employee.institution_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Institution.id,
            Institution.name,
            func.coalesce(per_institution.c.total, 0),
            func.coalesce(per_institution.c.done, 0),
            func.coalesce(per_institution.c.before, 0),
            per_institution.c.deadline,
        )
        .outerjoin(per_institution, per_institution.c.institution_id == Institution.id)
        .where(Institution.group_id == group_id)
    ).all()
    items = [
        (inst_id, name, Completion(done, total), Completion(before, total), deadline)
        for inst_id, name, total, done, before, deadline in rows
    ]
    items.sort(key=lambda i: (-i[2].rate, i[1]))
    ranked: list[InstitutionProgress] = []
    for pos, (inst_id, name, current, before, deadline) in enumerate(items, start=1):
        # Equal rates share a rank, as in any league table.
        rank = ranked[-1].rank if ranked and ranked[-1].now.rate == current.rate else pos
        ranked.append(InstitutionProgress(inst_id, name, current, before, rank, deadline))
    total = Completion(sum(i.now.done for i in ranked), sum(i.now.total for i in ranked))
    return GroupProgress(ranked, total.rate)


def departments_by_institution(
    session: Session, group_id: int, institution_id: int | None = None
) -> dict[int, list[tuple[str, Completion]]]:
    """Completion per department, weakest first, for every institution in one grouped
    query (or for one institution)."""
    q = (
        select(
            Employee.institution_id,
            func.coalesce(Department.path, ""),
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
        )
        .select_from(ScoringTask)
        .join(Employee, Employee.id == ScoringTask.appraisee_id)
        .outerjoin(Department, Department.id == Employee.department_id)
        .where(ScoringTask.id.in_(_open_tasks(group_id)))
        .group_by(Employee.institution_id, Department.path)
    )
    if institution_id is not None:
        q = q.where(Employee.institution_id == institution_id)
    out: dict[int, list[tuple[str, Completion]]] = defaultdict(list)
    for inst, path, total, done in session.execute(q):
        out[inst].append((path, Completion(done, total)))
    for depts in out.values():
        depts.sort(key=lambda d: (d[1].rate, d[0]))
    return out


def overdue_by_institution(
    session: Session, group_id: int, now: dt.datetime, institution_id: int | None = None
) -> dict[int, list[Overdue]]:
    """Scorers with unfinished tasks past their deadline, per institution of the
    appraisees, most behind first; one grouped query for the whole group."""
    appraisee = aliased(Employee)
    scorer = aliased(Employee)
    q = (
        select(
            appraisee.institution_id,
            scorer.id,
            scorer.name,
            func.count(ScoringTask.id),
            func.min(ScoringTask.deadline),
        )
        .select_from(ScoringTask)
        .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .where(
            ScoringTask.id.in_(_open_tasks(group_id)),
            or_(ScoringTask.state == TaskState.PENDING, ScoringTask.state == TaskState.DRAFT),
            ScoringTask.deadline < now,
        )
        .group_by(appraisee.institution_id, scorer.id, scorer.name)
    )
    if institution_id is not None:
        q = q.where(appraisee.institution_id == institution_id)
    out: dict[int, list[Overdue]] = defaultdict(list)
    for inst, sid, name, left, deadline in session.execute(q):
        out[inst].append(Overdue(sid, name, left, deadline))
    for late in out.values():
        late.sort(key=lambda o: (-o.left, o.name))
    return out


def overdue_scorers(
    session: Session, group_id: int, institution_id: int, now: dt.datetime
) -> list[Overdue]:
    """Scorers with unfinished tasks past their deadline for this institution's
    appraisees, most behind first."""
    return overdue_by_institution(session, group_id, now, institution_id).get(institution_id, [])
