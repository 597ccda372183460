"""Scoring progress by institution, department and scorer, in a few grouped queries.

Completion counts scoring tasks of periods open for scoring, attributed to the
appraisee's institution. Rank is by completion rate across the group's institutions, so
heads see where they stand (你追我赶).
"""

from __future__ import annotations

import datetime as dt
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
    appraisee = aliased(Employee)
    submitted = ScoringTask.state == TaskState.SUBMITTED
    rows = session.execute(
        select(
            Institution.id,
            Institution.name,
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(submitted),
            func.count(ScoringTask.id).filter(
                and_(submitted, ScoringTask.submitted_at <= now - dt.timedelta(days=1))
            ),
            func.min(ScoringTask.deadline),
        )
        .select_from(Institution)
        .outerjoin(appraisee, appraisee.institution_id == Institution.id)
        .outerjoin(
            ScoringTask,
            and_(
                ScoringTask.appraisee_id == appraisee.id,
                ScoringTask.id.in_(_open_tasks(group_id)),
            ),
        )
        .where(Institution.group_id == group_id)
        .group_by(Institution.id, Institution.name)
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


def department_progress(
    session: Session, group_id: int, institution_id: int
) -> list[tuple[str, Completion]]:
    """Completion per department of one institution, weakest first."""
    rows = session.execute(
        select(
            func.coalesce(Department.path, ""),
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
        )
        .select_from(ScoringTask)
        .join(Employee, Employee.id == ScoringTask.appraisee_id)
        .outerjoin(Department, Department.id == Employee.department_id)
        .where(
            Employee.institution_id == institution_id,
            ScoringTask.id.in_(_open_tasks(group_id)),
        )
        .group_by(Department.path)
    ).all()
    out = [(path, Completion(done, total)) for path, total, done in rows]
    return sorted(out, key=lambda d: (d[1].rate, d[0]))


def overdue_scorers(
    session: Session, group_id: int, institution_id: int, now: dt.datetime
) -> list[Overdue]:
    """Scorers with unfinished tasks past their deadline for this institution's
    appraisees, most behind first."""
    appraisee = aliased(Employee)
    scorer = aliased(Employee)
    rows = session.execute(
        select(scorer.id, scorer.name, func.count(ScoringTask.id), func.min(ScoringTask.deadline))
        .select_from(ScoringTask)
        .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .where(
            appraisee.institution_id == institution_id,
            ScoringTask.id.in_(_open_tasks(group_id)),
            or_(ScoringTask.state == TaskState.PENDING, ScoringTask.state == TaskState.DRAFT),
            ScoringTask.deadline < now,
        )
        .group_by(scorer.id, scorer.name)
    ).all()
    out = [Overdue(sid, name, left, deadline) for sid, name, left, deadline in rows]
    return sorted(out, key=lambda o: (-o.left, o.name))
