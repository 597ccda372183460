"""How each scorer scores (the 大锅饭 view): per scorer and period, the spread of the totals
they gave, their share of maximum marks, and how they compare with their peers.

A scorer's total for one person is what their own marks make of the weighted
indicators: each mark normalised to 0–100 as the pay engine does (`bot.appraisal.pay.normalise`),
weighted as the scheme weighs the indicators they scored. Bonuses and deductions are left
out: they record incidents, not a judgement of the person. Only submitted tasks count.

Flags (thresholds in settings, `.env.example`) inform heads and HR; they never block
anything. Scorers of fewer people than SCORER_MIN_PEOPLE are listed but never flagged.
"""

from __future__ import annotations

import decimal
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, or_, select
from sqlalchemy.orm import Session

from bot.appraisal.pay import IndicatorSpec, SchemeSpec, normalise
from bot.infra.i18n import N_, _
from bot.infra.settings import get_settings
from models import (
    Employee,
    IndicatorKind,
    Institution,
    Period,
    PeriodState,
    Scheme,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from models.db import flushed, stream

ZERO = Decimal(0)
CENT = Decimal("0.01")
_CTX = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)


class Flag(enum.StrEnum):
    UNIFORM = "uniform"  # everyone within N points
    MAX_MARKS = "max_marks"  # more than N% maximum marks
    ABOVE_PEERS = "above_peers"  # average N+ points above peers


FLAG_TEXT = {
    Flag.UNIFORM: N_("everyone within {n} points"),
    Flag.MAX_MARKS: N_("more than {n}% maximum marks"),
    Flag.ABOVE_PEERS: N_("average {n}+ points above peers"),
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    uniform_points: Decimal
    max_marks_percent: Decimal
    above_peers_points: Decimal
    min_people: int

    @classmethod
    def from_settings(cls) -> Thresholds:
        s = get_settings()
        return cls(
            s.scorer_uniform_points,
            s.scorer_max_marks_percent,
            s.scorer_above_peers_points,
            s.scorer_min_people,
        )

    def value(self, flag: Flag) -> Decimal:
        return {
            Flag.UNIFORM: self.uniform_points,
            Flag.MAX_MARKS: self.max_marks_percent,
            Flag.ABOVE_PEERS: self.above_peers_points,
        }[flag]


@dataclass(slots=True)
class Spread:
    scorer_id: int
    number: str
    name: str
    institution_id: int
    institution: str
    role: str
    totals: list[Decimal] = field(default_factory=list)  # one per person, as computed
    marks: int = 0
    max_marks: int = 0
    peer_mean: Decimal | None = None  # other scorers of the role in the institution
    other_people: int = 0  # people this scorer shares with another scorer
    vs_other: Decimal | None = None  # mean of (mine − the other's) on those people
    flags: tuple[Flag, ...] = ()

    @property
    def people(self) -> int:
        return len(self.totals)

    @property
    def mean(self) -> Decimal:
        return _CTX.divide(sum(self.totals, ZERO), len(self.totals))

    @property
    def low(self) -> Decimal:
        return min(self.totals)

    @property
    def high(self) -> Decimal:
        return max(self.totals)

    @property
    def std(self) -> Decimal:
        """Population standard deviation of the totals."""
        mean = self.mean
        square = sum(((t - mean) * (t - mean) for t in self.totals), ZERO)
        return _CTX.sqrt(_CTX.divide(square, len(self.totals)))

    @property
    def max_share(self) -> Decimal:
        """Percent of this scorer's marks on weighted indicators at the indicator's top."""
        return _CTX.divide(self.max_marks * 100, self.marks) if self.marks else ZERO

    @property
    def vs_peers(self) -> Decimal | None:
        return None if self.peer_mean is None else self.mean - self.peer_mean


def _top(ind: IndicatorSpec) -> Decimal:
    if ind.kind == IndicatorKind.RATING and ind.levels:
        return max(p for _label, p in ind.levels)
    return ind.max_score


class _Task:
    """One submitted task's weighted marks, summed."""

    __slots__ = ("appraisee", "id", "key", "marks", "tops", "weighted", "weights")

    def __init__(self, task_id: int, key: tuple[int, str], appraisee: int) -> None:
        self.id = task_id
        self.key = key
        self.appraisee = appraisee
        self.weighted = ZERO
        self.weights = ZERO
        self.marks = 0
        self.tops = 0


def _marks_query(dialect: str) -> Select[tuple[int, int, str, int, str]]:
    """Submitted tasks of a period, a row each: id, scorer, role, appraisee and the
    task's marks joined into one string (as `bot.appraisal.results.task_rows` does), so Python
    reads a row per task, not per mark."""
    space: ColumnElement[str] = literal_column("' '")
    joined = (func.group_concat if dialect == "sqlite" else func.string_agg)(
        ScoreEntry.indicator_id.concat(space).concat(ScoreEntry.value), space
    )
    return (
        select(
            ScoringTask.id,
            ScoringTask.scorer_id,
            ScoringTask.role_code,
            ScoringTask.appraisee_id,
            joined,
        )
        .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
        .where(ScoringTask.state == TaskState.SUBMITTED)
        .group_by(ScoringTask.id)
        .order_by(ScoringTask.id)
    )


@cache
def _institution_marks(dialect: str) -> Select[tuple[int, int, str, int, str]]:
    """`_marks_query` for the scorers of one institution, with bound values: built once
    per dialect, so a form's summary (where it is read) reuses its compiled form."""
    return _marks_query(dialect).where(
        ScoringTask.period_id == bindparam("p_period"),
        ScoringTask.scorer_id.in_(
            select(Employee.id).where(Employee.institution_id == bindparam("p_institution"))
        ),
    )


def _tasks(
    session: Session, spec: SchemeSpec, period: Period, scorer_ids: Sequence[int] | None
) -> Iterable[_Task]:
    """Submitted tasks with their marks summed, streamed for a whole period."""
    conn = session.connection()
    query = _marks_query(conn.dialect.name).where(ScoringTask.period_id == period.id)
    if scorer_ids is not None:
        query = query.where(ScoringTask.scorer_id.in_(list(scorer_ids)))
    return _summed(spec, stream(conn, query, 5000))


def _summed(spec: SchemeSpec, rows: Iterable[Sequence[Any]]) -> Iterable[_Task]:
    """Each task's marks summed; a mark's part (weight × normal form, at the top or not)
    is worked out once per indicator and value as entered."""
    weighted = {str(i.id): (i, _top(i)) for i in spec.indicators if i.weighted and i.weight > 0}
    parts: dict[tuple[str, str], tuple[Decimal, Decimal, bool]] = {}
    for task_id, scorer, role, appraisee, marks in rows:
        task = _Task(task_id, (scorer, role), appraisee)
        words = marks.split(" ")
        for ind_id, value in zip(words[::2], words[1::2], strict=True):
            part = parts.get((ind_id, value))
            if part is None:
                found = weighted.get(ind_id)
                if found is None:
                    continue
                ind, top = found
                entered = Decimal(value)
                part = parts[ind_id, value] = (
                    ind.weight * normalise(ind, entered),
                    ind.weight,
                    entered == top,
                )
            task.weighted += part[0]
            task.weights += part[1]
            task.marks += 1
            task.tops += part[2]
        if task.weights:
            yield task


def spreads(
    session: Session,
    period: Period,
    institution_ids: Sequence[int] | None = None,
    thresholds: Thresholds | None = None,
) -> list[Spread]:
    """Every scorer's spread in `period` (of the scorers of `institution_ids`, when
    given), flagged by `thresholds` (default: settings); by institution, flagged first."""
    limits = thresholds or Thresholds.from_settings()
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    scorer_ids = None
    if institution_ids is not None:
        scorer_ids = list(
            session.scalars(
                select(Employee.id).where(Employee.institution_id.in_(list(institution_ids)))
            )
        )
    found: dict[tuple[int, str], Spread] = {}
    people: dict[int, list[tuple[tuple[int, str], Decimal]]] = defaultdict(list)
    for task in _tasks(session, spec, period, scorer_ids):
        total = _CTX.divide(task.weighted, task.weights)
        spread = found.get(task.key)
        if spread is None:
            spread = found[task.key] = Spread(task.key[0], "", "", 0, "", task.key[1])
        spread.totals.append(total)
        spread.marks += task.marks
        spread.max_marks += task.tops
        people[task.appraisee].append((task.key, total))
    _name(session, found.values())
    _peers(found.values())
    _others(found, people)
    for spread in found.values():
        spread.flags = flags(spread, limits)
    return sorted(
        found.values(),
        key=lambda s: (s.institution, not s.flags, s.role, s.number, s.scorer_id),
    )


def _name(session: Session, found: Iterable[Spread]) -> None:
    by_id: dict[int, list[Spread]] = defaultdict(list)
    for s in found:
        by_id[s.scorer_id].append(s)
    ids = list(by_id)
    for at in range(0, len(ids), 1000):
        rows = session.execute(
            select(Employee.id, Employee.number, Employee.name, Institution.id, Institution.name)
            .join(Institution, Institution.id == Employee.institution_id)
            .where(Employee.id.in_(ids[at : at + 1000]))
        )
        for emp_id, number, name, inst_id, inst in rows:
            for s in by_id[emp_id]:
                s.number, s.name, s.institution_id, s.institution = number, name, inst_id, inst


def _peers(found: Iterable[Spread]) -> None:
    """Each scorer's peers: the other scorers of the same role in the same institution,
    all their totals pooled."""
    spreads_ = list(found)
    sums: dict[tuple[int, str], tuple[Decimal, int]] = {}
    for s in spreads_:
        key = (s.institution_id, s.role)
        total, n = sums.get(key, (ZERO, 0))
        sums[key] = (total + sum(s.totals, ZERO), n + len(s.totals))
    for s in spreads_:
        total, n = sums[(s.institution_id, s.role)]
        rest = n - len(s.totals)
        if rest:
            s.peer_mean = _CTX.divide(total - sum(s.totals, ZERO), rest)


def _others(
    found: dict[tuple[int, str], Spread],
    people: dict[int, list[tuple[tuple[int, str], Decimal]]],
) -> None:
    """Where a person has another scorer too: how far this scorer's total is from the
    others' (their mean), averaged over those people."""
    diffs: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for scored in people.values():
        if len(scored) < 2:
            continue
        for key, mine in scored:
            rest = [t for k, t in scored if k[0] != key[0]]
            if rest:
                diffs[key].append(mine - _CTX.divide(sum(rest, ZERO), len(rest)))
    for key, values in diffs.items():
        spread = found[key]
        spread.other_people = len(values)
        spread.vs_other = _CTX.divide(sum(values, ZERO), len(values))


def task_total(spec: SchemeSpec, marks: Iterable[tuple[int, Decimal]]) -> Decimal | None:
    """One scorer's total for one person from (indicator id, value) pairs, as `spreads`
    works it out; None when no weighted indicator is answered."""
    weighted = {i.id: i for i in spec.indicators if i.weighted and i.weight > 0}
    acc = used = ZERO
    for ind_id, value in marks:
        ind = weighted.get(ind_id)
        if ind is not None:
            acc += ind.weight * normalise(ind, value)
            used += ind.weight
    return _CTX.divide(acc, used) if used else None


@dataclass(frozen=True, slots=True)
class Beside:
    """A scorer's totals so far in a period (with the form being reviewed) beside those
    the other scorers of their institution have submitted."""

    mine: list[Decimal]
    others: list[Decimal]


def beside(
    session: Session, period: Period, scorer: Employee, task_id: int, current: Decimal | None
) -> Beside:
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    conn = flushed(session)
    rows = conn.execute(
        _institution_marks(conn.dialect.name),
        {"p_period": period.id, "p_institution": scorer.institution_id},
    )
    mine: list[Decimal] = [] if current is None else [current]
    others: list[Decimal] = []
    for task in _summed(spec, rows.tuples()):
        if task.id == task_id:
            continue
        total = _CTX.divide(task.weighted, task.weights)
        (mine if task.key[0] == scorer.id else others).append(total)
    return Beside(mine, others)


def beside_line(found: Beside) -> str:
    """ "Your 12 people: 88–92; others in your institution: 70–96", or nothing when there
    is no range yet to compare."""
    if len(found.mine) < 2:
        return ""
    text = _("Your {n} people: {low}–{high}").format(
        n=len(found.mine), low=p2(min(found.mine)), high=p2(max(found.mine))
    )
    if found.others:
        text += _("; others in your institution: {low}–{high}").format(
            low=p2(min(found.others)), high=p2(max(found.others))
        )
    return text + _(" (each total from one scorer's marks alone).")


def flags(s: Spread, limits: Thresholds) -> tuple[Flag, ...]:
    if s.people < limits.min_people:
        return ()
    out = []
    if s.high - s.low <= limits.uniform_points:
        out.append(Flag.UNIFORM)
    if s.max_share > limits.max_marks_percent:
        out.append(Flag.MAX_MARKS)
    if (vs := s.vs_peers) is not None and vs >= limits.above_peers_points:
        out.append(Flag.ABOVE_PEERS)
    return tuple(out)


def p2(value: Decimal) -> str:
    """A figure at two places, as reports show it."""
    return str(value.quantize(CENT, rounding=decimal.ROUND_HALF_UP))


def signed(value: Decimal) -> str:
    text = p2(value)
    return text if text.startswith("-") else "+" + text


def flag_text(flag: Flag, limits: Thresholds) -> str:
    n = limits.value(flag)
    shown = format(n.normalize(), "f") if n == n.to_integral_value() else str(n)
    return _(FLAG_TEXT[flag]).format(n=shown)


def line(s: Spread, limits: Thresholds, role_names: dict[str, str]) -> str:
    """One scorer in a line: who, how many, range, spread, max marks, vs peers, flags."""
    parts = [
        _("{number} {name} ({role}): {n} people, {low}–{high}, std dev {std}").format(
            number=s.number,
            name=s.name,
            role=role_names.get(s.role, s.role),
            n=s.people,
            low=p2(s.low),
            high=p2(s.high),
            std=p2(s.std),
        ),
        _("{share}% maximum marks").format(share=p2(s.max_share)),
    ]
    if (vs := s.vs_peers) is not None:
        parts.append(_("{diff} points vs peers").format(diff=signed(vs)))
    if s.vs_other is not None:
        parts.append(
            _("{diff} points vs the other scorer on {n} people").format(
                diff=signed(s.vs_other), n=s.other_people
            )
        )
    text = _(", ").join(parts)
    if s.flags:
        text += " ⚑ " + _("; ").join(flag_text(f, limits) for f in s.flags)
    return text


def closed_periods(session: Session, institution: Institution) -> list[Period]:
    """The institution's periods (its own or group-wide) closed for scoring and not yet
    published: when a head can still look again before results go out."""
    return list(
        session.scalars(
            select(Period)
            .where(
                Period.group_id == institution.group_id,
                Period.state == PeriodState.SCORING_CLOSED,
                or_(Period.institution_id.is_(None), Period.institution_id == institution.id),
            )
            .order_by(Period.starts_on, Period.id)
        )
    )


def digest_lines(session: Session, institution: Institution, limit: int = 10) -> list[str]:
    """For the head's digest after scoring closes: the flagged scorers only, a line each
    (nothing when none is flagged)."""
    limits = Thresholds.from_settings()
    lines: list[str] = []
    for period in closed_periods(session, institution):
        flagged = [s for s in spreads(session, period, [institution.id], limits) if s.flags]
        if not flagged:
            continue
        names = role_names(session, period)
        lines.append(
            _("{label}: scorers to look at ({n}), information only:").format(
                label=period.label, n=len(flagged)
            )
        )
        lines.extend("  " + line(s, limits, names) for s in flagged[:limit])
        if len(flagged) > limit:
            lines.append(_("  … and {n} more").format(n=len(flagged) - limit))
    return lines


def role_names(session: Session, period: Period) -> dict[str, str]:
    scheme = session.get_one(Scheme, period.scheme_id)
    return {r.code: r.name for r in scheme.roles}
