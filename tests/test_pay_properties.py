"""Properties of the pay engine over generated schemes and marks (Decimal only, no floats)."""

from __future__ import annotations

import decimal
import itertools
from dataclasses import replace
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.appraisal.pay import BandSpec, IndicatorSpec, Mark, RoleSpec, SchemeSpec, compute
from models.scheme import IndicatorKind, PayMode

FAST = settings(max_examples=200, deadline=None)
CENT = D("0.01")


def money(lo: str = "0", hi: str = "100000") -> st.SearchStrategy[D]:
    return st.decimals(min_value=D(lo), max_value=D(hi), places=2)


def dec(lo: D | int, hi: D | int, places: int = 2) -> st.SearchStrategy[D]:
    """Decimals in [lo, hi] with `places` decimals: the same values as st.decimals(...,
    places=places), drawn as whole numbers of 10^-places (three times faster)."""
    scale = 10**places
    return st.integers(int(lo * scale), int(hi * scale)).map(lambda i: D(i).scaleb(-places))


@st.composite
def weights_to_100(draw: st.DrawFn, n: int) -> list[D]:
    """n positive whole weights adding up to 100."""
    cuts = draw(st.lists(st.integers(1, 99), min_size=n - 1, max_size=n - 1, unique=True))
    edges = [0, *sorted(cuts), 100]
    return [D(b - a) for a, b in itertools.pairwise(edges)]


@st.composite
def weighted_indicator(draw: st.DrawFn, id_: int, weight: D) -> IndicatorSpec:
    if draw(st.booleans()):
        lo = draw(dec(0, 60, places=0))
        span = draw(st.sampled_from([D(1), D(3), D(5), D(7), D(10), D(100), D(1000)]))
        return IndicatorSpec(
            id_, f"I{id_}", f"指标{id_}", IndicatorKind.SCORE, weight, lo, lo + span
        )
    # 2..5 distinct levels worth 0.0..20.0 points, best first (so the best is above 0)
    tenths = draw(st.lists(st.integers(0, 200), min_size=2, max_size=5, unique=True))
    points = [D(t).scaleb(-1) for t in sorted(tenths, reverse=True)]
    levels = tuple((f"L{k}", p) for k, p in enumerate(points))
    return IndicatorSpec(
        id_, f"I{id_}", f"指标{id_}", IndicatorKind.RATING, weight, D(0), points[0], levels
    )


@st.composite
def schemes(draw: st.DrawFn) -> SchemeSpec:
    n = draw(st.integers(1, 6))
    weights = draw(weights_to_100(n))
    indicators = [draw(weighted_indicator(k + 1, w)) for k, w in enumerate(weights)]
    for k in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([IndicatorKind.BONUS, IndicatorKind.DEDUCTION]))
        cap = draw(dec(0, 10))
        id_ = 100 + k
        indicators.append(IndicatorSpec(id_, f"X{id_}", f"加扣{id_}", kind, D(0), D(0), cap))
    roles = draw(
        st.sampled_from(
            [
                (RoleSpec("manager", "上级", D(70)), RoleSpec("head", "负责人", D(30))),
                (
                    RoleSpec("manager", "上级", D(70)),
                    RoleSpec("head", "负责人", D(30)),
                    RoleSpec("self", "自评", D(0)),
                ),
                (
                    RoleSpec("manager", "上级", D(1)),
                    RoleSpec("head", "负责人", D(2)),
                    RoleSpec("peer", "同事", D(4)),
                    RoleSpec("self", "自评", D(0)),
                ),
            ]
        )
    )
    # bands: lowest at 0, thresholds rising, coefficients non-decreasing with min_score
    mins = sorted(draw(st.lists(dec(1, 100), max_size=4, unique=True)))
    coefs = sorted(
        draw(
            st.lists(
                dec(0, 2, places=3),
                min_size=len(mins) + 1,
                max_size=len(mins) + 1,
            )
        )
    )
    bands = tuple(
        BandSpec(f"G{k}", f"档{k}", m, c)
        for k, (m, c) in reversed(list(enumerate(zip([D(0), *mins], coefs, strict=True))))
    )
    return SchemeSpec(
        id=1,
        code="S",
        name="生成方案",
        version=1,
        indicators=tuple(indicators),
        roles=roles,
        bands=bands,
        pay_mode=draw(st.sampled_from(list(PayMode))),
        rounding=draw(st.sampled_from([decimal.ROUND_HALF_UP, decimal.ROUND_HALF_EVEN])),
        bonus_cap=draw(st.none() | dec(0, 10)),
        deduction_cap=draw(st.none() | dec(0, 15)),
    )


def value_for(ind: IndicatorSpec) -> st.SearchStrategy[D]:
    if ind.kind == IndicatorKind.RATING:
        return st.sampled_from([p for _, p in ind.levels])
    if ind.kind == IndicatorKind.SCORE:
        return dec(ind.min_score, ind.max_score)
    return dec(0, 20)  # may exceed the item cap


@st.composite
def complete_marks(draw: st.DrawFn, spec: SchemeSpec) -> list[Mark]:
    """Submitted marks in which every weighted indicator has a positive-weight scorer."""
    positive = [r.code for r in spec.roles if r.weight > 0]
    everyone = [r.code for r in spec.roles]
    out: list[Mark] = []
    for ind in spec.indicators:
        if ind.weighted:
            scorers = draw(st.lists(st.sampled_from(positive), min_size=1, max_size=3))
            scorers += draw(st.lists(st.sampled_from(everyone), max_size=1))
        else:
            scorers = draw(st.lists(st.sampled_from(everyone), max_size=2))
        out += [Mark(role, ind.id, draw(value_for(ind))) for role in scorers]
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[SchemeSpec, list[Mark], D]:
    spec = draw(schemes())
    return spec, draw(complete_marks(spec)), draw(money())


@FAST
@given(cases())
def test_the_total_stays_within_the_schemes_bounds(case):
    spec, marks, base = case
    lo, hi = spec.bounds()
    out = compute(spec, marks, base)
    assert lo <= out.total <= hi
    if spec.pay_mode == PayMode.COEFFICIENT:  # score mode pays base × total, which may be < 0
        assert out.pay >= 0


@FAST
@given(cases(), st.data())
def test_raising_one_score_never_lowers_the_total_nor_the_pay(case, data):
    spec, marks, base = case
    by_id = {i.id: i for i in spec.indicators}
    idx = data.draw(
        st.sampled_from([k for k, m in enumerate(marks) if by_id[m.indicator_id].weighted])
    )
    ind = by_id[marks[idx].indicator_id]
    higher = data.draw(value_for(ind).filter(lambda v: v >= marks[idx].value))
    raised = [*marks[:idx], replace(marks[idx], value=higher), *marks[idx + 1 :]]
    before, after = compute(spec, marks, base), compute(spec, raised, base)
    assert after.total >= before.total
    assert after.pay >= before.pay


@FAST
@given(cases())
def test_pay_is_base_times_coefficient_rounded_half_up_to_the_fen(case):
    spec, marks, base = case
    spec = replace(spec, pay_mode=PayMode.COEFFICIENT, rounding=decimal.ROUND_HALF_UP)
    out = compute(spec, marks, base)
    assert out.pay == (base * out.coefficient).quantize(CENT, decimal.ROUND_HALF_UP)
    assert out.coefficient == next(b.coefficient for b in spec.bands if b.grade == out.grade)


@FAST
@given(cases())
def test_pay_is_base_times_rounded_total_over_a_hundred_in_score_mode(case):
    spec, marks, base = case
    spec = replace(spec, pay_mode=PayMode.SCORE)
    out = compute(spec, marks, base)
    # Deductions can take the total below zero; pay stops at zero.
    assert out.pay == max(base * out.total / 100, D(0)).quantize(CENT, spec.rounding)


@FAST
@given(cases(), st.data())
def test_the_total_does_not_depend_on_the_order_of_marks(case, data):
    spec, marks, base = case
    shuffled = data.draw(st.permutations(marks))
    a, b = compute(spec, marks, base), compute(spec, shuffled, base)
    assert (a.total, a.grade, a.pay) == (b.total, b.grade, b.pay)
    assert D(a.trace["total_raw"]) == D(b.trace["total_raw"])


@FAST
@given(cases())
def test_the_grade_is_the_band_of_the_rounded_total(case):
    spec, marks, base = case
    out = compute(spec, marks, base)
    assert out.total == D(out.trace["total_raw"]).quantize(CENT, spec.rounding)
    band = next((b for b in spec.bands if out.total >= b.min_score), spec.bands[-1])
    assert out.grade == band.grade


@FAST
@given(cases())
def test_the_trace_adds_up_to_the_raw_total_exactly(case):
    spec, marks, base = case
    t = compute(spec, marks, base).trace
    with decimal.localcontext(prec=1000):  # real arithmetic for the check
        rebuilt = (
            sum((D(r["points"]) for r in t["indicators"]), D(0))
            + D(t["bonus_applied"])
            - D(t["deduction_applied"])
        )
    assert rebuilt == D(t["total_raw"])
