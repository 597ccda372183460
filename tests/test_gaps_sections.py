"""Who has no result, and why, in a scheme with sections: a role counts for an indicator
by its weight *within the indicator's section*, as the pay engine (bot/appraisal/pay.py) has it.
Hand-built cases, each checked against the engine itself (bot/appraisal/results.py), on SQLite and
PostgreSQL.

The org: head 100 (东城支行行长) scores both staff as 机构负责人 and, as their manager,
as 直接上级; 1011 has no manager, so only the head's task is theirs. Nobody scores the
head, who is always named for having no task.
"""

from __future__ import annotations

import datetime as dt

from bot.appraisal import gaps
from bot.appraisal.periods import open_period
from bot.appraisal.results import compute_period
from bot.importing import import_scheme
from bot.infra import i18n
from models import Result
from tests.factories import small_org
from tests.metrics_helpers import NOW, score, workbook

INDICATORS = (
    ["指标编码", "指标名称", "类型", "权重", "考核维度"],
    [["peer", "360评价", "评分", 100, "s360"], ["conduct", "行为规范", "评分", 100, "conduct"]],
)


def world(session, tmp_path, roles, s360, conduct):
    group, people = small_org(session, (("东城支行", 2),))
    _inst, head, staff = people["东城支行"]
    staff[1].manager_id = None
    sheets = {
        "指标": INDICATORS,
        "考核维度": (
            ["维度编码", "维度名称", "权重", "考核人"],
            [["s360", "360维度", 60, s360], ["conduct", "行为维度", 40, conduct]],
        ),
        "考核人": (["考核人", "名称", "权重"], roles),
    }
    import_scheme(session, NOW, workbook(tmp_path / "gaps.xlsx", **sheets), group)
    period, _n = open_period(
        session,
        NOW,
        group=group,
        label="2026-11",
        scheme_code="LAYER",
        deadline=dt.date(2026, 12, 7),
    )
    session.flush()
    return period, head, staff


def results(session, period):
    compute_period(session, NOW, period)
    return set(session.scalars(Result.__table__.select().with_only_columns(Result.employee_id)))


def by_number(found):
    return {g.number: g for g in found}


def test_a_role_of_weight_0_in_the_scheme_counts_where_its_section_weighs_it(session, tmp_path):
    """The head weighs 0 on the 考核人 sheet (bonus and deduction items) but 40 in 360 and
    100 in 行为规范: their marks give a result, so nobody is named for lacking them."""
    period, _head, (s0, s1) = world(
        session,
        tmp_path,
        [["直接上级", "", 100], ["head", "机构负责人", 0]],
        "manager:60, head:40",
        "head:100",
    )
    # 1011 has only the head's task, which counts in both sections.
    assert [g.number for g in gaps.unscorable(session, period)] == ["100"]
    score(session, period, s0, "head", peer="85", conduct="78")  # the manager has not scored
    score(session, period, s1, "head", peer="90", conduct="70")
    found = by_number(gaps.explain(session, period, [s0.id, s1.id]))
    for number in ("1001", "1011"):
        assert found[number].counting
        assert found[number].missing == ()
        with i18n.using("en"):
            assert found[number].reason() == "all scores are in: run `jixiao results compute` again"
    # The engine agrees: both get a result (360 re-weighted to the head within 360).
    assert results(session, period) == {s0.id, s1.id}
    assert [g.number for g in gaps.without_result(session, period)] == ["100"]


def test_the_only_counting_scorer_of_a_section_is_named_when_they_have_not_submitted(
    session, tmp_path
):
    """行为规范 counts the manager alone (the head scores it at weight 0): with the head's
    marks in and the manager's task open, 1001 lacks 行为规范 and waits for the manager;
    1011, who has no manager, can never get a result."""
    period, _head, (s0, s1) = world(
        session,
        tmp_path,
        [["直接上级", "", 70], ["head", "机构负责人", 30]],
        "manager:60, head:40",
        "manager:100, head:0",
    )
    never = by_number(gaps.unscorable(session, period))
    assert list(never) == ["100", "1011"]
    with i18n.using("en"):
        assert never["1011"].reason() == "no scorer whose score counts in 行为维度"
    score(session, period, s0, "head", peer="85", conduct="78")
    score(session, period, s1, "head", peer="90", conduct="70")
    found = by_number(gaps.without_result(session, period))
    assert list(found) == ["100", "1001", "1011"]
    assert found["1001"].counting
    assert found["1001"].missing == ("行为规范",)
    assert found["1001"].waiting == ("直接上级 东城支行行长",)
    with i18n.using("en"):
        assert found["1001"].reason() == "missing 行为规范; waiting for 直接上级 东城支行行长"
    assert not found["1011"].counting
    # The engine agrees: nobody has a result yet.
    assert results(session, period) == set()
    # Once the manager submits, 1001 has a result and only 1011 is left.
    score(session, period, s0, "manager", peer="80", conduct="75")
    assert results(session, period) == {s0.id}
    assert [g.number for g in gaps.without_result(session, period)] == ["100", "1011"]


def test_the_reason_in_chinese(session, tmp_path):
    period, _head, _staff = world(
        session,
        tmp_path,
        [["直接上级", "", 70], ["head", "机构负责人", 30]],
        "manager:60, head:40",
        "manager:100, head:0",
    )
    with i18n.using("zh_CN"):
        gap = by_number(gaps.unscorable(session, period))["1011"]
        assert gap.reason() == "行为维度没有计分的考核人"
