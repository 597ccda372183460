"""An HR "revise" of an appeal in a scheme with sections reopens the tasks whose marks
count for the named indicators by the role's weight *within the indicator's section*, as
the pay engine (bot/appraisal/pay.py) and bot/appraisal/gaps.py count them; bonus and
deduction items, and indicators without a section, by the 考核人 sheet. An unsectioned
scheme as before. Hand-built schemes on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.appraisal import appeals
from bot.appraisal.periods import open_period
from bot.appraisal.sections import Counting, indicators_for
from bot.importing import import_scheme
from bot.infra import i18n
from bot.infra.errors import Refused
from models import (
    Appeal,
    AppealState,
    IndicatorKind,
    PeriodState,
    ScoringTask,
    TaskState,
)
from tests.factories import small_org
from tests.metrics_helpers import NOW, score, workbook

HR = appeals.Actor("hr", label="HR")
INDICATORS = (
    ["指标编码", "指标名称", "类型", "权重", "最高分", "考核维度"],
    [
        ["peer", "360评价", "评分", 100, "", "s360"],
        ["conduct", "行为规范", "评分", 100, "", "conduct"],
        ["award", "表彰加分", "加分", "", 5, ""],
    ],
)


def world(session, tmp_path, roles, s360=None, conduct=None, indicators=INDICATORS):
    """Period 2026-11 on the scheme, both of 1001's tasks submitted with marks for the
    indicators each shows, published (as far as appeals care), and 1001's open appeal."""
    group, people = small_org(session, (("东城支行", 2),))
    _inst, _head, (s0, _s1) = people["东城支行"]
    # No section rows: an unsectioned scheme.
    rows = (
        []
        if s360 is None
        else [["s360", "360维度", 60, s360], ["conduct", "行为维度", 40, conduct]]
    )
    sheets = {
        "指标": indicators,
        "考核人": (["考核人", "名称", "权重"], roles),
        "考核维度": (["维度编码", "维度名称", "权重", "考核人"], rows),
    }
    import_scheme(session, NOW, workbook(tmp_path / "appeal.xlsx", **sheets), group)
    period, _n = open_period(
        session,
        NOW,
        group=group,
        label="2026-11",
        scheme_code="LAYER",
        deadline=dt.date(2026, 12, 7),
    )
    session.flush()
    marks = {"peer": "80", "conduct": "70", "award": "2"}
    for role in ("manager", "head"):
        # As the form would: marks for the indicators the role's task shows.
        shown = {i.code for i in indicators_for(period.scheme, role)}
        score(session, period, s0, role, **{k: v for k, v in marks.items() if k in shown})
    period.state = PeriodState.PUBLISHED
    appeal = Appeal(
        period_id=period.id,
        employee_id=s0.id,
        state=AppealState.OPEN,
        reason="评分有误",
        indicators=[],
        created_at=NOW,
        due_at=NOW + dt.timedelta(days=7),
    )
    session.add(appeal)
    session.flush()
    return period, appeal


def reopened(session, appeal, codes):
    return sorted(t.role_code for t in appeals.revise(session, NOW, appeal, codes, HR))


def drafts(session, period):
    return sorted(
        session.scalars(
            select(ScoringTask.role_code).where(
                ScoringTask.period_id == period.id, ScoringTask.state == TaskState.DRAFT
            )
        )
    )


def test_a_role_of_weight_0_in_the_scheme_is_reopened_where_its_section_counts_it(
    session, tmp_path
):
    """The head weighs 0 on the 考核人 sheet but 40 in 360 and 100 in 行为规范: their marks
    count there, so revising 360 reopens both tasks, 行为规范 the head's alone."""
    period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 100], ["head", "机构负责人", 0]],
        "manager:60, head:40",
        "head:100",
    )
    assert reopened(session, appeal, ["conduct"]) == ["head"]
    assert drafts(session, period) == ["head"]
    assert appeal.state == AppealState.REVISING


def test_both_counting_roles_of_a_section_are_reopened(session, tmp_path):
    _period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 100], ["head", "机构负责人", 0]],
        "manager:60, head:40",
        "head:100",
    )
    assert reopened(session, appeal, ["peer"]) == ["head", "manager"]


def test_a_role_weighted_in_the_scheme_but_0_in_the_section_is_not_reopened(session, tmp_path):
    """The head weighs 30 on the 考核人 sheet but 0 in 行为规范: their 行为规范 marks do not
    count, so revising it reopens the manager's task alone."""
    period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 70], ["head", "机构负责人", 30]],
        "manager:60, head:40",
        "manager:100, head:0",
    )
    assert reopened(session, appeal, ["conduct"]) == ["manager"]
    assert drafts(session, period) == ["manager"]


def test_only_weight_0_marks_of_the_named_indicator_is_refused(session, tmp_path):
    """行为规范 counts the manager alone (the head scores it at 0): without the manager's
    mark there, nothing that counts is left to reopen; refused, nothing changes."""
    period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 70], ["head", "机构负责人", 30]],
        "manager:60, head:40",
        "manager:100, head:0",
    )
    # The manager's task did not score 行为规范 after all: drop its mark.
    task = session.scalar(
        select(ScoringTask).where(
            ScoringTask.period_id == period.id, ScoringTask.role_code == "manager"
        )
    )
    for entry in [e for e in task.entries if e.indicator.code == "conduct"]:
        session.delete(entry)
    session.flush()
    session.expire_all()
    with i18n.using("en"), pytest.raises(Refused, match="marks that count for conduct"):
        appeals.revise(session, NOW, appeal, ["conduct"], HR)
    with pytest.raises(Refused, match="没有已提交且对 conduct 计分的评分任务"):
        appeals.revise(session, NOW, appeal, ["conduct"], HR)
    assert drafts(session, period) == []
    assert appeal.state == AppealState.OPEN


def test_bonus_items_count_by_the_sheet_in_a_scheme_with_sections(session, tmp_path):
    """Bonus items belong to no section: the 考核人 sheet decides. The head (100 there, 0
    in 行为规范) is reopened for one; the manager (0 there) scores none."""
    _period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 0], ["head", "机构负责人", 100]],
        "manager:100",
        "manager:100, head:0",
    )
    assert reopened(session, appeal, ["award"]) == ["head"]


def test_an_appeal_naming_nothing_reopens_every_role_that_counts_somewhere(session, tmp_path):
    """The head weighs 0 on the sheet but counts in 行为规范: both tasks reopen."""
    _period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 100], ["head", "机构负责人", 0]],
        "manager:60, head:40",
        "head:100",
    )
    assert reopened(session, appeal, []) == ["head", "manager"]


def test_the_form_reopens_at_the_named_indicator_among_those_the_role_shows(session, tmp_path):
    """The head scores only 行为规范 (and the bonus item by the sheet): its form shows
    [行为规范, 表彰加分], so the cursor is 0 there, 1 in the manager's [360, 行为规范, 表彰加分]."""
    period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 90], ["head", "机构负责人", 10]],
        "manager:100",
        "manager:50, head:50",
    )
    appeals.revise(session, NOW, appeal, ["conduct"], HR)
    cursors = {}
    for task in session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)):
        if task.state == TaskState.DRAFT:
            shown = [i.code for i in indicators_for(period.scheme, task.role_code)]
            cursors[task.role_code] = (shown, task.cursor)
    assert cursors == {
        "head": (["conduct", "award"], 0),
        "manager": (["peer", "conduct", "award"], 1),
    }


UNSECTIONED = (
    ["指标编码", "指标名称", "类型", "权重", "最高分"],
    [
        ["peer", "360评价", "评分", 50, ""],
        ["conduct", "行为规范", "评分", 50, ""],
        ["award", "表彰加分", "加分", "", 5],
    ],
)


def test_an_unsectioned_scheme_counts_by_the_sheet_as_before(session, tmp_path):
    """Without sections the 考核人 sheet decides: a self-assessment-like role of weight 0
    is never reopened, a weighted one always; the form opens at the named indicator."""
    period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 100], ["head", "机构负责人", 0]],
        indicators=UNSECTIONED,
    )
    assert not period.scheme.sections
    tasks = appeals.revise(session, NOW, appeal, ["conduct"], HR)
    assert [(t.role_code, t.cursor) for t in tasks] == [("manager", 1)]
    assert drafts(session, period) == ["manager"]


def test_an_unsectioned_scheme_appeal_naming_nothing_reopens_the_weighted_roles(session, tmp_path):
    _period, appeal = world(
        session,
        tmp_path,
        [["直接上级", "", 70], ["head", "机构负责人", 30]],
        indicators=UNSECTIONED,
    )
    assert reopened(session, appeal, []) == ["head", "manager"]


def test_counting_follows_the_engine_rule():
    """The shared rule itself: section weights for scored indicators of a known section,
    the sheet's for bonus and deduction items and for an unknown or absent section, no
    role for a metric; stored weights as text or numbers."""
    count = Counting.of(
        [("manager", 100), ("head", 0)], [("s360", [["manager", "60"], ["head", "0"]])]
    )
    assert count.roles_for(IndicatorKind.SCORE, "s360") == {"manager"}
    count = Counting.of([("manager", 0), ("head", 30)], [("s360", [["manager", 1], ["head", 0]])])
    assert count.roles_for(IndicatorKind.RATING, "s360") == {"manager"}
    assert count.roles_for(IndicatorKind.SCORE, None) == {"head"}
    assert count.roles_for(IndicatorKind.SCORE, "gone") == {"head"}
    assert count.roles_for(IndicatorKind.BONUS, "s360") == {"head"}
    assert count.roles_for(IndicatorKind.DEDUCTION, "s360") == {"head"}
    assert count.roles_for(IndicatorKind.METRIC, "s360") == frozenset()
