""" "What if" by the engine from a stored trace: properties over generated schemes and marks
(hypothesis), then on stored results in SQLite and PostgreSQL, including a later scheme
version and a changed pay base that must change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.appraisal import whatif
from bot.appraisal.pay import IndicatorSpec, compute
from models import GradeBand, Indicator, IndicatorKind, Result, Scheme, ScorerRole
from tests.chat_helpers import NOW, build_world
from tests.test_pay_properties import FAST, cases, value_for


def _value(ind: IndicatorSpec) -> st.SearchStrategy[D]:
    return value_for(ind)


@FAST
@given(cases())
def test_what_if_with_the_stored_values_reproduces_the_stored_result_exactly(case):
    spec, marks, base = case
    stored = compute(spec, marks, base)
    again = whatif.recompute(spec, stored.trace, base, {})
    assert (again.total, again.grade, again.coefficient, again.pay) == (
        stored.total,
        stored.grade,
        stored.coefficient,
        stored.pay,
    )
    # The trace keeps a whole mark as "3", not "3.00": the same numbers, so the same sums.
    for key in ("weighted", "bonus_applied", "deduction_applied", "total_raw"):
        assert D(again.trace[key]) == D(stored.trace[key])


@FAST
@given(cases(), st.data())
def test_naming_an_indicators_own_single_mark_changes_nothing(case, data):
    spec, marks, base = case
    stored = compute(spec, marks, base)
    counts: dict[int, int] = {}
    for m in marks:
        counts[m.indicator_id] = counts.get(m.indicator_id, 0) + 1
    single = [m for m in marks if counts[m.indicator_id] == 1]
    if not single:
        return
    mark = data.draw(st.sampled_from(single))
    again = whatif.recompute(spec, stored.trace, base, {mark.indicator_id: mark.value})
    assert (again.total, again.pay) == (stored.total, stored.pay)


@FAST
@given(cases(), st.data())
def test_raising_one_value_never_lowers_the_pay(case, data):
    """Weighted indicators and bonus items: a higher value never lowers total or pay; a
    deduction item's higher value never raises them."""
    spec, marks, base = case
    stored = compute(spec, marks, base)
    ind = data.draw(st.sampled_from(spec.indicators))
    low = data.draw(_value(ind))
    high = data.draw(_value(ind).filter(lambda v: v >= low))
    a = whatif.recompute(spec, stored.trace, base, {ind.id: low})
    b = whatif.recompute(spec, stored.trace, base, {ind.id: high})
    if ind.kind == IndicatorKind.DEDUCTION:
        assert b.total <= a.total
        assert b.pay <= a.pay
    else:
        assert b.total >= a.total
        assert b.pay >= a.pay


@pytest.fixture
def w(session):
    return build_world(session)


def test_stored_results_are_reproduced_from_their_stored_traces(session, w):
    results = session.scalars(select(Result).order_by(Result.id)).all()
    assert len(results) == 4  # 2026-09 and 2026-10, 张三 and 李四
    for result in results:
        found = whatif.what_if(session, result, {})
        assert found.after == found.before
        assert (found.after.total, found.after.grade, found.after.pay) == (
            result.total,
            result.grade,
            result.pay,
        )


def test_a_later_scheme_version_and_a_new_pay_base_change_nothing(session, w):
    october = session.scalar(
        select(Result).where(Result.employee_id == w.zhang.id, Result.period_id == w.october.id)
    )
    quality = next(i.id for i in w.scheme.indicators if i.code == "quality")
    first = whatif.what_if(session, october, {quality: D(60)})
    # Hand computation: 37.4 + 18 + 30 + 2 − 1 = 86.40, grade B, 4000 × 1 = 4000.00.
    assert (first.after.total, first.after.grade, first.after.pay) == (
        D("86.40"),
        "B",
        D("4000.00"),
    )
    # Version 2 of the same scheme: quality weighs 60, every grade pays double; and the
    # employee's pay base today is 9000. None of it reaches a what-if on 2026-10.
    v2 = Scheme(group_id=w.group.id, code="STD", name="标准方案", version=2, created_at=NOW)
    v2.indicators = [
        Indicator(position=1, code="perf", name="业绩", kind=IndicatorKind.SCORE, weight=D(20)),
        Indicator(position=2, code="quality", name="质量", kind=IndicatorKind.SCORE, weight=D(60)),
        Indicator(
            position=3,
            code="attitude",
            name="态度",
            kind=IndicatorKind.RATING,
            weight=D(20),
            levels=[["优秀", 100], ["良好", 80], ["合格", 60], ["不合格", 0]],
        ),
    ]
    v2.roles = [ScorerRole(position=1, code="manager", name="直接上级", weight=D(100))]
    v2.grades = [GradeBand(grade="A", label="优", min_score=D(0), coefficient=D(2))]
    session.add(v2)
    w.zhang.pay_base = D(9000)
    session.flush()
    w.period.scheme_id = v2.id
    session.flush()
    session.expire_all()
    october = session.get(Result, october.id)
    again = whatif.what_if(session, october, {quality: D(60)})
    assert again.after == first.after
    assert again.before == first.before
    assert again.after.pay == D("4000.00")


def test_a_calibrated_result_compares_with_the_computed_one(session, w):
    from bot.appraisal.calibration import calibrate
    from models import CalibrationRole, PeriodState

    w.october.state = PeriodState.SCORING_CLOSED
    session.flush()
    calibrate(
        session,
        NOW + dt.timedelta(hours=1),
        w.october,
        w.zhang,
        reason="测试",
        role=CalibrationRole.HR,
        grade="B",
        actor_id=w.hr.id,
    )
    session.flush()
    result = session.scalar(
        select(Result).where(Result.employee_id == w.zhang.id, Result.period_id == w.october.id)
    )
    assert result.grade == "B"  # calibrated
    found = whatif.what_if(session, result, {})
    assert found.calibrated
    assert (found.before.grade, found.before.pay) == ("A", D("4800.00"))  # as computed
    assert found.after == found.before
