"""Metric indicators and sections in the pay engine: hand-computed cases.

Every expected value is worked out in the comment beside it.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.appraisal import metrics
from bot.appraisal.pay import (
    BandSpec,
    Incomplete,
    IndicatorSpec,
    Mark,
    RoleSpec,
    SchemeSpec,
    SectionSpec,
    compute,
)
from models.scheme import IndicatorKind

BANDS = (
    BandSpec("A", "优秀", D(90), D("1.2")),
    BandSpec("B", "良好", D(75), D("1.0")),
    BandSpec("C", "合格", D(0), D("0.8")),
)
ROLES = (RoleSpec("manager", "直接上级", D(70)), RoleSpec("head", "机构负责人", D(30)))
LINEAR = metrics.parse("线性 60-120")
STEPPED = metrics.parse("阶梯 100:100, 90:80, 80:60")


def metric(id_: int, weight: str, rule: dict, section: str | None = None) -> IndicatorSpec:
    return IndicatorSpec(
        id_,
        f"M{id_}",
        f"数据{id_}",
        IndicatorKind.METRIC,
        D(weight),
        D(0),
        D(100),
        rule=rule,
        section=section,
    )


def score(id_: int, weight: str, section: str | None = None) -> IndicatorSpec:
    return IndicatorSpec(
        id_,
        f"I{id_}",
        f"指标{id_}",
        IndicatorKind.SCORE,
        D(weight),
        D(0),
        D(100),
        section=section,
    )


def scheme(*indicators: IndicatorSpec, sections=()) -> SchemeSpec:
    return SchemeSpec(
        id=1,
        code="S",
        name="月度",
        version=1,
        indicators=indicators,
        roles=ROLES,
        bands=BANDS,
        sections=sections,
    )


def one_metric(rule: dict, target: str, actual: str, weight: str = "50") -> dict:
    spec = scheme(metric(1, weight, rule), score(2, str(100 - int(weight))))
    out = compute(spec, [Mark("manager", 2, D(100))], D(1000), {1: (D(target), D(actual))})
    return out.trace["indicators"][0]


@pytest.mark.parametrize(
    ("target", "actual", "rate", "points"),
    [
        ("500", "430", "86", "43"),  # 430/500 = 86% → 50 × 86% = 43
        ("500", "299", "59.8", "0"),  # 59.8% < floor 60% → 0
        ("500", "300", "60", "30"),  # exactly the floor counts: 50 × 60% = 30
        ("500", "650", "130", "60"),  # 130% above the cap 120%: 50 × 120% = 60
    ],
)
def test_linear_with_floor_and_cap(target: str, actual: str, rate: str, points: str) -> None:
    entry = one_metric(LINEAR, target, actual)
    assert D(entry["rate"]) == D(rate)
    assert D(entry["points"]) == D(points)
    assert entry["target"] == target
    assert entry["actual"] == actual


@pytest.mark.parametrize(
    ("actual", "points"),
    [
        ("100", "50"),  # 100% → 100% of 50
        ("95", "40"),  # 95% ≥ 90 → 80% of 50 = 40
        ("85", "30"),  # 85% ≥ 80 → 60% of 50 = 30
        ("79.9", "0"),  # below every step → 0
    ],
)
def test_stepped(actual: str, points: str) -> None:
    assert D(one_metric(STEPPED, "100", actual)["points"]) == D(points)


def test_lower_is_better_both_forms() -> None:
    lower_linear = metrics.parse("线性 60-120", metrics.LOWER)
    # complaints: target 10, actual 12 → rate (2 − 12/10) × 100 = 80% → 50 × 80% = 40
    entry = one_metric(lower_linear, "10", "12")
    assert D(entry["rate"]) == 80
    assert D(entry["points"]) == 40
    # actual 0 → 200%, capped at 120% → 60
    assert D(one_metric(lower_linear, "10", "0")["points"]) == 60
    lower_steps = metrics.parse("阶梯 100:100, 90:80", metrics.LOWER)
    # target 10, actual 11 → 90% → 80% of 50 = 40; actual 9 → 110% → 50
    assert D(one_metric(lower_steps, "10", "11")["points"]) == 40
    assert D(one_metric(lower_steps, "10", "9")["points"]) == 50


def test_total_with_metric_and_missing_metric() -> None:
    spec = scheme(metric(1, "50", LINEAR), score(2, "50"))
    # 43 + 50 × 80 / 100 = 83
    out = compute(spec, [Mark("manager", 2, D(80))], D(1000), {1: (D(500), D(430))})
    assert out.total == D("83.00")
    assert out.grade == "B"
    with pytest.raises(Incomplete) as exc:
        compute(spec, [Mark("manager", 2, D(80))], D(1000))
    assert exc.value.missing == ["M1"]


SECTIONS = (
    SectionSpec("perf", "业绩指标", D(50)),
    SectionSpec(
        "360",
        "360评价",
        D(30),
        (RoleSpec("manager", "直接上级", D(60)), RoleSpec("head", "机构负责人", D(40))),
    ),
    SectionSpec("conduct", "行为规范", D(20), (RoleSpec("manager", "直接上级", D(100)),)),
)


def layered() -> SchemeSpec:
    return scheme(
        metric(1, "100", LINEAR, "perf"),
        score(2, "100", "360"),
        score(3, "100", "conduct"),
        sections=SECTIONS,
    )


def test_sections_50_30_20() -> None:
    # perf: 460/500 = 92% → 92; 360: 85 from both roles; conduct: 78.
    # 50 × 92 + 30 × 85 + 20 × 78 = 4600 + 2550 + 1560 = 8710 → / 100 = 87.10
    out = compute(
        layered(),
        [Mark("manager", 2, D(85)), Mark("head", 2, D(85)), Mark("manager", 3, D(78))],
        D(1000),
        {1: (D(500), D(460))},
    )
    assert out.total == D("87.10")
    sections = {s["code"]: s for s in out.trace["sections"]}
    assert D(sections["perf"]["points"]) == 46
    assert D(sections["360"]["points"]) == D("25.5")
    assert D(sections["conduct"]["points"]) == D("15.6")
    assert not any(s["reweighted"] for s in sections.values())
    assert out.trace["rule"] == "reweight_present_roles_in_section"


def test_missing_role_reweighted_within_its_section_only() -> None:
    # The head, 360's only head scorer, did not score: the manager's 90 counts 100% in
    # 360 (not 60%), conduct is untouched: 50 × 92 + 30 × 90 + 20 × 78 = 4600 + 2700 +
    # 1560 = 8860 → 88.60
    out = compute(
        layered(),
        [Mark("manager", 2, D(90)), Mark("manager", 3, D(78))],
        D(1000),
        {1: (D(500), D(460))},
    )
    assert out.total == D("88.60")
    sections = {s["code"]: s for s in out.trace["sections"]}
    assert sections["360"]["reweighted"] is True
    assert [r["present"] for r in sections["360"]["roles"]] == [True, False]
    assert sections["conduct"]["reweighted"] is False
    # Within 360, head 40 + manager 60 with marks 70 and 90: 0.4 × 70 + 0.6 × 90 = 82
    both = compute(
        layered(),
        [Mark("manager", 2, D(90)), Mark("head", 2, D(70)), Mark("manager", 3, D(78))],
        D(1000),
        {1: (D(500), D(460))},
    )
    # 4600 + 30 × 82 + 1560 = 8620 → 86.20
    assert both.total == D("86.20")


def test_section_nobody_scored_is_incomplete() -> None:
    with pytest.raises(Incomplete) as exc:
        compute(layered(), [Mark("manager", 3, D(78))], D(1000), {1: (D(500), D(460))})
    assert exc.value.missing == ["I2"]


def test_no_sections_trace_has_no_section_keys() -> None:
    spec = scheme(score(1, "100"))
    out = compute(spec, [Mark("manager", 1, D(80))], D(1000))
    assert "sections" not in out.trace
    assert "section" not in out.trace["indicators"][0]
    assert out.trace["rule"] == "reweight_present_roles"


def test_rule_words() -> None:
    assert LINEAR == {"form": "linear", "direction": "higher", "floor": "60", "cap": "120"}
    assert STEPPED["steps"] == [["100", "100"], ["90", "80"], ["80", "60"]]
    for bad in ("线性 120-60", "阶梯 100:100, 100:90", "whatever", "阶梯 "):
        with pytest.raises(metrics.BadRule):
            metrics.parse(bad)


# ------------------------------------------------------------------ properties

MARK = st.integers(0, 10_000).map(lambda i: D(i).scaleb(-2))


@settings(max_examples=150, deadline=None)
@given(
    manager=st.lists(MARK, min_size=3, max_size=3),
    head=st.lists(st.one_of(st.none(), MARK), min_size=3, max_size=3),
)
def test_one_section_of_everything_is_the_scheme_without_sections(manager, head) -> None:
    """A single section of weight 100 holding every indicator, scored by the scheme's
    own roles, gives exactly the total of the same scheme without sections."""
    plain = scheme(score(1, "50"), score(2, "30"), score(3, "20"))
    one = scheme(
        score(1, "50", "all"),
        score(2, "30", "all"),
        score(3, "20", "all"),
        sections=(SectionSpec("all", "全部", D(100), ROLES),),
    )
    marks = [Mark("manager", i, v) for i, v in enumerate(manager, start=1)]
    marks += [Mark("head", i, v) for i, v in enumerate(head, start=1) if v is not None]
    a = compute(plain, marks, D(1000))
    b = compute(one, marks, D(1000))
    assert (a.total, a.grade, a.pay) == (b.total, b.grade, b.pay)
    assert D(b.trace["weighted"]) == D(a.trace["weighted"])


@settings(max_examples=150, deadline=None)
@given(
    target=st.integers(1, 10**9).map(D),
    actual=st.integers(0, 2 * 10**9).map(D),
    more=st.integers(1, 10**8).map(D),
)
def test_a_higher_actual_never_gives_fewer_points(target, actual, more) -> None:
    """Higher is better: more actual, never fewer points; lower is better: never more."""
    for rule in (LINEAR, STEPPED):
        up = one_metric(rule, str(target), str(actual + more))
        base = one_metric(rule, str(target), str(actual))
        assert D(up["points"]) >= D(base["points"])
        lower = dict(rule, direction=metrics.LOWER)
        assert D(one_metric(lower, str(target), str(actual + more))["points"]) <= D(
            one_metric(lower, str(target), str(actual))["points"]
        )
