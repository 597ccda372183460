"""The pay engine: from submitted marks to total, grade, coefficient, pay and trace.

Pure functions over plain data, so the same arithmetic serves the batch computation,
the scoring form's preview and the tests. `Decimal` throughout; every rounding is
explicit and named in the trace.

Rules (see docs/computation.md for the worked examples):

* Each weighted indicator is normalised to 0..100: a score as
  ``(value - min) / (max - min) * 100``, a rating as its level's points over the best
  level's points × 100.
* Several scorers in one role are averaged. Roles are combined by their weights,
  **re-weighted among the roles that actually scored the indicator**: with manager 70 and
  head 30 and no head, the manager's mark counts 100%. Roles of weight 0 (self) are shown
  but never count. If no role with a positive weight scored a weighted indicator the
  result is incomplete and refused, never silently zero.
* weighted total = Σ indicator weight × normalised value / 100.
* A bonus or deduction item's value is combined across roles the same way (an item no
  one entered counts 0), then capped at the item's cap; the sums are capped at the
  scheme's bonus and deduction caps.
* total = weighted + bonuses − deductions, rounded to the scheme's score places by the
  scheme's rounding rule (named in the trace as ``total_rounding``). The
  grade is decided on that rounded total, the number the employee sees, so a shown
  90.00 is never graded below a band starting at 90.
* pay = base × coefficient (coefficient mode) or base × total / 100 (score mode, never
  below zero), rounded to the scheme's quantum (0.01 yuan, ROUND_HALF_UP by default).
* A metric indicator is scored by nobody: its target and actual (``metrics``) give a
  completion rate, and its rule (bot/appraisal/metrics.py) the share of its weight it earns.
* Sections (考核维度), when a scheme has them: each indicator's weight is its share of
  its section, each section has its own roles and role weights (re-weighting among the
  roles present happens within the section), and weighted total = Σ section weight ×
  section score / 100. Bonus and deduction items stay outside sections, combined by
  the scheme's role weights. Without sections nothing of this applies and traces are
  exactly as before.
"""

from __future__ import annotations

import decimal
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.appraisal import metrics as rules
from models.base import encode_json as _j
from models.scheme import IndicatorKind, PayMode, Scheme

HUNDRED = Decimal(100)
ZERO = Decimal(0)
ROUNDINGS = frozenset(
    {
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_DOWN,
        decimal.ROUND_UP,
        decimal.ROUND_FLOOR,
        decimal.ROUND_CEILING,
    }
)
# Divisions (normalising, averaging, re-weighting by thirds) are carried to 40 digits,
# far below the named rounding steps.
_CTX = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
# Every other step (sums, differences, products) is exact, whatever the caller's context
# (1000 digits hold any sum or product of those quotients and the stored numbers), so the
# trace's numbers add up to its totals exactly.
_EXACT = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_EVEN)


class Incomplete(Exception):
    """No role with a positive weight has scored some weighted indicator."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = list(missing)


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    id: int
    code: str
    name: str
    kind: IndicatorKind
    weight: Decimal
    min_score: Decimal
    max_score: Decimal
    levels: tuple[tuple[str, Decimal], ...] = ()
    # Bonus or deduction entered as a count of incidents, each worth this many points.
    per_incident: Decimal | None = None
    # Metric kind: how target and actual become points (bot/appraisal/metrics.py).
    rule: Mapping[str, Any] | None = field(default=None, hash=False)
    # The section's code, in a scheme with sections.
    section: str | None = None

    @property
    def weighted(self) -> bool:
        return self.kind in (IndicatorKind.SCORE, IndicatorKind.RATING, IndicatorKind.METRIC)

    @property
    def scored(self) -> bool:
        """Scored by people (not a metric, which comes from business data)."""
        return self.kind is not IndicatorKind.METRIC


def levels_of(stored: Sequence[Sequence[Any]] | None) -> tuple[tuple[str, Decimal], ...]:
    """A rating indicator's levels as stored (JSON pairs of label and points) in exact
    form: points go through their text, never a binary float."""
    return tuple((str(label), Decimal(str(points))) for label, points in stored or ())


@dataclass(frozen=True, slots=True)
class RoleSpec:
    code: str
    name: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """A 考核维度: its weight in the total and the roles that score it (none: data)."""

    code: str
    name: str
    weight: Decimal
    roles: tuple[RoleSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class BandSpec:
    grade: str
    label: str
    min_score: Decimal
    coefficient: Decimal


@dataclass(frozen=True, slots=True)
class SchemeSpec:
    id: int
    code: str
    name: str
    version: int
    indicators: tuple[IndicatorSpec, ...]
    roles: tuple[RoleSpec, ...]
    bands: tuple[BandSpec, ...]  # highest min_score first
    pay_mode: PayMode = PayMode.COEFFICIENT
    score_places: int = 2
    pay_quantum: Decimal = Decimal("0.01")
    rounding: str = decimal.ROUND_HALF_UP
    bonus_cap: Decimal | None = None
    deduction_cap: Decimal | None = None
    sections: tuple[SectionSpec, ...] = ()
    # What every appraisee shares (role weights, formatted constants), worked out once.
    # Not an init field, so `dataclasses.replace` (a spec with other roles or indicators)
    # starts a memo of its own instead of sharing this one's.
    _shared: dict[str, Any] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    @classmethod
    def of(cls, scheme: Scheme) -> SchemeSpec:
        """Freeze a stored scheme version into the engine's plain form."""
        names = {r.code: r.name for r in scheme.roles}
        return cls(
            id=scheme.id,
            code=scheme.code,
            name=scheme.name,
            version=scheme.version,
            indicators=tuple(
                IndicatorSpec(
                    id=i.id,
                    code=i.code,
                    name=i.name,
                    kind=IndicatorKind(i.kind),
                    weight=i.weight,
                    min_score=i.min_score,
                    max_score=i.max_score,
                    levels=levels_of(i.levels),
                    per_incident=i.per_incident,
                    rule=i.rule,
                    section=i.section,
                )
                for i in scheme.indicators
            ),
            roles=tuple(RoleSpec(r.code, r.name, r.weight) for r in scheme.roles),
            bands=tuple(
                BandSpec(g.grade, g.label, g.min_score, g.coefficient)
                for g in sorted(scheme.grades, key=lambda g: g.min_score, reverse=True)
            ),
            pay_mode=PayMode(scheme.pay_mode),
            score_places=scheme.score_places,
            pay_quantum=scheme.pay_quantum,
            rounding=scheme.rounding,
            bonus_cap=scheme.bonus_cap,
            deduction_cap=scheme.deduction_cap,
            sections=tuple(
                SectionSpec(
                    s.code,
                    s.name,
                    s.weight,
                    tuple(
                        RoleSpec(code, names.get(code, code), Decimal(str(weight)))
                        for code, weight in s.roles
                    ),
                )
                for s in scheme.sections
            ),
        )

    def section_of(self, code: str | None) -> SectionSpec | None:
        return next((s for s in self.sections if s.code == code), None)

    def roles_scoring(self, ind: IndicatorSpec) -> tuple[RoleSpec, ...]:
        """The roles whose marks count for `ind`: its section's, else the scheme's."""
        if not ind.scored:
            return ()
        section = self.section_of(ind.section) if self.sections else None
        return section.roles if section is not None else self.roles

    @property
    def score_quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.score_places)

    def bounds(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest total this scheme can produce."""
        bonus = sum((i.max_score for i in self.indicators if i.kind == IndicatorKind.BONUS), ZERO)
        deduction = sum(
            (i.max_score for i in self.indicators if i.kind == IndicatorKind.DEDUCTION), ZERO
        )
        if self.bonus_cap is not None:
            bonus = min(bonus, self.bonus_cap)
        if self.deduction_cap is not None:
            deduction = min(deduction, self.deduction_cap)
        return ZERO - deduction, self._weighted_top() + bonus

    def _weighted_top(self) -> Decimal:
        """The most the weighted part can reach: 100, unless a metric's rule pays above
        target (a linear cap of 120%)."""
        if not any(i.rule for i in self.indicators):
            return HUNDRED
        with decimal.localcontext(_EXACT):
            per_section: dict[str | None, Decimal] = {}
            for i in self.indicators:
                if i.weighted:
                    top = rules.top_share(i.rule) if i.rule else HUNDRED
                    per_section[i.section] = per_section.get(i.section, ZERO) + (
                        i.weight * top
                    ).scaleb(-2)
            if not self.sections:
                return sum(per_section.values(), ZERO)
            return sum(
                ((s.weight * per_section.get(s.code, ZERO)).scaleb(-2) for s in self.sections),
                ZERO,
            )

    def grade_for(self, total: Decimal) -> tuple[BandSpec, BandSpec | None]:
        """The band `total` falls in and the next band up (None at the top).

        A total below every band (heavy deductions) falls in the lowest band.
        """
        for idx, band in enumerate(self.bands):
            if total >= band.min_score:
                return band, self.bands[idx - 1] if idx else None
        return self.bands[-1], self.bands[-2] if len(self.bands) > 1 else None


@dataclass(frozen=True, slots=True)
class Mark:
    """One submitted score: which role gave it, for which indicator, and its comment."""

    role: str
    indicator_id: int
    value: Decimal
    comment: str = ""


@dataclass(slots=True)
class Outcome:
    total: Decimal
    grade: str
    coefficient: Decimal
    pay: Decimal
    trace: dict[str, Any] = field(default_factory=dict)


def _s(d: Decimal) -> str:
    """Decimals go into the trace as plain strings (JSON has no exact number type): whole
    numbers without decimals ("37"), others with the scale they have ("82.60"), never in
    exponent form. String surgery on str(d): this runs for every appraisee."""
    text = str(d)
    if "E" in text:
        return format(d.normalize(_CTX), "f") if d == d.to_integral_value() else format(d, "f")
    whole, dot, frac = text.partition(".")
    return whole if dot and not frac.strip("0") else text


def normalise(ind: IndicatorSpec, value: Decimal) -> Decimal:
    with decimal.localcontext(_EXACT):
        return _normalise(ind, value)


def _normalise(ind: IndicatorSpec, value: Decimal) -> Decimal:
    if ind.kind == IndicatorKind.SCORE and ind.min_score == 0 and ind.max_score == HUNDRED:
        return value  # the common 0..100 scale is its own normal form
    span = ind.max_score - ind.min_score
    if ind.kind == IndicatorKind.RATING and ind.levels:
        top = max(p for _, p in ind.levels)
        return _CTX.divide(value * HUNDRED, top) if top else ZERO
    if span <= 0:
        return ZERO
    return _CTX.divide((value - ind.min_score) * HUNDRED, span)


def _combine(
    by_role: dict[str, list[Decimal]], weights: dict[str, Decimal]
) -> tuple[Decimal, Decimal]:
    """Role-weighted mean over the roles present; returns (value, Σ weights used)."""
    used = ZERO
    acc = ZERO
    for role, values in by_role.items():
        w = weights.get(role, ZERO)
        if w <= 0:
            continue
        mean = values[0] if len(values) == 1 else _CTX.divide(sum(values, ZERO), len(values))
        acc += w * mean
        used += w
    if used == 0:
        return ZERO, ZERO
    return _CTX.divide(acc, used), used


# A metric indicator's figures for one appraisee as text: target, actual and, when known,
# where the target came from ("employee", "position": the metrics file's row for their
# position, "scheme": the scheme version's target for their position).
Figures = tuple[str, ...]

# One indicator's marks for one appraisee: (role code, value as entered, comment) per
# scorer. The value stays text until the term is worked out, so 87.5 and 87.50 stay apart
# (the trace shows what was entered) and equal marks are recognised by their text alone.
Cell = tuple[str, str, str]
# One scorer's submitted task: role code, {indicator id as text: value as entered},
# {indicator id as text: comment} (only the indicators commented on).
Task = tuple[str, Mapping[str, str], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class _Term:
    """One indicator's part of a total: its points (weighted) or capped amount (bonus,
    deduction), None when no counting role scored a weighted indicator, and its trace
    entry already encoded as JSON."""

    kind: IndicatorKind
    amount: Decimal | None
    entry: str


# Terms depend only on the scheme version and the marks, so at group scale a few thousand
# distinct terms serve millions of marks. Bounded, in case every mark is different.
_MEMO_MAX = 200_000


def _term(
    ind: IndicatorSpec,
    cells: tuple[Cell, ...],
    weights: dict[str, Decimal],
    text: dict[int, tuple[str, str, str]],
) -> _Term:
    per_role: dict[str, list[Decimal]] = {}
    comments: list[list[str]] = []
    for role, entered, comment in cells:
        per_role.setdefault(role, []).append(Decimal(entered))
        if comment:
            comments.append([role, comment])
    by_role = {role: [_s(v) for v in vals] for role, vals in per_role.items()}
    if ind.weighted:
        normed = {role: [_normalise(ind, v) for v in vals] for role, vals in per_role.items()}
        value, used = _combine(normed, weights)
        if used == 0:
            return _Term(ind.kind, None, "")
        points = (ind.weight * value).scaleb(-2)  # ÷ 100, exact
        weight, low, high = text[ind.id]
        entry = {
            "code": ind.code,
            "name": ind.name,
            "kind": ind.kind.value,
            "weight": weight,
            "min": low,
            "max": high,
            "by_role": by_role,
            "norm": _s(value),
            "points": _s(points),
            "lost": _s(ind.weight - points),
            "comments": comments,
        }
        return _Term(ind.kind, points, _j(entry))
    value, _ = _combine(per_role, weights)
    incidents = None
    if ind.per_incident is not None:
        # The marks are counts: the roles' (weighted) count, times the points per incident.
        incidents, value = value, value * ind.per_incident
    applied = min(value, ind.max_score)
    item: dict[str, Any] = {
        "code": ind.code,
        "name": ind.name,
        "by_role": by_role,
        "value": _s(value),
        "cap": text[ind.id][2],
        "applied": _s(applied),
        "comments": comments,
    }
    if incidents is not None and ind.per_incident is not None:
        # Only these items carry the two keys: traces stored before them read as before.
        item["incidents"] = _s(incidents)
        item["per_incident"] = _s(ind.per_incident)
    return _Term(ind.kind, applied, _j(item))


def compute(
    spec: SchemeSpec,
    marks: Iterable[Mark],
    pay_base: Decimal,
    metrics: Mapping[int, tuple[Decimal, Decimal]] | None = None,
) -> Outcome:
    """Total, grade, coefficient, pay and the full, self-contained trace for one
    appraisee (what `bot.appraisal.traces.expand` makes of a stored trace).

    `marks` are the submitted scores only; drafts never count. `metrics` are the
    appraisee's (target, actual) by metric indicator id.
    """
    # Several scorers in one role: each mark goes to the first of that role's tasks
    # still without that indicator, so the marks keep their order within the role.
    tasks: list[tuple[str, dict[str, str], dict[str, str]]] = []
    for m in marks:
        key = str(m.indicator_id)
        task = next((t for t in tasks if t[0] == m.role and key not in t[1]), None)
        if task is None:
            task = (m.role, {}, {})
            tasks.append(task)
        task[1][key] = str(m.value)
        if m.comment:
            task[2][key] = m.comment
    figures = {str(k): (str(t), str(a)) for k, (t, a) in (metrics or {}).items()}
    out = evaluate(spec, tasks, pay_base, inline=True, metrics=figures)
    return Outcome(out.total, out.grade, out.coefficient, out.pay, json.loads(out.trace))


@dataclass(slots=True)
class Evaluated:
    """An appraisee's result with its trace as JSON text, ready to store."""

    total: Decimal
    grade: str
    coefficient: Decimal
    pay: Decimal
    trace: str


# A trace part: its digest and its JSON text.
Part = tuple[str, str]


def evaluate(
    spec: SchemeSpec,
    tasks: Sequence[Task],
    pay_base: Decimal,
    about: str = "",
    *,
    inline: bool = False,
    metrics: Mapping[str, Figures] | None = None,
) -> Evaluated:
    """`compute` for the batch: an appraisee's submitted tasks in, the trace out as JSON
    text. `about` is more of the trace (period, appraisee) as JSON members, already
    encoded.

    The pieces of a trace that depend on few inputs (an indicator's marks, the roles
    present, a total's grade, a base's pay) are worked out and encoded once per scheme
    version. The stored trace (version 2) names them by digest, and `fresh_parts` hands
    out the new ones to store beside it; `inline` writes them into the trace instead
    (version 1, self-contained).

    `metrics` are the appraisee's (target, actual) as text by metric indicator id as
    text; a metric indicator without them leaves the result incomplete.
    """
    with decimal.localcontext(_EXACT):
        return _evaluate(spec, tasks, pay_base, about, inline, metrics or {})


def fresh_parts(spec: SchemeSpec) -> list[Part]:
    """The trace parts named since the last call, to store with the traces naming them
    (a part can come again once the memo is full: store them idempotently)."""
    shared = _shared(spec)
    taken, shared.fresh = shared.fresh, []
    return taken


def digest(body: str) -> str:
    """A part's name: 80 bits of BLAKE2b of its JSON text, unique within a scheme."""
    return hashlib.blake2b(body.encode(), digest_size=10).hexdigest()


class _Shared:
    """What every appraisee under one scheme version shares, worked out once."""

    def __init__(self, spec: SchemeSpec) -> None:
        self.spec = spec
        self.weights = {r.code: r.weight for r in spec.roles}
        # Each indicator's role weights: its section's, in a scheme with sections.
        self.weights_of = {
            i.id: {r.code: r.weight for r in spec.roles_scoring(i)}
            if spec.sections and i.kind not in (IndicatorKind.BONUS, IndicatorKind.DEDUCTION)
            else self.weights
            for i in spec.indicators
        }
        self.section_keys = {
            s.code: [str(i.id) for i in spec.indicators if i.section == s.code and i.scored]
            for s in spec.sections
        }
        self.text = {
            i.id: (_s(i.weight), _s(i.min_score), _s(i.max_score)) for i in spec.indicators
        }
        self.score_quantum = spec.score_quantum
        scheme = {"id": spec.id, "code": spec.code, "name": spec.name, "version": spec.version}
        # A scheme with sections re-weights roles within each section, and says so.
        rule = "reweight_present_roles_in_section" if spec.sections else "reweight_present_roles"
        self.opening = {
            version: _j({"v": version, "scheme": scheme, "rule": rule})[:-1] for version in (1, 2)
        }
        self.caps = (_j(_opt(spec.bonus_cap)), _j(_opt(spec.deduction_cap)))
        self.keys = [(i, str(i.id)) for i in spec.indicators]
        self.key_list = [k for _, k in self.keys]
        self.terms: dict[tuple[Any, ...], _Term] = {}
        self.roles: dict[frozenset[str], str] = {}
        self.grades: dict[Decimal, tuple[BandSpec, str]] = {}
        self.pays: dict[tuple[str, str], tuple[Decimal, str]] = {}
        self.refs: dict[str, str] = {}
        self.fresh: list[Part] = []

    def ref(self, body: str) -> str:
        """A part's place in a stored trace: its digest, as a JSON string."""
        found = self.refs.get(body)
        if found is None:
            name = digest(body)
            self.fresh.append((name, body))
            found = f'"{name}"'
            if len(self.refs) < _MEMO_MAX:
                self.refs[body] = found
        return found

    def term(self, ind: IndicatorSpec, key: tuple[Any, ...]) -> _Term:
        """The term for `key` = (indicator, roles, values, comments), one per task."""
        _, roles, values, notes = key
        cells = tuple(
            (role, value, notes[n] if notes else "")
            for n, (role, value) in enumerate(zip(roles, values, strict=True))
            if value is not None
        )
        found = _term(ind, cells, self.weights_of[ind.id], self.text)
        if ind.section is not None:
            found = _Term(found.kind, found.amount, _in_section(found.entry, ind.section))
        if len(self.terms) < _MEMO_MAX:
            self.terms[key] = found
        return found

    def metric(self, ind: IndicatorSpec, figures: Figures | None) -> _Term:
        """A metric indicator's term from its (target, actual[, source]) as text."""
        if figures is None or ind.rule is None:
            return _Term(ind.kind, None, "")
        key = ("metric", ind.id, figures)
        found = self.terms.get(key)
        if found is None:
            target, actual = Decimal(figures[0]), Decimal(figures[1])
            completion = rules.rate(ind.rule, target, actual)
            part = rules.share(ind.rule, completion)
            points = (ind.weight * part).scaleb(-2)
            entry: dict[str, Any] = {
                "code": ind.code,
                "name": ind.name,
                "kind": ind.kind.value,
                "weight": self.text[ind.id][0],
                "target": _s(target),
                "actual": _s(actual),
                "rate": _s(completion),
                "rule": dict(ind.rule),
                "norm": _s(part),
                "points": _s(points),
                "lost": _s(ind.weight - points),
            }
            if len(figures) > 2:
                # Whose target it is: the person's own, their position's in the metrics
                # file, or the scheme's default for their position.
                entry["target_from"] = figures[2]
            if ind.section is not None:
                entry["section"] = ind.section
            found = _Term(ind.kind, points, _j(entry))
            if len(self.terms) < _MEMO_MAX:
                self.terms[key] = found
        return found

    def sections_entry(
        self, sums: dict[str, Decimal], present: dict[str, frozenset[str]]
    ) -> tuple[Decimal, list[dict[str, Any]]]:
        """The weighted total of a scheme with sections, and each section's entry: its
        score (0..100 on target), weight, points and the roles that counted in it."""
        weighted = ZERO
        entries = []
        for section in self.spec.sections:
            score = sums.get(section.code, ZERO)
            points = (section.weight * score).scaleb(-2)
            weighted += points
            here = present.get(section.code, frozenset())
            roles = [
                {"code": r.code, "name": r.name, "weight": _s(r.weight), "present": r.code in here}
                for r in section.roles
            ]
            entries.append(
                {
                    "code": section.code,
                    "name": section.name,
                    "weight": _s(section.weight),
                    "score": _s(score),
                    "points": _s(points),
                    "roles": roles,
                    # Some role of positive weight did not score: the others counted
                    # for it, within this section only.
                    "reweighted": any(r.weight > 0 and r.code not in here for r in section.roles),
                }
            )
        return weighted, entries

    def roles_entry(self, present: frozenset[str]) -> str:
        found = self.roles.get(present)
        if found is None:
            found = self.roles[present] = _j(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "weight": _s(r.weight),
                        "present": r.code in present,
                    }
                    for r in self.spec.roles
                ]
            )
        return found

    def grade(self, total: Decimal) -> tuple[BandSpec, str]:
        """The band of a rounded total and its trace entry (totals share one scale)."""
        found = self.grades.get(total)
        if found is None:
            band, above = self.spec.grade_for(total)
            entry = {
                "grade": band.grade,
                "label": band.label,
                "min": _s(band.min_score),
                "next": None
                if above is None
                else {
                    "grade": above.grade,
                    "label": above.label,
                    "min": _s(above.min_score),
                    "gap": _s(above.min_score - total),
                },
            }
            found = (band, _j(entry))
            if len(self.grades) < _MEMO_MAX:
                self.grades[total] = found
        return found

    def pay(self, base: Decimal, total: Decimal, band: BandSpec) -> tuple[Decimal, str]:
        """Pay and its trace entry. In coefficient mode it depends on the grade, not the
        total. Keyed by text: 4000 and 4000.00 are equal Decimals, but the trace shows
        each as entered."""
        spec = self.spec
        coefficient_mode = spec.pay_mode == PayMode.COEFFICIENT
        key = (str(base), band.grade if coefficient_mode else str(total))
        found = self.pays.get(key)
        if found is None:
            if coefficient_mode:
                raw = base * band.coefficient
            else:
                # ÷ 100, exact. Deductions can take a total below zero; pay never does.
                raw = max((base * total).scaleb(-2), ZERO)
            pay = raw.quantize(spec.pay_quantum, rounding=spec.rounding)
            entry = {
                "mode": spec.pay_mode.value,
                "base": _s(base),
                "coefficient": _s(band.coefficient),
                "raw": _s(raw),
                "pay": _s(pay),
                "quantum": _s(spec.pay_quantum),
                "rounding": spec.rounding,
            }
            found = (pay, _j(entry))
            if len(self.pays) < _MEMO_MAX:
                self.pays[key] = found
        return found


def _in_section(entry: str, section: str) -> str:
    """An indicator's entry with the section it belongs to (only in schemes with
    sections: traces of the others stay exactly as they were)."""
    if not entry:
        return entry
    return entry[:-1] + ',"section":' + _j(section) + "}"


def _shared(spec: SchemeSpec) -> _Shared:
    found: _Shared | None = spec._shared.get("shared")
    if found is None:
        found = spec._shared["shared"] = _Shared(spec)
    return found


def _evaluate(
    spec: SchemeSpec,
    tasks: Sequence[Task],
    pay_base: Decimal,
    about: str,
    inline: bool,
    metrics: Mapping[str, Figures],
) -> Evaluated:
    shared = _shared(spec)
    memo = shared.terms
    place = str if inline else shared.ref
    roles = tuple([t[0] for t in tasks])
    values = [t[1] for t in tasks]
    notes = [t[2] for t in tasks] if any(t[2] for t in tasks) else None
    present = frozenset([t[0] for t in tasks if t[1]])
    missing: list[str] = []
    weighted = bonus_sum = deduction_sum = ZERO
    entries: list[str] = []
    bonus_items: list[str] = []
    deduction_items: list[str] = []
    if values and notes is None and all(list(v) == shared.key_list for v in values):
        # Every task scored every indicator in the scheme's order (the usual case): the
        # marks per indicator are the tasks' values side by side.
        side_by_side = zip(*[v.values() for v in values], strict=True)
        keys: Iterable[tuple[Any, ...]] = (
            (k, roles, marks, ()) for k, marks in zip(shared.key_list, side_by_side, strict=True)
        )
    else:
        keys = (
            (
                k,
                roles,
                tuple([v.get(k) for v in values]),
                tuple([n.get(k, "") for n in notes]) if notes else (),
            )
            for k in shared.key_list
        )
    by_section: dict[str, Decimal] | None = {} if spec.sections else None
    for (ind, text_id), key in zip(shared.keys, keys, strict=True):
        if ind.kind is IndicatorKind.METRIC:
            term = shared.metric(ind, metrics.get(text_id))
        else:
            term = memo.get(key) or shared.term(ind, key)
        if term.amount is None:
            missing.append(ind.code)
            continue
        placed = place(term.entry)
        if term.kind is IndicatorKind.BONUS:
            bonus_sum += term.amount
            bonus_items.append(placed)
        elif term.kind is IndicatorKind.DEDUCTION:
            deduction_sum += term.amount
            deduction_items.append(placed)
        else:
            weighted += term.amount
            entries.append(placed)
            if by_section is not None and ind.section is not None:
                by_section[ind.section] = by_section.get(ind.section, ZERO) + term.amount
    if missing:
        raise Incomplete(missing)
    sections_text = ""
    if by_section is not None:
        in_section = {
            code: frozenset(t[0] for t in tasks if any(k in t[1] for k in ids))
            for code, ids in shared.section_keys.items()
        }
        weighted, section_entries = shared.sections_entry(by_section, in_section)
        sections_text = ',"sections":' + _j(section_entries)

    bonus = bonus_sum if spec.bonus_cap is None else min(bonus_sum, spec.bonus_cap)
    deduction = (
        deduction_sum if spec.deduction_cap is None else min(deduction_sum, spec.deduction_cap)
    )
    plain = not bonus_items and not deduction_items
    total_raw = weighted if plain else weighted + bonus - deduction
    total = total_raw.quantize(shared.score_quantum, rounding=spec.rounding)
    band, grade_entry = shared.grade(total)
    pay, pay_entry = shared.pay(pay_base, total, band)
    weighted_text = _s(weighted)
    # The pieces are JSON already; the trace is their concatenation, one object.
    trace = "".join(
        (
            shared.opening[1 if inline else 2],
            "," + about if about else "",
            ',"roles":',
            place(shared.roles_entry(present)),
            sections_text,
            ',"indicators":[',
            ",".join(entries),
            '],"bonus":{"items":[',
            ",".join(bonus_items),
            '],"sum":"',
            _s(bonus_sum) if bonus_items else "0",
            '","cap":',
            shared.caps[0],
            '},"deduction":{"items":[',
            ",".join(deduction_items),
            '],"sum":"',
            _s(deduction_sum) if deduction_items else "0",
            '","cap":',
            shared.caps[1],
            '},"weighted":"',
            weighted_text,
            '","bonus_applied":"',
            "0" if plain else _s(bonus),
            '","deduction_applied":"',
            "0" if plain else _s(deduction),
            '","total_raw":"',
            weighted_text if plain else _s(total_raw),
            '","total":"',
            _s(total),
            '","score_places":',
            str(spec.score_places),
            # The rule that rounded total_raw to total, so an explanation can name it
            # (the pay entry names its own).
            ',"total_rounding":"',
            spec.rounding,
            '","grade":',
            place(grade_entry),
            ',"pay":',
            place(pay_entry),
            "}",
        )
    )
    return Evaluated(total, band.grade, band.coefficient, pay, trace)


def regrade(
    spec: SchemeSpec, total: Decimal, pay_base: Decimal, band: BandSpec | None = None
) -> tuple[BandSpec, dict[str, Any], Decimal, dict[str, Any]]:
    """Grade and pay for a calibrated result: the band of `total` (or `band`, a grade set
    by calibration, which then has no "next" grade to reach), its trace entry, the pay
    by the scheme's rules and its trace entry."""
    shared = _shared(spec)
    with decimal.localcontext(_EXACT):
        if band is None:
            band, grade_entry = shared.grade(total)
        else:
            grade_entry = _j(
                {"grade": band.grade, "label": band.label, "min": _s(band.min_score), "next": None}
            )
        pay, pay_entry = shared.pay(pay_base, total, band)
    return band, json.loads(grade_entry), pay, json.loads(pay_entry)


def _opt(d: Decimal | None) -> str | None:
    return None if d is None else _s(d)
