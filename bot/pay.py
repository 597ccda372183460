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
* total = weighted + bonuses − deductions, rounded to the scheme's score places. The
  grade is decided on that rounded total, the number the employee sees, so a shown
  90.00 is never graded below a band starting at 90.
* pay = base × coefficient (coefficient mode) or base × total / 100 (score mode, never
  below zero), rounded to the scheme's quantum (0.01 yuan, ROUND_HALF_UP by default).
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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

    @property
    def weighted(self) -> bool:
        return self.kind in (IndicatorKind.SCORE, IndicatorKind.RATING)


@dataclass(frozen=True, slots=True)
class RoleSpec:
    code: str
    name: str
    weight: Decimal


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
    # What every appraisee shares (role weights, formatted constants), worked out once.
    _shared: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def of(cls, scheme: Scheme) -> SchemeSpec:
        """Freeze a stored scheme version into the engine's plain form."""
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
                    levels=tuple((str(label), Decimal(str(p))) for label, p in i.levels or ()),
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
        )

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
        return ZERO - deduction, HUNDRED + bonus

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
    exponent form. String surgery on str(d): this runs a hundred times per appraisee."""
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


def compute(spec: SchemeSpec, marks: Iterable[Mark], pay_base: Decimal) -> Outcome:
    """Total, grade, coefficient, pay and the full trace for one appraisee.

    `marks` are the submitted scores only; drafts never count.
    """
    with decimal.localcontext(_EXACT):
        return _compute(spec, marks, pay_base)


def _share(spec: SchemeSpec) -> dict[str, Any]:
    """Work out once per scheme what does not depend on the appraisee."""
    if not spec._shared:
        spec._shared["weights"] = {r.code: r.weight for r in spec.roles}
        spec._shared["text"] = {
            i.id: (_s(i.weight), _s(i.min_score), _s(i.max_score)) for i in spec.indicators
        }
    return spec._shared


def _compute(spec: SchemeSpec, marks: Iterable[Mark], pay_base: Decimal) -> Outcome:
    shared = _share(spec)
    weights: dict[str, Decimal] = shared["weights"]
    text: dict[int, tuple[str, str, str]] = shared["text"]
    raw: dict[int, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    comments: dict[int, list[list[str]]] = defaultdict(list)
    for m in marks:
        raw[m.indicator_id][m.role].append(m.value)
        if m.comment:
            comments[m.indicator_id].append([m.role, m.comment])

    present = {role for per in raw.values() for role in per}
    trace_roles = [
        {"code": r.code, "name": r.name, "weight": _s(r.weight), "present": r.code in present}
        for r in spec.roles
    ]
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    weighted = ZERO
    bonus_items: list[dict[str, Any]] = []
    deduction_items: list[dict[str, Any]] = []
    bonus_sum = ZERO
    deduction_sum = ZERO
    for ind in spec.indicators:
        per_role = raw.get(ind.id, {})
        if ind.weighted:
            normed = {role: [_normalise(ind, v) for v in vals] for role, vals in per_role.items()}
            value, used = _combine(normed, weights)
            if used == 0:
                missing.append(ind.code)
                continue
            points = (ind.weight * value).scaleb(-2)  # ÷ 100, exact
            weighted += points
            rows.append(
                {
                    "code": ind.code,
                    "name": ind.name,
                    "kind": ind.kind.value,
                    "weight": text[ind.id][0],
                    "min": text[ind.id][1],
                    "max": text[ind.id][2],
                    "by_role": {role: [_s(v) for v in vals] for role, vals in per_role.items()},
                    "norm": _s(value),
                    "points": _s(points),
                    "lost": _s(ind.weight - points),
                    "comments": comments.get(ind.id, []),
                }
            )
        else:
            value, _ = _combine(dict(per_role), weights)
            applied = min(value, ind.max_score)
            item = {
                "code": ind.code,
                "name": ind.name,
                "by_role": {role: [_s(v) for v in vals] for role, vals in per_role.items()},
                "value": _s(value),
                "cap": text[ind.id][2],
                "applied": _s(applied),
                "comments": comments.get(ind.id, []),
            }
            if ind.kind == IndicatorKind.BONUS:
                bonus_items.append(item)
                bonus_sum += applied
            else:
                deduction_items.append(item)
                deduction_sum += applied
    if missing:
        raise Incomplete(missing)

    bonus = bonus_sum if spec.bonus_cap is None else min(bonus_sum, spec.bonus_cap)
    deduction = (
        deduction_sum if spec.deduction_cap is None else min(deduction_sum, spec.deduction_cap)
    )
    total_raw = weighted + bonus - deduction
    total = total_raw.quantize(spec.score_quantum, rounding=spec.rounding)
    band, above = spec.grade_for(total)
    if spec.pay_mode == PayMode.COEFFICIENT:
        pay_raw = pay_base * band.coefficient
    else:
        # ÷ 100, exact. Deductions can take a total below zero; pay never goes below it.
        pay_raw = max((pay_base * total).scaleb(-2), ZERO)
    pay = pay_raw.quantize(spec.pay_quantum, rounding=spec.rounding)

    trace: dict[str, Any] = {
        "v": 1,
        "scheme": {"id": spec.id, "code": spec.code, "name": spec.name, "version": spec.version},
        "rule": "reweight_present_roles",
        "roles": trace_roles,
        "indicators": rows,
        "bonus": {"items": bonus_items, "sum": _s(bonus_sum), "cap": _opt(spec.bonus_cap)},
        "deduction": {
            "items": deduction_items,
            "sum": _s(deduction_sum),
            "cap": _opt(spec.deduction_cap),
        },
        "weighted": _s(weighted),
        "bonus_applied": _s(bonus),
        "deduction_applied": _s(deduction),
        "total_raw": _s(total_raw),
        "total": _s(total),
        "score_places": spec.score_places,
        "grade": {
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
        },
        "pay": {
            "mode": spec.pay_mode.value,
            "base": _s(pay_base),
            "coefficient": _s(band.coefficient),
            "raw": _s(pay_raw),
            "pay": _s(pay),
            "quantum": _s(spec.pay_quantum),
            "rounding": spec.rounding,
        },
    }
    return Outcome(
        total=total, grade=band.grade, coefficient=band.coefficient, pay=pay, trace=trace
    )


def _opt(d: Decimal | None) -> str | None:
    return None if d is None else _s(d)
