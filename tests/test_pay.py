"""Worked examples for the pay engine, every number computed by hand.

Each expected value is exact; the arithmetic is in the comment next to it. The two
examples in docs/computation.md are `six_indicator_scheme` and `bonus_deduction_scheme`.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal as D
from typing import Any

import pytest

from bot.appraisal.pay import (
    BandSpec,
    Incomplete,
    IndicatorSpec,
    Mark,
    RoleSpec,
    SchemeSpec,
    compute,
    normalise,
)
from models.scheme import IndicatorKind, PayMode

# ----------------------------------------------------------------------------- builders

ROLES = (
    RoleSpec("manager", "直属上级", D(70)),
    RoleSpec("head", "部门负责人", D(30)),
    RoleSpec("self", "自评", D(0)),
)
BANDS = (  # highest min_score first
    BandSpec("A", "优秀", D(90), D("1.2")),
    BandSpec("B", "良好", D(75), D("1.0")),
    BandSpec("C", "合格", D(60), D("0.8")),
    BandSpec("D", "待改进", D(0), D("0.5")),
)


def score(id_: int, weight: str, lo: str = "0", hi: str = "100") -> IndicatorSpec:
    return IndicatorSpec(id_, f"I{id_}", f"指标{id_}", IndicatorKind.SCORE, D(weight), D(lo), D(hi))


def rating(id_: int, weight: str, levels: tuple[tuple[str, str], ...]) -> IndicatorSpec:
    pts = tuple((label, D(p)) for label, p in levels)
    top = max(p for _, p in pts)
    return IndicatorSpec(
        id_, f"I{id_}", f"指标{id_}", IndicatorKind.RATING, D(weight), D(0), top, pts
    )


def bonus(id_: int, cap: str) -> IndicatorSpec:
    return IndicatorSpec(id_, f"B{id_}", f"加分{id_}", IndicatorKind.BONUS, D(0), D(0), D(cap))


def deduction(id_: int, cap: str) -> IndicatorSpec:
    return IndicatorSpec(id_, f"D{id_}", f"扣分{id_}", IndicatorKind.DEDUCTION, D(0), D(0), D(cap))


def scheme(*indicators: IndicatorSpec, **kw: Any) -> SchemeSpec:
    kw.setdefault("roles", ROLES)
    kw.setdefault("bands", BANDS)
    return SchemeSpec(id=1, code="S", name="月度考核", version=1, indicators=indicators, **kw)


def marks(role: str, **values: str) -> list[Mark]:
    """marks("manager", I1="90", B7="3") → one mark per indicator code (id from the code)."""
    return [Mark(role, int(code[1:]), D(v)) for code, v in values.items()]


# ------------------------------------------------------ example 1: six indicators, 70/30

SIX = scheme(
    score(1, "30"),
    score(2, "20"),
    score(3, "15"),
    score(4, "15"),
    score(5, "10"),
    score(6, "10"),
)
SIX_MARKS = [
    *marks("manager", I1="90", I2="85", I3="70", I4="100", I5="80", I6="95"),
    *marks("head", I1="80", I2="95", I3="60", I4="90", I5="75", I6="88"),
    *marks("self", I1="100", I2="100", I3="100", I4="100", I5="100", I6="100"),
]


def six_indicator_scheme() -> tuple[SchemeSpec, list[Mark]]:
    return SIX, SIX_MARKS


def test_it_combines_two_roles_seventy_thirty_across_six_weighted_indicators():
    out = compute(SIX, SIX_MARKS, D("6000"))
    # per indicator: 0.7 × manager + 0.3 × head, then × weight / 100
    # I1: 0.7×90 + 0.3×80 = 63 + 24     = 87   → 30 × 87   / 100 = 26.1
    # I2: 0.7×85 + 0.3×95 = 59.5 + 28.5 = 88   → 20 × 88   / 100 = 17.6
    # I3: 0.7×70 + 0.3×60 = 49 + 18     = 67   → 15 × 67   / 100 = 10.05
    # I4: 0.7×100 + 0.3×90 = 70 + 27    = 97   → 15 × 97   / 100 = 14.55
    # I5: 0.7×80 + 0.3×75 = 56 + 22.5   = 78.5 → 10 × 78.5 / 100 = 7.85
    # I6: 0.7×95 + 0.3×88 = 66.5 + 26.4 = 92.9 → 10 × 92.9 / 100 = 9.29
    points = [D(r["points"]) for r in out.trace["indicators"]]
    assert points == [D("26.1"), D("17.6"), D("10.05"), D("14.55"), D("7.85"), D("9.29")]
    # 26.1 + 17.6 + 10.05 + 14.55 + 7.85 + 9.29 = 85.44 → band B (75 ≤ 85.44 < 90)
    assert out.total == D("85.44")
    assert out.grade == "B"
    assert out.coefficient == D("1.0")
    # 6000 × 1.0 = 6000.00
    assert out.pay == D("6000.00")
    # the next band is A at 90: 90 − 85.44 = 4.56 to go
    assert out.trace["grade"]["next"] == {"grade": "A", "label": "优秀", "min": "90", "gap": "4.56"}


def test_it_shows_the_self_assessment_but_never_counts_it():
    without_self = [m for m in SIX_MARKS if m.role != "self"]
    # self gave 100 everywhere; with weight 0 the total is the same 85.44
    assert compute(SIX, without_self, D("6000")).total == D("85.44")
    out = compute(SIX, SIX_MARKS, D("6000"))
    assert out.trace["indicators"][0]["by_role"]["self"] == ["100"]
    present = {r["code"]: r["present"] for r in out.trace["roles"]}
    assert present == {"manager": True, "head": True, "self": True}


# ----------------------------------------------- example 2: bonus and capped deductions

BONUS_DEDUCTION = scheme(
    score(1, "60"),
    score(2, "40"),
    bonus(3, "5"),  # innovation, item cap 5
    bonus(4, "3"),  # award, item cap 3
    deduction(5, "4"),  # lateness, item cap 4
    deduction(6, "10"),  # complaint, item cap 10
    bonus_cap=D("6"),
    deduction_cap=D("8"),
)
BONUS_DEDUCTION_MARKS = [
    *marks("manager", I1="80", I2="90", B3="7", B4="3", D5="6", D6="5"),
    *marks("head", I1="90", I2="80", B3="4", B4="3", D6="5"),
]


def bonus_deduction_scheme() -> tuple[SchemeSpec, list[Mark]]:
    return BONUS_DEDUCTION, BONUS_DEDUCTION_MARKS


def test_it_caps_each_item_and_then_the_bonus_and_deduction_sums():
    out = compute(BONUS_DEDUCTION, BONUS_DEDUCTION_MARKS, D("5000"))
    t = out.trace
    # I1: 0.7×80 + 0.3×90 = 56 + 27 = 83 → 60 × 83 / 100 = 49.8
    # I2: 0.7×90 + 0.3×80 = 63 + 24 = 87 → 40 × 87 / 100 = 34.8
    # weighted = 49.8 + 34.8 = 84.6
    assert D(t["weighted"]) == D("84.6")
    # B3: 0.7×7 + 0.3×4 = 4.9 + 1.2 = 6.1, item cap 5 → 5
    # B4: 0.7×3 + 0.3×3 = 3,            item cap 3 → 3
    b3, b4 = t["bonus"]["items"]
    assert (D(b3["value"]), D(b3["applied"])) == (D("6.1"), D("5"))
    assert (D(b4["value"]), D(b4["applied"])) == (D("3"), D("3"))
    # bonus sum 5 + 3 = 8, scheme cap 6 → 6
    assert (D(t["bonus"]["sum"]), D(t["bonus_applied"])) == (D("8"), D("6"))
    # D5: only the manager entered it → counts 100%: 6, item cap 4 → 4
    # D6: 0.7×5 + 0.3×5 = 5, item cap 10 → 5
    d5, d6 = t["deduction"]["items"]
    assert (D(d5["value"]), D(d5["applied"])) == (D("6"), D("4"))
    assert (D(d6["value"]), D(d6["applied"])) == (D("5"), D("5"))
    # deduction sum 4 + 5 = 9, scheme cap 8 → 8
    assert (D(t["deduction"]["sum"]), D(t["deduction_applied"])) == (D("9"), D("8"))
    # total = 84.6 + 6 − 8 = 82.6 → B, 5000 × 1.0 = 5000.00
    assert out.total == D("82.60")
    assert out.grade == "B"
    assert out.pay == D("5000.00")


def test_it_counts_a_bonus_item_nobody_entered_as_zero():
    spec = scheme(score(1, "100"), bonus(2, "5"), deduction(3, "5"))
    out = compute(spec, marks("manager", I1="80"), D("1000"))
    # 80 + 0 − 0 = 80
    assert out.total == D("80.00")
    assert out.trace["bonus"]["items"][0]["applied"] == "0"
    assert out.trace["deduction"]["items"][0]["applied"] == "0"


def test_it_caps_a_deduction_only_at_the_item_when_the_scheme_has_no_cap():
    spec = scheme(score(1, "100"), deduction(2, "3"), deduction(3, "10"))
    out = compute(spec, marks("manager", I1="95", D2="5", D3="4"), D("1000"))
    # D2: 5 capped at 3; D3: 4; no scheme cap → 3 + 4 = 7; 95 − 7 = 88 → B
    assert out.trace["deduction_applied"] == "7"
    assert out.trace["deduction"]["cap"] is None
    assert out.total == D("88.00")
    assert out.grade == "B"


def test_it_ignores_a_bonus_entered_only_by_the_self_assessment():
    spec = scheme(score(1, "100"), bonus(2, "5"))
    out = compute(spec, [*marks("manager", I1="80"), *marks("self", B2="5")], D("1000"))
    # self has weight 0: no positive-weight role entered B2 → counts 0; total 80
    assert out.total == D("80.00")


# ------------------------------------------------------------------ grade band edges


def one_indicator(hi: str = "100", **kw: Any) -> SchemeSpec:
    return scheme(score(1, "100", hi=hi), **kw)


def test_it_grades_a_total_of_exactly_ninety_as_a():
    out = compute(one_indicator(), marks("manager", I1="90"), D("1000"))
    # 100 × 90 / 100 = 90 ≥ 90 → A, next band: none
    assert (out.total, out.grade, out.coefficient) == (D("90.00"), "A", D("1.2"))
    assert out.trace["grade"]["next"] is None


def test_it_grades_on_the_rounded_total_so_89_995_shows_and_grades_as_90():
    out = compute(one_indicator(), marks("manager", I1="89.995"), D("1000"))
    # total_raw 89.995 → ROUND_HALF_UP to 2 places → 90.00 → A (not B)
    assert D(out.trace["total_raw"]) == D("89.995")
    assert out.total == D("90.00")
    assert out.grade == "A"
    # 1000 × 1.2 = 1200.00
    assert out.pay == D("1200.00")


def test_it_grades_89_995_on_a_zero_to_thousand_range_as_a_too():
    out = compute(one_indicator(hi="1000"), marks("manager", I1="899.95"), D("1000"))
    # 899.95 / 1000 × 100 = 89.995 → 90.00 → A
    assert D(out.trace["total_raw"]) == D("89.995")
    assert (out.total, out.grade) == (D("90.00"), "A")


def test_it_rounds_89_994_down_to_89_99_which_is_b():
    out = compute(one_indicator(), marks("manager", I1="89.994"), D("1000"))
    # 89.994 → 89.99 < 90 → B; next A is 90 − 89.99 = 0.01 away
    assert D(out.trace["total_raw"]) == D("89.994")
    assert (out.total, out.grade, out.coefficient) == (D("89.99"), "B", D("1.0"))
    assert D(out.trace["grade"]["next"]["gap"]) == D("0.01")


def test_it_rounds_the_total_half_even_when_the_scheme_says_so():
    spec = one_indicator(rounding=decimal.ROUND_HALF_EVEN)
    # 89.995: the digit before the 5 is 9 (odd) → up to 90.00 → A
    assert compute(spec, marks("manager", I1="89.995"), D("1000")).grade == "A"
    # 89.985: the digit before the 5 is 8 (even) → stays 89.98 → B
    out = compute(spec, marks("manager", I1="89.985"), D("1000"))
    assert (out.total, out.grade) == (D("89.98"), "B")


def test_it_puts_a_total_below_every_band_in_the_lowest_band():
    spec = scheme(score(1, "100"), deduction(2, "20"), bands=BANDS[:3])  # lowest band C ≥ 60
    out = compute(spec, marks("manager", I1="50", D2="10"), D("1000"))
    # 50 − 10 = 40 < 60 → still C (the lowest band); next is B
    assert (out.total, out.grade) == (D("40.00"), "C")
    assert out.trace["grade"]["next"]["grade"] == "B"
    # gap 75 − 40 = 35
    assert D(out.trace["grade"]["next"]["gap"]) == D("35")


# ------------------------------------------------------------------ rounding of 0.005 yuan

HALF_BAND = (BandSpec("X", "半", D(0), D("0.5")),)


def test_it_rounds_half_a_fen_up_by_default():
    spec = scheme(score(1, "100"), bands=HALF_BAND)
    out = compute(spec, marks("manager", I1="80"), D("1000.01"))
    # 1000.01 × 0.5 = 500.005 → ROUND_HALF_UP → 500.01
    assert D(out.trace["pay"]["raw"]) == D("500.005")
    assert out.pay == D("500.01")
    assert out.trace["pay"]["rounding"] == "ROUND_HALF_UP"


def test_it_rounds_half_a_fen_to_even_when_the_scheme_says_so():
    spec = scheme(score(1, "100"), bands=HALF_BAND, rounding=decimal.ROUND_HALF_EVEN)
    # 1000.01 × 0.5 = 500.005 → half-even: 0 is even → 500.00
    assert compute(spec, marks("manager", I1="80"), D("1000.01")).pay == D("500.00")
    # 1000.03 × 0.5 = 500.015 → half-even: 1 is odd → 500.02
    assert compute(spec, marks("manager", I1="80"), D("1000.03")).pay == D("500.02")


# ------------------------------------------------------------------ missing and zero roles


def test_it_reweights_when_the_head_has_not_scored():
    spec = scheme(score(1, "100"))
    out = compute(spec, marks("manager", I1="80"), D("1000"))
    # only the manager (70) scored: 70 × 80 / 70 = 80 → the manager counts 100%
    assert out.total == D("80.00")
    assert out.trace["rule"] == "reweight_present_roles"
    present = {r["code"]: r["present"] for r in out.trace["roles"]}
    assert present == {"manager": True, "head": False, "self": False}


def test_it_reweights_each_indicator_by_the_roles_that_scored_it():
    spec = scheme(score(1, "50"), score(2, "50"))
    out = compute(spec, [*marks("manager", I1="80", I2="90"), *marks("head", I1="60")], D("1"))
    # I1: 0.7×80 + 0.3×60 = 56 + 18 = 74 → 50 × 74 / 100 = 37
    # I2: head absent → manager 100%: 90  → 50 × 90 / 100 = 45
    # total 37 + 45 = 82
    assert [r["points"] for r in out.trace["indicators"]] == ["37", "45"]
    assert out.total == D("82.00")


def test_it_never_counts_a_role_of_weight_zero():
    spec = scheme(score(1, "100"))
    out = compute(spec, [*marks("manager", I1="60"), *marks("self", I1="100")], D("1000"))
    # self weight 0 → 60 only → C, 1000 × 0.8 = 800.00
    assert (out.total, out.grade, out.pay) == (D("60.00"), "C", D("800.00"))


def test_it_refuses_when_only_a_zero_weight_role_has_scored():
    spec = scheme(score(1, "60"), score(2, "40"))
    with pytest.raises(Incomplete) as exc:
        compute(spec, [*marks("self", I1="100"), *marks("manager", I2="80")], D("1000"))
    assert exc.value.missing == ["I1"]


def test_it_refuses_when_nobody_has_scored_and_lists_every_weighted_indicator():
    spec = scheme(score(1, "60"), score(2, "40"), bonus(3, "5"))
    with pytest.raises(Incomplete) as exc:
        compute(spec, [], D("1000"))
    assert exc.value.missing == ["I1", "I2"]  # the bonus item is optional


# ------------------------------------------------------------ several scorers, kinds, modes


def test_it_averages_several_scorers_in_one_role():
    spec = scheme(score(1, "100"))
    ms = [*marks("manager", I1="80"), *marks("manager", I1="90"), *marks("head", I1="70")]
    out = compute(spec, ms, D("1000"))
    # manager mean (80 + 90) / 2 = 85; 0.7×85 + 0.3×70 = 59.5 + 21 = 80.5
    assert out.total == D("80.50")
    assert out.trace["indicators"][0]["by_role"] == {"manager": ["80", "90"], "head": ["70"]}


def test_it_averages_three_scorers_without_losing_the_third():
    spec = scheme(score(1, "100"), roles=(RoleSpec("manager", "上级", D(1)),))
    ms = marks("manager", I1="80") + marks("manager", I1="80") + marks("manager", I1="81")
    # (80 + 80 + 81) / 3 = 80.333… → 80.33
    out = compute(spec, ms, D("1000"))
    assert out.total == D("80.33")


LEVELS = (("优秀", "10"), ("良好", "8"), ("合格", "6"), ("不合格", "0"))


def test_it_scores_a_rating_by_its_points_and_normalises_a_zero_to_ten_score():
    spec = scheme(rating(1, "40", LEVELS), score(2, "60", hi="10"))
    ms = [*marks("manager", I1="8", I2="7.5"), *marks("head", I1="10", I2="9")]
    out = compute(spec, ms, D("1000"))
    # I1 rating, best level 10: 良好 8 → 80, 优秀 10 → 100
    #    0.7×80 + 0.3×100 = 56 + 30 = 86 → 40 × 86 / 100 = 34.4
    # I2 score 0..10: 7.5 → 75, 9 → 90
    #    0.7×75 + 0.3×90 = 52.5 + 27 = 79.5 → 60 × 79.5 / 100 = 47.7
    # total 34.4 + 47.7 = 82.1 → B
    assert [D(r["norm"]) for r in out.trace["indicators"]] == [D("86"), D("79.5")]
    assert [D(r["points"]) for r in out.trace["indicators"]] == [D("34.4"), D("47.7")]
    assert (out.total, out.grade) == (D("82.10"), "B")


def test_it_normalises_a_score_from_its_minimum_not_from_zero():
    ind = score(1, "100", lo="1", hi="5")
    # (4 − 1) / (5 − 1) × 100 = 75; (1 − 1) / 4 × 100 = 0
    assert normalise(ind, D("4")) == D("75")
    assert normalise(ind, D("1")) == D("0")
    assert compute(scheme(ind), marks("manager", I1="4"), D("1")).total == D("75.00")


def test_it_pays_base_times_total_over_a_hundred_in_score_mode():
    spec = scheme(*SIX.indicators, pay_mode=PayMode.SCORE)
    out = compute(spec, SIX_MARKS, D("5000"))
    # total 85.44 (example 1); 5000 × 85.44 / 100 = 4272.00 (grade B is still shown)
    assert (out.total, out.grade, out.pay) == (D("85.44"), "B", D("4272.00"))
    assert out.trace["pay"]["mode"] == "score"


def test_it_pays_on_the_rounded_total_in_score_mode():
    spec = one_indicator(pay_mode=PayMode.SCORE)
    out = compute(spec, marks("manager", I1="89.995"), D("3333.33"))
    # total 90.00 (rounded); 3333.33 × 90.00 / 100 = 2999.997 → 3000.00
    assert D(out.trace["pay"]["raw"]) == D("2999.997")
    assert out.pay == D("3000.00")


# ------------------------------------------------------------------------------ the trace


def _walk(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _walk(v)]
    if isinstance(node, list):
        return [x for v in node for x in _walk(v)]
    return [node]


def test_the_trace_holds_every_term_as_strings_and_is_json():
    out = compute(BONUS_DEDUCTION, BONUS_DEDUCTION_MARKS, D("5000"))
    t = out.trace
    assert json.loads(json.dumps(t)) == t
    leaves = _walk(t)
    assert not any(isinstance(x, float | D) for x in leaves)
    ints = {k: t[k] for k in ("v", "score_places")}
    assert ints == {"v": 1, "score_places": 2}

    assert [r["code"] for r in t["indicators"]] == ["I1", "I2"]
    i1 = t["indicators"][0]
    assert i1 == {
        "code": "I1",
        "name": "指标1",
        "kind": "score",
        "weight": "60",
        "min": "0",
        "max": "100",
        "by_role": {"manager": ["80"], "head": ["90"]},
        "norm": "83",
        "points": "49.80",  # 60 × 83 / 100
        "lost": "10.20",  # 60 − 49.8
        "comments": [],
    }
    assert t["weighted"] == "84.60"
    assert (t["bonus_applied"], t["deduction_applied"]) == ("6", "8")
    assert (t["bonus"]["cap"], t["deduction"]["cap"]) == ("6", "8")
    assert (t["total_raw"], t["total"]) == ("82.60", "82.60")
    assert t["grade"] == {
        "grade": "B",
        "label": "良好",
        "min": "75",
        "next": {"grade": "A", "label": "优秀", "min": "90", "gap": "7.40"},  # 90 − 82.6
    }
    pay = t["pay"]
    assert (pay["mode"], pay["rounding"]) == ("coefficient", "ROUND_HALF_UP")
    numbers = {k: D(pay[k]) for k in ("base", "coefficient", "raw", "pay", "quantum")}
    # 5000 × 1.0 = 5000 → 5000.00
    assert numbers == {
        "base": D("5000"),
        "coefficient": D("1.0"),
        "raw": D("5000"),
        "pay": D("5000.00"),
        "quantum": D("0.01"),
    }


def test_the_trace_keeps_comments_with_their_role():
    spec = scheme(score(1, "100"))
    ms = [Mark("manager", 1, D("70"), "按时交付"), Mark("head", 1, D("80"))]
    t = compute(spec, ms, D("1")).trace
    assert t["indicators"][0]["comments"] == [["manager", "按时交付"]]


@pytest.mark.parametrize(
    "example",
    [six_indicator_scheme, bonus_deduction_scheme],
    ids=["six-indicators", "bonus-deduction"],
)
def test_the_traces_points_plus_bonus_minus_deduction_give_the_raw_total(example):
    spec, ms = example()
    t = compute(spec, ms, D("5000")).trace
    rebuilt = (
        sum((D(r["points"]) for r in t["indicators"]), D(0))
        + D(t["bonus_applied"])
        - D(t["deduction_applied"])
    )
    assert rebuilt == D(t["total_raw"])
    assert D(t["total_raw"]).quantize(D("0.01"), decimal.ROUND_HALF_UP) == D(t["total"])


def test_the_trace_adds_up_exactly_even_when_thirds_do_not_terminate():
    # roles 2:1 and a 0..3 range: norms and re-weighted means are repeating decimals
    roles = (RoleSpec("manager", "上级", D(2)), RoleSpec("head", "负责人", D(1)))
    spec = scheme(score(1, "37", hi="3"), score(2, "63", hi="7"), roles=roles)
    ms = [*marks("manager", I1="1", I2="5"), *marks("head", I1="2"), *marks("manager", I2="6")]
    out = compute(spec, ms, D("1000"))
    t = out.trace
    with decimal.localcontext(prec=500):  # real arithmetic: no rounding in the check
        rebuilt = sum((D(r["points"]) for r in t["indicators"]), D(0))
        assert rebuilt == D(t["weighted"]) == D(t["total_raw"])
    # I1: (2 × 33.33… + 1 × 66.66…) / 3 = 44.44…      → 37 × 44.44… / 100 = 16.444…
    # I2: manager mean 5.5 → 5.5 / 7 × 100 = 78.571428… → 63 × 78.571428… / 100 = 49.5
    # 16.444… + 49.5 = 65.944… → 65.94
    assert out.total == D("65.94")


def test_the_result_does_not_depend_on_the_callers_decimal_context():
    spec, ms = bonus_deduction_scheme()
    expected = compute(spec, ms, D("5000.01"))
    with decimal.localcontext(prec=4, rounding=decimal.ROUND_DOWN):
        again = compute(spec, ms, D("5000.01"))
    assert (again.total, again.pay, again.trace) == (expected.total, expected.pay, expected.trace)


def test_score_mode_pay_never_goes_below_zero():
    # weighted 10 × 100% = 10 points, deduction 30 (cap 30) → total −20.00; pay floors at 0.
    spec = scheme(score(1, "100"), deduction(2, "30"), pay_mode=PayMode.SCORE)
    out = compute(spec, marks("manager", I1="10", D2="30"), D("5000"))
    assert out.total == D("-20.00")
    assert out.pay == D("0.00")


def test_a_spec_with_other_roles_made_by_replace_computes_with_its_own_roles():
    """The engine memoizes what every appraisee of a spec shares (the role weights);
    a spec derived with `dataclasses.replace` (a form's preview: one role alone) must
    not reuse the memo of the spec it came from."""
    import dataclasses

    spec = scheme(score(1, "100"))
    both = [*marks("manager", I1="90"), *marks("head", I1="60")]
    assert compute(spec, both, D(0)).total == D("81.00")  # 0.7×90 + 0.3×60, memo made
    # Self-assessment weighs 0 in the scheme; alone in the derived spec, it weighs all.
    alone = dataclasses.replace(spec, roles=(RoleSpec("self", "", D(1)),))
    assert compute(alone, marks("self", I1="60"), D(0)).total == D("60.00")
