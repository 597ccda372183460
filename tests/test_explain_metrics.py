"""The explanation of a metric indicator and of sections, from stored traces, in both
languages: the figures, the rule, the points, each section's points and weight, and the
re-weighting within a section."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from bot.appraisal import metrics
from bot.appraisal.pay import IndicatorSpec, Mark, compute
from bot.appraisal.periods import close_period
from bot.appraisal.results import compute_period
from bot.appraisal.traces import expand
from bot.chat import explain
from bot.importing.metrics import import_metrics
from bot.infra import i18n
from models import Result
from models.scheme import IndicatorKind
from tests.metrics_helpers import NOW, layered_world, score, write_csv
from tests.test_pay_sections_metrics import BANDS, ROLES, SchemeSpec


def _deposit_trace() -> dict:
    deposit = IndicatorSpec(
        1,
        "deposit",
        "存款增量",
        IndicatorKind.METRIC,
        D(50),
        D(0),
        D(100),
        rule=metrics.parse("线性 60-120"),
    )
    other = IndicatorSpec(2, "q", "服务质量", IndicatorKind.SCORE, D(50), D(0), D(100))
    spec = SchemeSpec(1, "S", "月度", 1, (deposit, other), ROLES, BANDS)
    return compute(spec, [Mark("manager", 2, D(80))], D(1000), {1: (D(5000000), D(4300000))}).trace


def test_metric_line_in_chinese_is_the_issue_example():
    with i18n.using("zh_CN"):
        lines = explain.indicators(_deposit_trace())
    assert (
        "• 存款增量: 目标 500万, 实际 430万, 完成率 86.0% → 按 60%–120% 线性 → 43.00 分 (权重 50)"
        in lines
    )


def test_metric_line_in_english():
    t = _deposit_trace()
    with i18n.using("en"):
        lines = explain.indicators(t) + explain.total(t)
    assert (
        "• 存款增量: target 5,000,000, actual 4,300,000, completion 86.0% → linear from 60% "
        "to 120% → 43.00 points (weight 50)"
    ) in lines
    assert "Weighted score: 43.00 + 40.00 = 83.00" in lines


def test_lower_is_better_and_steps_are_named():
    rule = metrics.parse("阶梯 100:100, 90:80", metrics.LOWER)
    with i18n.using("en"):
        assert metrics.describe(rule) == "lower is better, steps ≥100%→100%, ≥90%→80%"
    with i18n.using("zh_CN"):
        assert metrics.describe(rule) == "越低越好，阶梯 ≥100%→100%，≥90%→80%"


def test_stored_layered_trace_explains_sections(session, tmp_path):
    period, _head, staff = layered_world(session, tmp_path)
    s0, s1 = staff
    score(session, period, s0, "manager", peer="85", conduct="78")
    score(session, period, s0, "head", peer="85")
    score(session, period, s1, "manager", peer="90", conduct="78")
    rows = [
        ["", "客户经理", "存款增量", "5000000", ""],
        ["", "客户经理", "客户投诉", "10", ""],
        ["1001", "", "deposit", "", "4600000"],
        ["1001", "", "complaints", "", "11"],
        ["1011", "", "deposit", "", "4600000"],
        ["1011", "", "complaints", "", "0"],
        ["100", "", "deposit", "1", "1"],
        ["100", "", "complaints", "1", "1"],
    ]
    import_metrics(session, NOW, write_csv(tmp_path / "m.csv", rows), period)
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    stored = session.scalar(
        select(Result.trace).where(Result.employee_id == s1.id, Result.period_id == period.id)
    )
    assert stored["v"] == 2  # the parts are stored apart, the sections inline
    t = expand(session, stored)
    with i18n.using("en"):
        text = "\n".join(explain.indicators(t) + explain.total(t))
    # perf 95.2 (see test_metrics) × 50 = 47.60; 360: 90 × 30 = 27.00; 行为规范 78 × 20 = 15.60
    assert "业绩指标 (section weight 50): score 95.2 → 50 × 95.2 ÷ 100 = 47.60 points" in text
    assert "From business data: nobody scores it." in text
    assert "360评价 (section weight 30): score 90 → 30 × 90 ÷ 100 = 27.00 points" in text
    assert (
        "Re-weighted within this section only: 机构负责人 did not score; 直接上级 counts 100%."
        in text
    )
    assert "行为规范 (section weight 20): score 78 → 20 × 78 ÷ 100 = 15.60 points" in text
    assert (
        "  • 客户投诉: target 10 (their position's target), actual 0, completion 200.0% → "
        "lower is better, steps" in text
    )
    assert "Weighted score: 47.60 + 27.00 + 15.60 = 90.20" in text
    assert text.count("Re-weighted") == 1
    with i18n.using("zh_CN"):
        zh = "\n".join(explain.indicators(t))
    assert "仅在本维度内重新分配权重：机构负责人未评分，直接上级按 100% 计。" in zh
    # 1011's targets are their position's (the file's 客户经理 rows), and the line says so.
    assert (
        "• 存款增量: 目标 500万（岗位目标值）, 实际 460万, 完成率 92.0% → 按 60%–120% 线性 → "
        "55.20 分 (权重 60)" in zh
    )


def test_why_in_chat_on_a_published_layered_result(session, tmp_path):
    """The whole chat answer, in Chinese, for a published result of the layered scheme:
    the metric lines and every section with its weight and points."""
    from bot.appraisal.periods import publish_period
    from tests.chat_helpers import Chat, bind

    period, _head, staff = layered_world(session, tmp_path)
    s0, _s1 = staff
    score(session, period, s0, "manager", peer="85", conduct="78")
    score(session, period, s0, "head", peer="85")
    rows = [
        ["1001", "", "deposit", "5000000", "4600000"],
        ["1001", "", "complaints", "10", "11"],
        ["1011", "", "deposit", "5000000", "4600000"],
        ["1011", "", "complaints", "10", "0"],
        ["100", "", "deposit", "1", "1"],
        ["100", "", "complaints", "1", "1"],
    ]
    import_metrics(session, NOW, write_csv(tmp_path / "m.csv", rows), period)
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    publish_period(session, NOW, period, allow_missing=True)
    chat = Chat(session, bind(session, s0, language="zh_CN"), now=NOW)
    text = chat.say("/why")
    # 50 × 87.2 + 30 × 85 + 20 × 78 = 84.70 (see test_metrics)
    assert "84.70" in text
    assert (
        "• 存款增量: 目标 500万, 实际 460万, 完成率 92.0% → 按 60%–120% 线性 → 55.20 分 (权重 60)"
        in text
    )
    assert "• 客户投诉: 目标 10, 实际 11, 完成率 90.0% → 按 越低越好，阶梯" in text
    assert "业绩指标（维度权重 50）：得分 87.2 → 50 × 87.2 ÷ 100 = 43.60 分" in text
    assert "360评价（维度权重 30）：得分 85 → 30 × 85 ÷ 100 = 25.50 分" in text
    assert "行为规范（维度权重 20）：得分 78 → 20 × 78 ÷ 100 = 15.60 分" in text
    assert "43.60 + 25.50 + 15.60 = 84.70" in text
    assert "重新分配" not in text  # both 360 roles scored
    mine = chat.say("/myscore")
    assert "• 存款增量: 目标 500万, 实际 460万, 完成率 92.0%" in mine
    assert "84.70" in mine
