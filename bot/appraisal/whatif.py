""" "What if": a stored result worked out again with some indicators' values replaced.

Computed by the pay engine from the scheme version the result was computed under and the
marks its stored trace holds (each role's values, by indicator), never from today's
settings or today's marks: a later scheme version, a re-scored mark or a new pay base
changes nothing here. Nothing is stored; the answer is a hypothesis.

An indicator's replaced value stands for every mark it had (each role's, each scorer's):
"if quality were 90" means the marks that made quality were 90. A bonus or deduction item
no one entered gets the value from the scheme's heaviest role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot.appraisal.pay import IndicatorSpec, Mark, Outcome, SchemeSpec, compute
from bot.appraisal.results import uncalibrated
from bot.appraisal.traces import expand
from models import Indicator, Result, Scheme


class Unreadable(ValueError):
    """A stored trace names an indicator its scheme version does not have."""


@dataclass(frozen=True, slots=True)
class Figures:
    total: Decimal
    grade: str
    label: str
    coefficient: Decimal
    pay: Decimal


@dataclass(frozen=True, slots=True)
class Change:
    indicator: IndicatorSpec
    value: Decimal
    before: tuple[str, ...]  # the marks it had, as entered (every role's)


@dataclass(frozen=True, slots=True)
class Answer:
    result: Result
    trace: dict[str, Any]  # expanded
    calibrated: bool
    before: Figures  # as the engine computed it (before any calibration)
    after: Figures
    changes: tuple[Change, ...]

    @property
    def pay_difference(self) -> Decimal:
        return self.after.pay - self.before.pay

    @property
    def total_difference(self) -> Decimal:
        return self.after.total - self.before.total


def scheme_of(session: Session, trace: Mapping[str, Any]) -> Scheme:
    """The scheme version the trace was computed under (each version is its own row)."""
    return session.get_one(Scheme, trace["scheme"]["id"])


def indicator_rows(scheme: Scheme) -> dict[int, Indicator]:
    return {i.id: i for i in scheme.indicators}


def _rows(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*trace["indicators"], *trace["bonus"]["items"], *trace["deduction"]["items"]]


def marks_of(spec: SchemeSpec, trace: Mapping[str, Any]) -> dict[int, dict[str, list[str]]]:
    """Each indicator's marks by role as the (expanded) trace stored them."""
    by_code = {i.code: i for i in spec.indicators}
    out: dict[int, dict[str, list[str]]] = {}
    for row in _rows(trace):
        ind = by_code.get(row["code"])
        if ind is None:
            raise Unreadable(row["code"])
        out[ind.id] = {role: list(values) for role, values in row.get("by_role", {}).items()}
    return out


def metrics_of(spec: SchemeSpec, trace: Mapping[str, Any]) -> dict[int, tuple[Decimal, Decimal]]:
    """The target and actual of each metric indicator, as the trace stored them: a what-if
    keeps the business figures the result was computed from."""
    by_code = {i.code: i for i in spec.indicators}
    return {
        by_code[row["code"]].id: (Decimal(row["target"]), Decimal(row["actual"]))
        for row in _rows(trace)
        if row.get("kind") == "metric" and row["code"] in by_code
    }


def _heaviest_role(spec: SchemeSpec) -> str:
    return max(spec.roles, key=lambda r: r.weight).code


def replaced(
    spec: SchemeSpec,
    stored: Mapping[int, Mapping[str, Sequence[str]]],
    values: Mapping[int, Decimal],
) -> list[Mark]:
    """The marks with `values` (by indicator id) in place of every mark of theirs."""
    marks: list[Mark] = []
    for ind in spec.indicators:
        roles = stored.get(ind.id, {})
        new = values.get(ind.id)
        if new is not None and not any(roles.values()):
            roles = {_heaviest_role(spec): ["0"]}
        for role, entered in roles.items():
            for value in entered:
                marks.append(Mark(role, ind.id, new if new is not None else Decimal(value)))
    return marks


def _figures(spec: SchemeSpec, out: Outcome | Any) -> Figures:
    band = next((b for b in spec.bands if b.grade == out.grade), None)
    return Figures(out.total, out.grade, band.label if band else "", out.coefficient, out.pay)


def recompute(
    spec: SchemeSpec, trace: Mapping[str, Any], pay_base: Decimal, values: Mapping[int, Decimal]
) -> Outcome:
    """The engine's outcome for the stored marks with `values` in place."""
    marks = replaced(spec, marks_of(spec, trace), values)
    return compute(spec, marks, pay_base, metrics_of(spec, trace))


def what_if(session: Session, result: Result, values: Mapping[int, Decimal]) -> Answer:
    """`result` worked out again with `values` (indicator id → value, already checked
    against the indicator's range), beside the result as the engine computed it."""
    trace = expand(session, result.trace)
    spec = SchemeSpec.of(scheme_of(session, trace))
    stored = marks_of(spec, trace)
    out = compute(spec, replaced(spec, stored, values), result.pay_base, metrics_of(spec, trace))
    base = uncalibrated(result)
    by_id = {i.id: i for i in spec.indicators}
    changes = tuple(
        Change(
            by_id[ind_id],
            value,
            tuple(v for vals in stored.get(ind_id, {}).values() for v in vals),
        )
        for ind_id, value in values.items()
    )
    return Answer(
        result,
        trace,
        "calibration" in result.trace,
        _figures(spec, base),
        _figures(spec, out),
        changes,
    )
