"""Who in a period has no result, and why, in words HR can act on.

The people of a period are its appraisees (everyone with a scoring task) and every
employee active in its scope who got no task at all (e.g. joined after it opened). A
result needs, for each weighted indicator, a submitted mark from a role whose weight
counts for that indicator (see bot/appraisal/pay.py): the scheme's role weight, or in a scheme
with sections the role's weight *within the indicator's section*. A person whose only
task is a self-assessment of weight 0 can never get one; nor can one who has no task in
a role that counts in some section (their manager, the only scorer of 行为规范, left),
while a role of weight 0 in one section but more in another still counts there.
Opening, computing, publishing and exporting all name these people through this
module, so they are never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from bot.appraisal.sections import Counting
from bot.infra.i18n import _
from models import (
    Department,
    Employee,
    Indicator,
    IndicatorKind,
    Institution,
    Period,
    Result,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    Section,
    TaskState,
)

# Ids per IN (...) list: well under every database's parameter limit.
_IDS = 1000
# People named in one line of a message; the rest are counted.
SHOWN = 10


@dataclass(frozen=True, slots=True)
class Gap:
    """Why one person of a period has no result."""

    employee_id: int
    number: str
    name: str
    institution: str
    department: str
    tasks: int  # their scoring tasks in the period
    counting: bool  # every weighted indicator has a task in a role whose weight counts for it
    missing: tuple[str, ...]  # weighted indicators no counting role has scored (names)
    all_missing: bool  # no weighted indicator has a counting mark yet
    waiting: tuple[str, ...]  # "role scorer" of counting tasks not yet submitted
    uncounted: tuple[str, ...]  # roles present whose weight is 0 everywhere (names)
    # Sections (names) where no task of theirs is in a role that counts there, when some
    # other task of theirs does count (a scheme with sections only).
    uncovered: tuple[str, ...] = ()

    @property
    def scorable(self) -> bool:
        """Whether a result is possible at all once everyone has scored."""
        return self.counting

    def reason(self) -> str:
        """What is missing, e.g. "missing 业绩 (waiting for 直接上级 李四)"."""
        sep = _(", ")
        if not self.tasks:
            return _("no scoring task in this period")
        if not self.counting:
            if self.uncovered:
                return _("no scorer whose score counts in {sections}").format(
                    sections=sep.join(self.uncovered)
                )
            return _("no scorer whose score counts: only {roles}, of weight 0").format(
                roles=sep.join(self.uncounted)
            )
        waiting = sep.join(self.waiting)
        if self.all_missing:
            if waiting:
                return _("no counting score submitted yet; waiting for {scorers}").format(
                    scorers=waiting
                )
            return _("no counting score submitted yet")
        if self.missing:
            if waiting:
                return _("missing {indicators}; waiting for {scorers}").format(
                    indicators=sep.join(self.missing), scorers=waiting
                )
            return _("missing {indicators}").format(indicators=sep.join(self.missing))
        return _("all scores are in: run `jixiao results compute` again")

    def status(self) -> str:
        """The pay sheet's status cell for this person."""
        if not self.tasks:
            return _("Not appraised: {reason}").format(reason=self.reason())
        return _("Incomplete: {reason}").format(reason=self.reason())

    def who(self) -> str:
        return f"{self.number} {self.name}"


def named(gaps: Sequence[Gap], shown: int = SHOWN, *, reasons: bool = False) -> str:
    """ "10001 张三, 10002 李四 and 3 more": who, capped, for one line of a message; with
    `reasons`, "10001 张三 (reason); 10002 李四 (reason)", since a reason may list too."""
    sep = _(", ")
    if reasons:
        sep = _("; ")
        parts = [_("{who} ({reason})").format(who=g.who(), reason=g.reason()) for g in gaps[:shown]]
    else:
        parts = [g.who() for g in gaps[:shown]]
    text = sep.join(parts)
    if len(gaps) > shown:
        text = _("{names} and {n} more").format(names=text, n=len(gaps) - shown)
    return text


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == _IDS:
            yield batch
            batch = []
    if batch:
        yield batch


def _in_scope(period: Period) -> list[ColumnElement[bool]]:
    """Employees the period covers: the group's, or one institution's."""
    where = [Employee.group_id == period.group_id]
    if period.institution_id is not None:
        where.append(Employee.institution_id == period.institution_id)
    return where


def appraisees(session: Session, period: Period) -> set[int]:
    """Everyone with a scoring task in the period."""
    return set(
        session.scalars(
            select(ScoringTask.appraisee_id).where(ScoringTask.period_id == period.id).distinct()
        )
    )


def untasked(session: Session, period: Period) -> set[int]:
    """Active employees in the period's scope with no scoring task in it."""
    has_task = (
        select(ScoringTask.id)
        .where(ScoringTask.period_id == period.id, ScoringTask.appraisee_id == Employee.id)
        .exists()
    )
    return set(
        session.scalars(
            select(Employee.id).where(*_in_scope(period), Employee.active.is_(True), ~has_task)
        )
    )


def with_result(session: Session, period: Period) -> set[int]:
    return set(session.scalars(select(Result.employee_id).where(Result.period_id == period.id)))


def without_result(session: Session, period: Period) -> list[Gap]:
    """Everyone of the period who has no result, with the reason, by 工号."""
    ids = (appraisees(session, period) | untasked(session, period)) - with_result(session, period)
    return explain(session, period, ids)


def unscorable(session: Session, period: Period) -> list[Gap]:
    """Everyone of the period who can never get a result: some weighted indicator has no
    task of theirs in a role that counts for it."""
    needs = _needs(session, period)

    def tasked(roles: frozenset[str] | None = None) -> ColumnElement[bool]:
        q = select(ScoringTask.id).where(
            ScoringTask.period_id == period.id, ScoringTask.appraisee_id == Employee.id
        )
        return (q if roles is None else q.where(ScoringTask.role_code.in_(roles))).exists()

    # Asked of the database in one query (a NOT EXISTS per distinct set of counting
    # roles: one without sections, a few with), not as sets of 100,000 ids in Python:
    # the appraisees lacking a task in some set, and the active people of the scope
    # with no task at all.
    lacking = [~tasked(roles) for roles in needs.requirements()]
    ids = set(
        session.scalars(
            select(Employee.id).where(
                or_(
                    and_(*_in_scope(period), Employee.active.is_(True), ~tasked()),
                    and_(tasked(), or_(*lacking)) if lacking else tasked(),
                )
            )
        )
    )
    return explain(session, period, ids)


def _role_weights(session: Session, period: Period) -> dict[str, tuple[str, Decimal]]:
    return {
        code: (name, weight)
        for code, name, weight in session.execute(
            select(ScorerRole.code, ScorerRole.name, ScorerRole.weight)
            .where(ScorerRole.scheme_id == period.scheme_id)
            .order_by(ScorerRole.position)
        ).tuples()
    }


@dataclass(frozen=True, slots=True)
class _Needed:
    """A weighted indicator scored by people: its name, the roles whose marks count for
    it (bot.appraisal.pay.SchemeSpec.roles_scoring, weight above 0) and its section's name."""

    name: str
    roles: frozenset[str]
    section: str


@dataclass(frozen=True, slots=True)
class _Needs:
    roles: dict[str, tuple[str, Decimal]]  # code: (name, scheme weight), in scheme order
    weighted: dict[int, _Needed]  # by indicator id, in scheme order

    @property
    def counting(self) -> frozenset[str]:
        """Roles that count for some weighted indicator (for the scheme's roles when
        there is none: its bonus and deduction items)."""
        if not self.weighted:
            return frozenset(code for code, (_n, w) in self.roles.items() if w > 0)
        return frozenset().union(*(n.roles for n in self.weighted.values()))

    def requirements(self) -> list[frozenset[str]]:
        """Each distinct set of roles of which a person needs a task in one."""
        if not self.weighted:
            return [self.counting]
        return list(dict.fromkeys(n.roles for n in self.weighted.values()))


def _needs(session: Session, period: Period) -> _Needs:
    roles = _role_weights(session, period)
    stored = session.execute(
        select(Section.code, Section.name, Section.roles).where(
            Section.scheme_id == period.scheme_id
        )
    ).all()
    # As the engine: the section's own roles and weights, else the scheme's.
    count = Counting.of(
        ((code, w) for code, (_n, w) in roles.items()), ((c, r) for c, _n, r in stored)
    )
    names = {code: name for code, name, _r in stored}
    weighted: dict[int, _Needed] = {}
    for ind_id, name, kind, section in session.execute(
        select(Indicator.id, Indicator.name, Indicator.kind, Indicator.section)
        .where(
            Indicator.scheme_id == period.scheme_id,
            Indicator.kind.in_((IndicatorKind.SCORE, IndicatorKind.RATING)),
        )
        .order_by(Indicator.position)
    ).tuples():
        found = count.section_of(kind, section)
        weighted[ind_id] = _Needed(
            name, count.roles_for(kind, section), "" if found is None else names[found]
        )
    return _Needs(roles, weighted)


def explain(session: Session, period: Period, ids: Iterable[int]) -> list[Gap]:
    """A Gap for each of `ids` (employees of the period without a result), by 工号."""
    needs = _needs(session, period)
    roles = needs.roles
    weighted = needs.weighted
    counting = needs.counting
    rank = {code: n for n, code in enumerate(roles)}
    scorer = aliased(Employee)
    gaps: list[Gap] = []
    for batch in _chunks(sorted(ids)):
        people = session.execute(
            select(Employee.id, Employee.number, Employee.name, Institution.name, Department.path)
            .join(Institution, Institution.id == Employee.institution_id)
            .outerjoin(Department, Department.id == Employee.department_id)
            .where(Employee.id.in_(batch))
        ).tuples()
        tasks: dict[int, list[tuple[str, TaskState, str]]] = {}
        for appraisee, role, state, scorer_name in session.execute(
            select(ScoringTask.appraisee_id, ScoringTask.role_code, ScoringTask.state, scorer.name)
            .join(scorer, scorer.id == ScoringTask.scorer_id)
            .where(ScoringTask.period_id == period.id, ScoringTask.appraisee_id.in_(batch))
            .order_by(ScoringTask.id)
        ).tuples():
            tasks.setdefault(appraisee, []).append((role, state, scorer_name))
        scored: dict[int, set[int]] = {}
        for appraisee, role, indicator in session.execute(
            select(ScoringTask.appraisee_id, ScoringTask.role_code, ScoreEntry.indicator_id)
            .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
            .where(
                ScoringTask.period_id == period.id,
                ScoringTask.appraisee_id.in_(batch),
                ScoringTask.state == TaskState.SUBMITTED,
                ScoringTask.role_code.in_(counting),
            )
            .distinct()
        ).tuples():
            # A mark counts only from a role that counts for its indicator's section.
            need = weighted.get(indicator)
            if need is not None and role in need.roles:
                scored.setdefault(appraisee, set()).add(indicator)
        for emp_id, number, name, institution, department in people:
            # In the scheme's order of roles: manager before head, as HR reads them.
            own = sorted(tasks.get(emp_id, []), key=lambda t: rank.get(t[0], len(rank)))
            have = scored.get(emp_id, set())
            missing = [i for i in weighted if i not in have]
            present = {role for role, _s, _n in own}
            uncovered = tuple(
                dict.fromkeys(
                    n.section or n.name for n in weighted.values() if not n.roles & present
                )
            )
            needed = (
                frozenset().union(*(weighted[i].roles for i in missing)) if missing else counting
            )
            gaps.append(
                Gap(
                    employee_id=emp_id,
                    number=number,
                    name=name,
                    institution=institution,
                    department=department or "",
                    tasks=len(own),
                    counting=bool(present & counting) and not uncovered,
                    missing=tuple(weighted[i].name for i in missing),
                    all_missing=bool(weighted) and len(missing) == len(weighted),
                    waiting=tuple(
                        f"{roles[role][0]} {who}"
                        for role, state, who in own
                        if role in needed and state != TaskState.SUBMITTED
                    ),
                    uncounted=tuple(
                        dict.fromkeys(
                            roles[role][0] if role in roles else role
                            for role, _s, _n in own
                            if role not in counting
                        )
                    ),
                    uncovered=uncovered if present & counting else (),
                )
            )
    gaps.sort(key=lambda g: number_key(g.number))
    return gaps


def number_key(number: str) -> tuple[object, ...]:
    """工号 in natural order: runs of digits compare as numbers, so "9" sorts before "10"
    and "A9" before "A10"; equal numbers ("7", "007") fall back to the text itself."""
    parts: list[object] = []
    for n, piece in enumerate(re.split(r"(\d+)", number)):
        # Even positions are text, odd ones digits: the tuple's types line up.
        parts.append((int(piece), len(piece)) if n % 2 else piece)
    return (tuple(parts), number)
