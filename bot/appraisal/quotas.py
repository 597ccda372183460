"""Grade quotas (强制分布): how many of a group may (at most) or must (at least) be in some
grades, checked on a period's results.

A rule counts some grades of the scheme in each group of its scope (each institution,
each department, or the whole period) and compares the count with its limit:

* a head count is its own limit;
* a ratio of a group of n is n × ratio ÷ 100, rounded: "at most" rounds down, but never
  below 1 when the group has anyone and the ratio is above 0 (a group of three may still
  have one A under "at most 20%"); "at least" rounds up. A rule may say half-up instead
  (the "at most" floor of 1 still holds).

Hand-computed: at most 20% of 7 → 1; at most 20% of 3 → 1; at least 5% of 21 → 2;
half-up at most 15% of 10 → 2.

Every violation names its group, the grades, the count, the limit, and the people at
the boundary — those calibration would move: for grades at the top, the lowest totals
inside and the highest below; for grades at the bottom, the other way round.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.infra.errors import Refused
from bot.infra.i18n import _, ngettext
from models import (
    AuditEvent,
    Department,
    Employee,
    GradeBand,
    Institution,
    Period,
    QuotaBound,
    QuotaRounding,
    QuotaRule,
    QuotaScope,
    Result,
    ScoringTask,
)

HUNDRED = Decimal(100)
# People named at one side of a boundary; the rest are counted.
SHOWN = 5


@dataclass(frozen=True, slots=True)
class Rule:
    """A quota rule in plain form (the importer's draft and the stored rule alike)."""

    row: int
    grades: tuple[str, ...]
    bound: QuotaBound
    ratio: Decimal | None
    head_count: int | None
    scope: QuotaScope
    rounding: QuotaRounding = QuotaRounding.DEFAULT

    @classmethod
    def of(cls, rule: QuotaRule) -> Rule:
        return cls(
            row=rule.row,
            grades=tuple(rule.grades),
            bound=QuotaBound(rule.bound),
            ratio=rule.ratio,
            head_count=rule.head_count,
            scope=QuotaScope(rule.scope),
            rounding=QuotaRounding(rule.rounding),
        )

    def limit(self, size: int) -> int:
        """The most (at most) or fewest (at least) people of a group of `size` in the
        rule's grades; never negative."""
        if size <= 0:
            return 0
        if self.head_count is not None:
            return max(self.head_count, 0)
        ratio = max(self.ratio or Decimal(0), Decimal(0))
        exact = Decimal(size) * ratio / HUNDRED
        if self.rounding == QuotaRounding.HALF_UP:
            way = decimal.ROUND_HALF_UP
        elif self.bound == QuotaBound.AT_MOST:
            way = decimal.ROUND_FLOOR
        else:
            way = decimal.ROUND_CEILING
        limit = int(exact.quantize(Decimal(1), rounding=way))
        if self.bound == QuotaBound.AT_MOST and ratio > 0:
            limit = max(limit, 1)
        return max(limit, 0)

    def met(self, count: int, size: int) -> bool:
        limit = self.limit(size)
        return count <= limit if self.bound == QuotaBound.AT_MOST else count >= limit

    def meetable(self, size: int) -> bool:
        """Whether a group of `size` can meet the rule at all (at least 2 of 1 cannot)."""
        return self.bound == QuotaBound.AT_MOST or self.limit(size) <= size

    def alone_impossible(self, grades: Sequence[str]) -> str | None:
        """Why the rule cannot be met in any group, whatever its size; `grades` are the
        scheme's, best first. None when it can."""
        if self.ratio is not None and self.ratio > HUNDRED and self.bound == QuotaBound.AT_LEAST:
            return _("at least more than everyone in a group cannot be met")
        if set(self.grades) >= set(grades):
            return _("it counts every grade of the scheme, so it limits nothing or cannot be met")
        return None

    def words(self) -> str:
        """ "at most 20% in A", "at least 2 people in D, E"."""
        grades = _(", ").join(self.grades)
        if self.head_count is not None:
            amount = ngettext("{n} person", "{n} people", self.head_count).format(n=self.head_count)
        else:
            amount = f"{_number(self.ratio or Decimal(0))}%"
        if self.bound == QuotaBound.AT_MOST:
            text = _("at most {amount} in {grades}")
        else:
            text = _("at least {amount} in {grades}")
        return text.format(amount=amount, grades=grades)


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def scope_name(scope: QuotaScope) -> str:
    return {
        QuotaScope.INSTITUTION: _("per institution"),
        QuotaScope.DEPARTMENT: _("per department"),
        QuotaScope.PERIOD: _("for the whole period"),
    }[scope]


@dataclass(frozen=True, slots=True)
class Person:
    """One result as quotas see it."""

    employee_id: int
    grade: str
    total: Decimal
    institution_id: int
    department_id: int | None
    number: str = ""
    name: str = ""


@dataclass(slots=True)
class Violation:
    rule: Rule
    group: Any  # the group's key: institution id, (institution id, department id), None
    group_name: str
    size: int
    count: int
    limit: int
    # Calibration would move these: people inside the grades nearest the edge, and people
    # outside them nearest the edge (best candidates first).
    inside: list[Person] = field(default_factory=list)
    outside: list[Person] = field(default_factory=list)
    # The grades sit at the top of the scale: inside people are above outside people.
    upper: bool = True

    @property
    def meetable(self) -> bool:
        return self.rule.meetable(self.size)

    @property
    def moves(self) -> int:
        """How many people must change grade to meet the rule."""
        return abs(self.count - self.limit)


def group_key(scope: QuotaScope, person: Person) -> Any:
    return _KEYS[scope](person)


def _whole(_person: Person) -> None:
    return None


_KEYS: dict[QuotaScope, Callable[[Person], Any]] = {
    QuotaScope.INSTITUTION: attrgetter("institution_id"),
    QuotaScope.DEPARTMENT: attrgetter("institution_id", "department_id"),
    QuotaScope.PERIOD: _whole,
}
_BY_TOTAL = attrgetter("total", "employee_id")


def _upper(rule: Rule, order: Sequence[str]) -> bool:
    """Whether the rule's grades sit at the top of the scale (its edge is their lowest
    grade), rather than at the bottom."""
    ranks = [order.index(g) for g in rule.grades if g in order]
    return not ranks or min(ranks) == 0 or max(ranks) < len(order) - 1


def _edge(people: list[Person], need: int, ascending: bool) -> list[Person]:
    """The `need` people nearest an edge (at least one), and anyone tied with the last."""
    ranked = sorted(people, key=_BY_TOTAL, reverse=not ascending)
    if not ranked:
        return []
    cut = ranked[: max(need, 1)]
    last = cut[-1].total
    return cut + [p for p in ranked[len(cut) :] if p.total == last]


def violations(
    rules: Sequence[Rule],
    order: Sequence[str],
    people: Iterable[Person],
    names: dict[Any, str] | None = None,
) -> list[Violation]:
    """Every broken rule in every group. `order` is the scheme's grades, best first;
    `names` names the groups (by key) for messages."""
    people = list(people)
    rank = {g: i for i, g in enumerate(order)}
    found: list[Violation] = []
    for rule in rules:
        groups: dict[Any, list[Person]] = defaultdict(list)
        key_of = _KEYS[rule.scope]
        for p in people:
            groups[key_of(p)].append(p)
        counted = set(rule.grades)
        ranks = [rank[g] for g in rule.grades if g in rank]
        upper = _upper(rule, order)
        for key in sorted(groups, key=_sortable):
            members = groups[key]
            inside = [p for p in members if p.grade in counted]
            size, count = len(members), len(inside)
            if rule.met(count, size):
                continue
            if upper:
                edge = max(ranks, default=len(order))
                outside = [p for p in members if rank.get(p.grade, len(order)) > edge]
            else:
                edge = min(ranks, default=0)
                outside = [p for p in members if rank.get(p.grade, -1) < edge]
            limit = rule.limit(size)
            need = abs(count - limit)
            found.append(
                Violation(
                    rule,
                    key,
                    (names or {}).get(key, ""),
                    size,
                    count,
                    limit,
                    # Moving out: from inside's edge; moving in: from outside's edge.
                    inside=_edge(inside, need, ascending=upper),
                    outside=_edge(outside, need, ascending=not upper),
                    upper=upper,
                )
            )
    return found


def _sortable(key: Any) -> tuple[Any, ...]:
    if key is None:
        return ()
    if isinstance(key, tuple):
        return tuple(-1 if k is None else k for k in key)
    return (key,)


def resolve(rules: Sequence[Rule], order: Sequence[str], people: Iterable[Person]) -> list[Person]:
    """The people with the grades calibration would give them so that every rule is met,
    moving as few as the rules allow from the boundary (one grade across the edge), or
    the people unchanged when no such moves exist within a few rounds (rules in conflict).

    What HR or a head is shown as "boundary cases first"; the property tests check that
    after these calibrations the counts meet every rule.
    """
    current = {p.employee_id: p for p in people}
    for _round in range(len(rules) * 4 + 4):
        broken = [v for v in violations(rules, order, current.values()) if v.meetable]
        if not broken:
            break
        v = broken[0]
        ranks = sorted(order.index(g) for g in v.rule.grades if g in order)
        if v.rule.bound == QuotaBound.AT_MOST:
            # Out of the grades, one band across the edge.
            movers = v.inside[: v.moves]
            at = ranks[-1] + 1 if v.upper else ranks[0] - 1
        else:
            movers = v.outside[: v.moves]
            at = ranks[-1] if v.upper else ranks[0]
        if not 0 <= at < len(order):
            break  # no band across the edge: nothing calibration can do
        target = order[at]
        for p in movers:
            current[p.employee_id] = Person(
                p.employee_id,
                target,
                p.total,
                p.institution_id,
                p.department_id,
                p.number,
                p.name,
            )
    return list(current.values())


# Reading a period's results.


def rules_of(session: Session, period: Period) -> list[Rule]:
    return [
        Rule.of(r)
        for r in session.scalars(
            select(QuotaRule)
            .where(QuotaRule.scheme_id == period.scheme_id)
            .order_by(QuotaRule.position)
        )
    ]


def grade_order(session: Session, scheme_id: int) -> list[str]:
    """The scheme's grades, best (highest minimum score) first."""
    return list(
        session.scalars(
            select(GradeBand.grade)
            .where(GradeBand.scheme_id == scheme_id)
            .order_by(GradeBand.min_score.desc())
        )
    )


def people_of(session: Session, period: Period, institution_id: int | None = None) -> list[Person]:
    """The period's results, with where each person is (one query)."""
    query = (
        select(
            Result.employee_id,
            Result.grade,
            Result.total,
            Employee.institution_id,
            Employee.department_id,
        )
        .join(Employee, Employee.id == Result.employee_id)
        .where(Result.period_id == period.id)
    )
    if institution_id is not None:
        query = query.where(Employee.institution_id == institution_id)
    # Core rows, not ORM ones: at group scale this is most of the check's time.
    return [Person(*row) for row in session.connection().execute(query).all()]


def check(session: Session, period: Period, institution_id: int | None = None) -> list[Violation]:
    """Every violation in the period's results, with names filled in. With
    `institution_id`, that institution's groups only (what its head sees); a rule for the
    whole period is checked on everyone then."""
    rules = rules_of(session, period)
    if not rules:
        return []
    order = grade_order(session, period.scheme_id)
    everyone = people_of(session, period)
    found = violations(rules, order, everyone)
    if institution_id is not None:
        found = [v for v in found if _in_institution(v, institution_id)]
    _name(session, found)
    return found


def unmeetable(session: Session, period: Period) -> list[Violation]:
    """Rules some group of the period's appraisees cannot meet whatever their grades (at
    least 2 in a group of 1), known as soon as the period is open: HR hears of them then,
    not at publication."""
    rules = [r for r in rules_of(session, period) if r.bound == QuotaBound.AT_LEAST]
    if not rules:
        return []
    appraisees = (
        select(ScoringTask.appraisee_id).where(ScoringTask.period_id == period.id).distinct()
    )
    everyone = [
        Person(emp, "", Decimal(0), inst, dept)
        for emp, inst, dept in session.execute(
            select(Employee.id, Employee.institution_id, Employee.department_id).where(
                Employee.id.in_(appraisees)
            )
        ).tuples()
    ]
    found = [v for v in violations(rules, [], everyone) if not v.meetable]
    _name(session, found)
    return found


def _in_institution(v: Violation, institution_id: int) -> bool:
    if v.rule.scope == QuotaScope.INSTITUTION:
        return bool(v.group == institution_id)
    if v.rule.scope == QuotaScope.DEPARTMENT:
        return bool(v.group[0] == institution_id)
    return True


def _name(session: Session, found: list[Violation]) -> None:
    """Groups' and boundary people's names, read for the few that are shown."""
    if not found:
        return
    ids = {p.employee_id for v in found for p in (*v.inside, *v.outside)}
    conn = session.connection()
    who = {
        i: (n, m)
        for i, n, m in conn.execute(
            select(Employee.id, Employee.number, Employee.name).where(Employee.id.in_(ids))
        ).tuples()
    }
    inst_ids = {v.group for v in found if v.rule.scope == QuotaScope.INSTITUTION} | {
        v.group[0] for v in found if v.rule.scope == QuotaScope.DEPARTMENT
    }
    institutions = dict(
        session.execute(
            select(Institution.id, Institution.name).where(Institution.id.in_(inst_ids - {None}))
        )
        .tuples()
        .all()
    )
    departments = dict(
        session.execute(
            select(Department.id, Department.path).where(
                Department.id.in_(
                    {v.group[1] for v in found if isinstance(v.group, tuple) and v.group[1]}
                )
            )
        )
        .tuples()
        .all()
    )
    for v in found:
        v.inside = [_named(p, who) for p in v.inside]
        v.outside = [_named(p, who) for p in v.outside]
        if v.rule.scope == QuotaScope.INSTITUTION:
            v.group_name = institutions.get(v.group, "")
        elif v.rule.scope == QuotaScope.DEPARTMENT:
            inst, dept = v.group
            v.group_name = institutions.get(inst, "") + (
                "/" + departments[dept] if dept in departments else ""
            )
        else:
            v.group_name = _("the whole period")


def _named(p: Person, who: dict[int, tuple[str, str]]) -> Person:
    number, name = who.get(p.employee_id, ("", ""))
    return Person(p.employee_id, p.grade, p.total, p.institution_id, p.department_id, number, name)


def lines(found: Sequence[Violation]) -> list[str]:
    """Each violation as HR and heads read it."""
    out: list[str] = []
    for v in found:
        rule = v.rule
        if not v.meetable:
            out.append(
                _(
                    "{group}: rule of row {row} ({rule}, {scope}) cannot be met: it needs "
                    "{limit} in a group of {size}."
                ).format(
                    group=v.group_name,
                    row=rule.row,
                    rule=rule.words(),
                    scope=scope_name(rule.scope),
                    size=v.size,
                    limit=v.limit,
                )
            )
            continue
        out.append(
            _(
                "{group}: {count} of {size} people in {grades}, limit {limit} (rule of row "
                "{row}: {rule}, {scope})."
            ).format(
                group=v.group_name,
                count=v.count,
                size=v.size,
                grades=_(", ").join(rule.grades),
                limit=v.limit,
                row=rule.row,
                rule=rule.words(),
                scope=scope_name(rule.scope),
            )
        )
        first, second = (
            (_("  lowest inside: {people}"), _("  highest below: {people}"))
            if v.upper
            else (_("  highest inside: {people}"), _("  lowest above: {people}"))
        )
        if v.inside:
            out.append(first.format(people=people_text(v.inside)))
        if v.outside:
            out.append(second.format(people=people_text(v.outside)))
    return out


def people_text(people: Sequence[Person], shown: int = SHOWN) -> str:
    named = [
        _("{number} {name} {total} ({grade})").format(
            number=p.number, name=p.name, total=p.total, grade=p.grade
        )
        for p in people[:shown]
    ]
    if len(people) > shown:
        named.append(_("and {n} more").format(n=len(people) - shown))
    return _(", ").join(named)


# Publication's gate and the overrides the weekly report lists.

OVERRIDE_ACTION = "quota.override"


def gate(
    session: Session,
    now: dt.datetime,
    period: Period,
    override: str | None,
    actor: str = "cli",
) -> list[Violation]:
    """Refuse publication while a violation stands, unless `override` gives a written
    reason (audited, with what it overrode). Returns the violations overridden."""
    reason = (override or "").strip()
    if override is not None and not reason:
        raise Refused(_("The reason for overriding the grade quotas must not be empty."))
    found = check(session, period)
    if not found:
        return []
    if not reason:
        raise Refused(
            "\n".join(
                [
                    ngettext(
                        "Period {label} has {n} grade quota violation: calibrate (`jixiao "
                        "calibrate`) until the rules are met, or publish with "
                        '--override-quota "written reason".',
                        "Period {label} has {n} grade quota violations: calibrate (`jixiao "
                        "calibrate`) until the rules are met, or publish with "
                        '--override-quota "written reason".',
                        len(found),
                    ).format(label=period.label, n=len(found)),
                    *lines(found),
                ]
            )
        )
    record(
        session,
        now,
        OVERRIDE_ACTION,
        "period",
        period.id,
        actor_label=actor,
        after={
            "label": period.label,
            "violations": [
                {
                    "row": v.rule.row,
                    "group": v.group_name,
                    "grades": list(v.rule.grades),
                    "count": v.count,
                    "limit": v.limit,
                }
                for v in found
            ],
        },
        note=reason,
    )
    return found


@dataclass(frozen=True, slots=True)
class Override:
    at: dt.datetime
    period: str
    reason: str
    violations: int


def overrides(
    session: Session, since: dt.datetime, until: dt.datetime, group_id: int | None = None
) -> list[Override]:
    """Publications that overrode grade quotas in [since, until) (of one group's periods
    if given), oldest first: the weekly report lists them."""
    query = select(AuditEvent).where(
        AuditEvent.action == OVERRIDE_ACTION,
        AuditEvent.at >= since,
        AuditEvent.at < until,
    )
    if group_id is not None:
        query = query.join(Period, Period.id == AuditEvent.entity_id).where(
            Period.group_id == group_id
        )
    events = session.scalars(query.order_by(AuditEvent.at, AuditEvent.id))
    return [
        Override(
            e.at,
            str((e.after or {}).get("label", "")),
            e.note,
            len((e.after or {}).get("violations", [])),
        )
        for e in events
    ]
