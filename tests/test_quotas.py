"""Grade quotas (强制分布): the limit arithmetic by hand, property tests, violations with
their boundary people, and publication refused until calibrated or overridden."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.appraisal import quotas
from bot.appraisal.periods import publish_period
from bot.appraisal.quotas import Person, Rule, resolve, violations
from bot.infra import i18n
from bot.infra.errors import Refused
from bot.notify import weekly
from models import AuditEvent, PeriodState, QuotaBound, QuotaRounding, QuotaScope, Scheme
from tests.factories import small_org
from tests.paysheet_helpers import LATER, cli, period_of
from tests.quota_helpers import rule, scored_period

MOST, LEAST = QuotaBound.AT_MOST, QuotaBound.AT_LEAST
INST, DEPT, WHOLE = QuotaScope.INSTITUTION, QuotaScope.DEPARTMENT, QuotaScope.PERIOD
ORDER = ("A", "B", "C", "D")


@pytest.fixture(autouse=True)
def _english():
    with i18n.using("en"):
        yield


def r(bound=MOST, ratio=None, count=None, grades=("A",), scope=INST, rounding=None, row=2):
    return Rule(
        row,
        tuple(grades),
        bound,
        None if ratio is None else Decimal(str(ratio)),
        count,
        scope,
        rounding or QuotaRounding.DEFAULT,
    )


# The limits, computed by hand.


def test_the_issue_s_hand_computed_limits():
    assert r(MOST, 20).limit(7) == 1  # 1.4 rounded down
    assert r(MOST, 20).limit(3) == 1  # 0.6 rounded down is 0, but never below 1
    assert r(LEAST, 5).limit(21) == 2  # 1.05 rounded up
    assert r(MOST, 15, rounding=QuotaRounding.HALF_UP).limit(10) == 2  # 1.5 half-up


def test_more_limits_by_hand():
    assert r(MOST, 20).limit(10) == 2  # exactly 2
    assert r(MOST, 25).limit(9) == 2  # 2.25
    assert r(LEAST, 10).limit(10) == 1  # exactly 1: no rounding up
    assert r(LEAST, 10).limit(11) == 2  # 1.1
    assert r(LEAST, 15, rounding=QuotaRounding.HALF_UP).limit(9) == 1  # 1.35
    assert r(MOST, 4, rounding=QuotaRounding.HALF_UP).limit(10) == 1  # 0.4 → 0, floor of 1
    assert r(MOST, 0).limit(10) == 0  # 0% allows nobody
    assert r(MOST, 20).limit(0) == 0  # an empty group
    assert r(MOST, count=3).limit(2) == 3  # a head count is its own limit
    assert r(LEAST, count=2).limit(1) == 2
    assert not r(LEAST, count=2).meetable(1)  # at least 2 in a group of 1
    assert r(LEAST, count=2).meetable(2)


@given(
    bound=st.sampled_from([MOST, LEAST]),
    ratio=st.decimals(min_value=-50, max_value=500, places=2, allow_nan=False),
    rounding=st.sampled_from(list(QuotaRounding)),
    size=st.integers(min_value=0, max_value=5000),
)
def test_a_limit_is_never_negative(bound, ratio, rounding, size):
    limit = r(bound, ratio, rounding=rounding).limit(size)
    assert limit >= 0
    if 0 <= ratio <= 100 and size:
        # A ratio up to 100% never asks for more people than the group has (at most's
        # floor of one aside, which a group of anyone can always meet).
        assert limit <= size


def test_a_limit_of_a_negative_head_count_is_zero():
    assert r(MOST, count=-3).limit(5) == 0


# Violations and the people at the boundary.


def people(grades_totals, inst=1, dept=None):
    return [
        Person(i, g, Decimal(str(t)), inst, dept, f"{inst}{i:03d}", f"P{i}")
        for i, (g, t) in enumerate(grades_totals, start=inst * 1000)
    ]


def test_a_violation_names_count_limit_and_the_boundary_people():
    staff = people([("A", 95), ("A", 93), ("A", 91), ("B", 85), ("B", 84), ("C", 75), ("D", 50)])
    [v] = violations([r(MOST, 20)], ORDER, staff)
    assert (v.size, v.count, v.limit, v.moves) == (7, 3, 1, 2)
    # The two lowest totals inside A would move out; the highest below A would not.
    assert [p.total for p in v.inside] == [91, 93]
    assert [p.total for p in v.outside] == [85, 84]


def test_at_least_moves_people_in_from_below_and_ties_are_all_shown():
    staff = people([("A", 95), ("B", 85), ("B", 85), ("C", 75), ("D", 50)])
    [v] = violations([r(LEAST, 40, grades=("A",))], ORDER, staff)
    assert (v.count, v.limit) == (1, 2)
    assert [p.total for p in v.outside] == [85, 85]  # tied at the edge: both shown


def test_a_rule_on_the_bottom_grade_looks_the_other_way():
    staff = people([("A", 95), ("B", 85), ("C", 75), ("D", 55), ("D", 40)])
    [v] = violations([r(MOST, 20, grades=("D",))], ORDER, staff)
    assert (v.count, v.limit, v.upper) == (2, 1, False)
    assert [p.total for p in v.inside] == [55]  # the highest D would move up
    assert [p.total for p in v.outside] == [75]  # the lowest above D


def test_groups_follow_the_scope():
    east = people([("A", 95), ("A", 93), ("B", 85), ("C", 70), ("C", 60)], inst=1)
    west = people([("A", 99), ("B", 85), ("C", 70), ("C", 60), ("C", 61)], inst=2)
    # Per institution: 2 of 5 in A in the east breaks at most 20% (limit 1); the west is fine.
    found = violations([r(MOST, 20)], ORDER, east + west)
    assert [(v.group, v.count, v.limit) for v in found] == [(1, 2, 1)]
    # For the whole period: 3 of 10, limit 2.
    found = violations([r(MOST, 20, scope=WHOLE)], ORDER, east + west)
    assert [(v.group, v.count, v.limit) for v in found] == [(None, 3, 2)]


# After calibration resolves every violation, the counts meet every rule.

grade = st.sampled_from(ORDER)
person = st.tuples(grade, st.decimals(min_value=0, max_value=100, places=1), st.integers(1, 3))


@st.composite
def rule_sets(draw):
    """A rule at the top (A or A and B, at most) and one at the bottom (D, at least),
    each optional, in any scope: rules that calibration can always meet together."""
    found = []
    scope = draw(st.sampled_from([INST, DEPT, WHOLE]))
    if draw(st.booleans()):
        found.append(
            r(
                MOST,
                draw(st.integers(0, 60)),
                grades=draw(st.sampled_from([("A",), ("A", "B")])),
                scope=scope,
                rounding=draw(st.sampled_from(list(QuotaRounding))),
            )
        )
    if draw(st.booleans()):
        found.append(
            r(
                LEAST,
                draw(st.integers(0, 40)),
                grades=("D",),
                scope=draw(st.sampled_from([INST, DEPT, WHOLE])),
                rounding=draw(st.sampled_from(list(QuotaRounding))),
            )
        )
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staff=st.lists(person, min_size=1, max_size=40), rules=rule_sets())
def test_after_calibration_resolves_every_violation_counts_meet_every_rule(staff, rules):
    everyone = [
        Person(i, g, total, inst, inst * 10 + i % 2, str(i), "")
        for i, (g, total, inst) in enumerate(staff)
    ]
    calibrated = resolve(rules, ORDER, everyone)
    assert violations(rules, ORDER, calibrated) == []
    # Calibration moves people, never adds or drops any.
    assert sorted(p.employee_id for p in calibrated) == list(range(len(staff)))
    # Each rule, counted by hand per group.
    for rule_ in rules:
        groups: dict[object, list[Person]] = {}
        for p in calibrated:
            groups.setdefault(quotas.group_key(rule_.scope, p), []).append(p)
        for members in groups.values():
            count = sum(p.grade in rule_.grades for p in members)
            limit = rule_.limit(len(members))
            assert count <= limit if rule_.bound == MOST else count >= limit


# A period's results: computed, shown, publication refused, override audited.


def test_results_compute_and_the_quotas_command_report_violations(engine, Session):
    with Session() as session, session.begin():
        scored_period(session)
    computed = cli(engine, "results", "compute", "2026-11", lang="en")
    assert computed.exit_code == 0, computed.output
    assert "1 grade quota violation (publication is refused" in computed.stdout
    assert (
        "东城支行: 3 of 7 people in A, limit 1 (rule of row 2: at most 20% in A, per "
        "institution)." in computed.stdout
    )
    shown = cli(engine, "quotas", "2026-11", lang="en")
    assert shown.exit_code == 3, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "Period 2026-11: 1 grade quota violation."
    assert lines[2] == (
        "  lowest inside: 1021 东城支行员工2 91.00 (A), 1011 东城支行员工1 93.00 (A)"
    )
    assert lines[3] == (
        "  highest below: 1031 东城支行员工3 85.00 (B), 1041 东城支行员工4 75.00 (C)"
    )
    zh = cli(engine, "quotas", "2026-11")
    assert "东城支行：7 人中 3 人为 A，上限 1（第 2 行规则：A 至多 20%，按机构）。" in zh.stdout


def test_publication_is_refused_while_a_violation_stands(session):
    _group, period, _staff = scored_period(session)
    with pytest.raises(Refused) as exc:
        publish_period(session, LATER, period)
    assert "has 1 grade quota violation: calibrate" in str(exc.value)
    assert "3 of 7 people in A, limit 1" in str(exc.value)
    assert period.state == PeriodState.SCORING_CLOSED
    with pytest.raises(Refused, match="must not be empty"):
        publish_period(session, LATER, period, override_quota="   ")


def test_an_override_publishes_is_audited_and_listed_for_the_weekly_report(engine, Session):
    with Session() as session, session.begin():
        scored_period(session)
    refused = cli(engine, "period", "publish", "2026-11", lang="en")
    assert refused.exit_code == 2
    assert "--override-quota" in refused.output
    done = cli(
        engine,
        "period",
        "publish",
        "2026-11",
        "--override-quota",
        "试运行首月，暂不强制",
        lang="en",
    )
    assert done.exit_code == 0, done.output
    assert "Grade quotas overridden (1 violation): 试运行首月，暂不强制" in done.stdout
    with Session() as session:
        assert period_of(session).state == PeriodState.PUBLISHED
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "quota.override"))
        assert event.note == "试运行首月，暂不强制"
        assert event.after["violations"] == [
            {"row": 2, "group": "东城支行", "grades": ["A"], "count": 3, "limit": 1}
        ]
        listed = quotas.overrides(
            session, event.at - dt.timedelta(days=1), event.at + dt.timedelta(days=1)
        )
        assert [(o.period, o.reason, o.violations) for o in listed] == [
            ("2026-11", "试运行首月，暂不强制", 1)
        ]
        later = event.at + dt.timedelta(seconds=1)
        assert quotas.overrides(session, later, later + dt.timedelta(days=1)) == []
        group_id = period_of(session).group_id
        week = quotas.overrides(session, later - dt.timedelta(days=7), later, group_id)
        assert quotas.overrides(session, later - dt.timedelta(days=7), later, group_id + 1) == []
        text, _chart = weekly.render([], dt.date(2026, 11, 30), week)
        assert text.splitlines()[-1] == (
            "Published over grade quotas: 2026-11 (1 violation), reason: 试运行首月，暂不强制"
        )


def test_a_period_that_meets_its_rules_publishes_without_override(session):
    _group, period, _staff = scored_period(session, rules=[rule(ratio=Decimal(50))])
    assert quotas.check(session, period) == []  # 3 of 7 in A, limit 3
    publish_period(session, LATER, period)
    assert period.state == PeriodState.PUBLISHED


def test_a_rule_the_group_cannot_meet_is_named_by_its_row(session):
    _group, period, _staff = scored_period(
        session, rules=[rule(grades=("D",), bound=LEAST, ratio=None, head_count=9, row=4)]
    )
    [v] = quotas.check(session, period)
    assert not v.meetable
    assert quotas.lines([v]) == [
        "东城支行: rule of row 4 (at least 9 people in D, per institution) cannot be met: "
        "it needs 9 in a group of 7."
    ]


def test_a_rule_no_group_can_meet_is_named_when_the_period_opens(engine, Session):
    with Session() as session, session.begin():
        small_org(session, sizes=(("东城支行", 1),))
        scheme = session.scalar(select(Scheme))
        scheme.quotas = [rule(bound=LEAST, ratio=None, head_count=2, row=5)]
    opened = cli(engine, "period", "open", "2026-11", "--scheme", "STD", lang="en")
    assert opened.exit_code == 0, opened.output
    assert (
        "东城支行: rule of row 5 (at least 2 people in A, per institution) cannot be met: "
        "it needs 2 in a group of 1."
    ) in opened.stderr
