"""How each scorer scores, on constructed data with a known uniform scorer, a lenient one
and a normal one: exactly the expected flags, and the figures worked out by hand.

Scheme: a 50 + b 50 (0–100), roles manager 70 and head 30. 一分公司's managers:
  U (uniform): (80,80) (81,81) (82,82) (80,82) (81,80) → 80, 81, 82, 81, 80.5: range 2
  L (lenient): (100,100) ×4, (100,90) → 100 ×4, 95; 9 of 10 marks at the maximum (90%)
  N (normal):  (60,70) (75,85) (90,80) (70,70) (85,95) → 65, 80, 85, 70, 90
Means: U 80.9, L 99, N 78. Peers (the other managers' totals pooled): U (99×5 + 78×5)/10
= 88.5 → −7.6; L (80.9×5 + 78×5)/10 = 79.45 → +19.55; N (80.9 + 99)/2 = 89.95 → −11.95.
H (head) scores N's five people 5 points above N: N −5 vs the other scorer, H +5.
二分公司's S gives two people (95,95): range 0, but two people are too few to flag.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from bot.appraisal import scorers
from bot.appraisal.periods import new_period
from bot.infra import i18n
from models import (
    Department,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    PeriodState,
    Scheme,
    ScorerRole,
)
from tests.chat_helpers import NOW, SH, _scored

LIMITS = scorers.Thresholds(D(2), D(80), D(10), 3)
U = [(80, 80), (81, 81), (82, 82), (80, 82), (81, 80)]
L = [(100, 100)] * 4 + [(100, 90)]
N = [(60, 70), (75, 85), (90, 80), (70, 70), (85, 95)]


@pytest.fixture
def world(session):
    return build(session)


def build(session):
    group = Group(name="集团")
    session.add(group)
    session.flush()
    one = Institution(group_id=group.id, name="一分公司")
    two = Institution(group_id=group.id, name="二分公司")
    session.add_all([one, two])
    session.flush()
    session.add(Department(institution_id=one.id, name="部", path="部"))
    scheme = Scheme(group_id=group.id, code="S", name="方案", created_at=NOW)
    scheme.indicators = [
        Indicator(position=1, code="a", name="业绩", kind=IndicatorKind.SCORE, weight=D(50)),
        Indicator(position=2, code="b", name="质量", kind=IndicatorKind.SCORE, weight=D(50)),
        Indicator(position=3, code="x", name="加分", kind=IndicatorKind.BONUS, max_score=D(5)),
    ]
    scheme.roles = [
        ScorerRole(position=1, code="manager", name="直接上级", weight=D(70)),
        ScorerRole(position=2, code="head", name="一把手", weight=D(30)),
    ]
    scheme.grades = [GradeBand(grade="A", label="A", min_score=D(0), coefficient=D(1))]
    session.add(scheme)
    session.flush()
    deadline = dt.datetime(2026, 12, 7, 23, 59, tzinfo=SH)
    period = new_period(
        group.id,
        scheme.id,
        "2026-11",
        state=PeriodState.SCORING_CLOSED,
        deadline=deadline,
        now=NOW,
    )
    session.add(period)
    session.flush()
    count = iter(range(1, 1000))

    def emp(name, inst=one):
        e = Employee(
            group_id=group.id, number=f"{next(count):03d}", name=name, institution_id=inst.id
        )
        session.add(e)
        session.flush()
        return e

    u, lenient, n, h, s = emp("均匀"), emp("宽松"), emp("正常"), emp("一把手"), emp("少数", two)
    for scorer, marks in ((u, U), (lenient, L), (n, N)):
        for k, (a, b) in enumerate(marks):
            person = emp(f"{scorer.name}{k}")
            # A bonus item never counts in a scorer's total.
            _scored(session, period, scorer, person, "manager", {"a": a, "b": b, "x": 5})
            if scorer is n:
                _scored(session, period, h, person, "head", {"a": a + 5, "b": b + 5})
    for k in range(2):
        _scored(session, period, s, emp(f"乙{k}", two), "manager", {"a": 95, "b": 95})
    one.head_id = h.id
    session.flush()
    return period, {"U": u, "L": lenient, "N": n, "H": h, "S": s}


def test_exactly_the_expected_flags_and_the_hand_worked_figures(session, world):
    period, who = world
    found = {(s.scorer_id, s.role): s for s in scorers.spreads(session, period, thresholds=LIMITS)}
    by = {k: found[(e.id, "head" if k == "H" else "manager")] for k, e in who.items()}
    assert {k: set(s.flags) for k, s in by.items()} == {
        "U": {scorers.Flag.UNIFORM},
        "L": {scorers.Flag.MAX_MARKS, scorers.Flag.ABOVE_PEERS},
        "N": set(),
        "H": set(),
        "S": set(),
    }
    u, lenient, n, h, s = (by[k] for k in "ULNHS")
    assert (u.people, u.low, u.high, u.mean) == (5, D(80), D(82), D("80.9"))
    assert u.vs_peers == D("-7.6")
    assert lenient.max_share == D(90)
    assert lenient.vs_peers == D("19.55")
    assert n.vs_peers == D("-11.95")
    assert (n.other_people, n.vs_other, h.vs_other) == (5, D(-5), D(5))
    assert h.peer_mean is None  # no other head in 一分公司
    assert n.max_share == 0
    # population std dev of 65, 80, 85, 70, 90 (mean 78): √((169+4+49+64+144)/5) = √86
    assert scorers.p2(n.std) == "9.27"
    assert (s.people, s.high - s.low) == (2, D(0))  # uniform, but too few to tell


def test_a_stricter_threshold_flags_more_and_none_blocks_anything(session, world):
    period, _who = world
    looser = scorers.Thresholds(D(25), D(100), D(100), 2)
    flagged = {s.name for s in scorers.spreads(session, period, thresholds=looser) if s.flags}
    # Range ≤ 25: U (2), L (5), N (25), H (25), S (0, two people now enough).
    assert flagged == {"均匀", "宽松", "正常", "一把手", "少数"}


def test_one_institution_only(session, world):
    period, who = world
    two = who["S"].institution_id
    found = scorers.spreads(session, period, [two], thresholds=LIMITS)
    assert [s.name for s in found] == ["少数"]


def test_the_line_says_each_flag(session, world):
    period, _who = world
    found = scorers.spreads(session, period, thresholds=LIMITS)
    lenient = next(s for s in found if s.name == "宽松")
    with i18n.using("en"):
        text = scorers.line(lenient, LIMITS, scorers.role_names(session, period))
    assert "宽松 (直接上级): 5 people, 95.00–100.00" in text
    assert "90.00% maximum marks" in text
    assert "+19.55 points vs peers" in text
    assert "more than 80% maximum marks" in text
    assert "average 10+ points above peers" in text
    assert "everyone within" not in text


def test_the_line_in_chinese(session, world):
    period, _who = world
    found = scorers.spreads(session, period, thresholds=LIMITS)
    lenient = next(s for s in found if s.name == "宽松")
    text = scorers.line(lenient, LIMITS, scorers.role_names(session, period))
    assert "宽松（直接上级）：5 人，95.00–100.00" in text
    assert "满分占 90.00%" in text
    assert "满分超过 80%" in text
    assert "平均分高于同类考核人 10 分以上" in text
