"""“Why is my pay this amount?” redone by hand: role weights and re-weighting shown, the
lines add up to the stored total and pay, rounding named; a grade whose code is its label
shown once; a newly published period without a result is said, never hidden."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from bot.appraisal.results import compute_period
from models import (
    GradeBand,
    Indicator,
    IndicatorKind,
    PeriodState,
    Result,
    Scheme,
    ScorerRole,
)
from tests.chat_helpers import NOW, SH, Chat, _period, _scored, bind, build_world

D = Decimal


def _december(session, w, deduction_cap=None):
    """2026-12 under its own scheme, published: 张三 scored by 李经理 (manager 70), 王行长
    (head 30) and himself (self 0). 李四 has no task in it, so no result."""
    scheme = Scheme(
        group_id=w.group.id,
        code="HAND",
        name="手算方案",
        created_at=NOW,
        deduction_cap=deduction_cap,
    )
    scheme.indicators = [
        Indicator(position=1, code="i1", name="业绩", kind=IndicatorKind.SCORE, weight=D(50)),
        Indicator(position=2, code="i2", name="质量", kind=IndicatorKind.SCORE, weight=D(30)),
        Indicator(position=3, code="i3", name="协作", kind=IndicatorKind.SCORE, weight=D(20)),
        Indicator(
            position=4, code="d1", name="迟到扣分", kind=IndicatorKind.DEDUCTION, max_score=D(3)
        ),
    ]
    scheme.roles = [
        ScorerRole(position=1, code="manager", name="直接上级", weight=D(70)),
        ScorerRole(position=2, code="head", name="机构负责人", weight=D(30)),
        ScorerRole(position=3, code="self", name="本人自评", weight=D(0)),
    ]
    scheme.grades = [
        GradeBand(grade="特等", label="特等", min_score=D(87), coefficient=D("1.15")),
        GradeBand(grade="B", label="良好", min_score=D(60), coefficient=D(1)),
        GradeBand(grade="D", label="不合格", min_score=D(0), coefficient=D("0.5")),
    ]
    session.add(scheme)
    session.flush()
    dec = _period(
        session, w.group, scheme, "2026-12", PeriodState.SCORING, dt.datetime(2027, 1, 7, tzinfo=SH)
    )
    w.zhang.pay_base = D("4000.01")
    _scored(
        session, dec, w.manager, w.zhang, "manager", {"i1": 90, "i2": 90, "i3": "89.99", "d1": 5}
    )
    _scored(session, dec, w.head, w.zhang, "head", {"i1": 90, "i3": "89.94"})
    _scored(session, dec, w.zhang, w.zhang, "self", {"i1": 100, "i2": 100, "i3": 100})
    compute_period(session, NOW, dec, actor="test")
    dec.state = PeriodState.PUBLISHED
    dec.published_at = dec.deadline
    session.flush()
    return dec


@pytest.fixture
def w(session):
    return build_world(session)


def test_the_explanation_can_be_redone_by_hand_to_the_fen(session, w):
    """The hand computation (docs/computation.md, steps 1–8):

    业绩 (weight 50): manager 90 × 70% + head 90 × 30% = 63 + 27 = 90;
        50 × 90 ÷ 100 = 45.000. Self 100 has weight 0 and does not count.
    质量 (weight 30): the head did not score it, so the manager counts 100%: 90;
        30 × 90 ÷ 100 = 27.000.
    协作 (weight 20): 89.99 × 70% + 89.94 × 30% = 62.993 + 26.982 = 89.975;
        20 × 89.975 ÷ 100 = 17.995.
    Weighted score: 45.000 + 27.000 + 17.995 = 89.995.
    迟到扣分: 5 entered, item cap 3 → −3.
    Total before rounding: 89.995 + 0 − 3 = 86.995; round half up to 2 places → 87.00
        (rounding moved it by +0.005), which reaches 特等 (from 87).
    Pay: 4000.01 × 1.15 = 4600.0115 → round half up to 0.01 yuan → 4600.01.
    """
    dec = _december(session, w)
    result = session.query(Result).filter_by(period_id=dec.id, employee_id=w.zhang.id).one()
    assert (result.total, result.grade, result.pay) == (D("87.00"), "特等", D("4600.01"))

    text = Chat(session, bind(session, w.zhang, language="zh_CN")).say("/why")
    lines = text.splitlines()

    def line(start: str) -> str:
        found = [x for x in lines if x.startswith(start)]
        assert found, f"no line starting {start!r} in\n{text}"
        return found[0]

    assert "直接上级 70，机构负责人 30，本人自评 0" in line("各指标得分")
    assert "直接上级 90 × 70% + 机构负责人 90 × 30% = 90" in line("• 业绩")
    assert "50 × 90 ÷ 100 = 得 45.000 分" in line("• 业绩")
    assert "本人自评 100：权重为 0，不计入。" in text
    assert "直接上级 90 × 100% = 90" in line("• 质量")
    assert "机构负责人未评分，直接上级按 100% 计。" in text
    assert "直接上级 89.99 × 70% + 机构负责人 89.94 × 30% = 89.975" in line("• 协作")
    assert "20 × 89.975 ÷ 100 = 得 17.995 分" in line("• 协作")
    assert "• 迟到扣分：5，单项上限 3 → −3" in text

    # Read line by line, the numbers add up to the stored total and pay.
    weighted = line("加权得分")
    terms = re.findall(r"\d+\.\d+", weighted.split("=")[0])
    assert terms == ["45.000", "27.000", "17.995"]
    assert sum(D(x) for x in terms) == D(weighted.split("=")[1].strip()) == D("89.995")
    assert line("舍入前总分") == "舍入前总分：89.995 + 0.000 − 3.000 = 86.995"
    assert "按四舍五入保留 2 位小数：86.995 → 87.00（舍入使总分变动 +0.005）" in text
    assert D("86.995").quantize(D("0.01"), "ROUND_HALF_UP") == result.total
    assert "您的总分 87.00 落在 特等 档（87 分起）" in text  # not "特等 特等"
    assert "特等 特等" not in text
    assert "绩效工资 = 基数 ¥4,000.01 × 系数 1.15 = ¥4,600.01" in text
    assert "4600.0115 按四舍五入精确到 0.01 元" in text
    assert (D("4000.01") * D("1.15")).quantize(D("0.01"), "ROUND_HALF_UP") == result.pay

    myscore = Chat(session, bind(session, w.zhang, "z2", language="zh_CN")).say("/myscore")
    assert "等级 特等，" in myscore
    assert "• 迟到扣分：5，单项上限 3 → −3" in myscore  # the capped value, as the total used
    assert "→ 45.000 分" in myscore
    assert "→ 17.995 分" in myscore


def test_an_old_trace_without_the_total_rule_is_not_given_one(session, w):
    """A trace stored before the total's rule was recorded: the rounding is shown, the
    rule is not guessed from today's scheme."""
    dec = _december(session, w)
    result = session.query(Result).filter_by(period_id=dec.id, employee_id=w.zhang.id).one()
    trace = dict(result.trace)
    del trace["total_rounding"]
    result.trace = trace
    session.flush()
    text = Chat(session, bind(session, w.zhang, language="zh_CN")).say("/why")
    assert "保留 2 位小数：86.995 → 87.00" in text
    assert "按四舍五入保留" not in text


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_result_in_the_newest_period_is_said_and_the_older_one_labelled(session, w, lang):
    _december(session, w)
    li = Chat(session, bind(session, w.staff[1], language=lang))
    for command in ("/why", "/myscore"):
        text = li.say(command)
        if lang == "zh_CN":
            assert text.startswith("您在 2026-12 没有考核结果：本周期没有评分任务。")
            assert "以下是您较早周期 2026-10 的结果。" in text
        else:
            assert text.startswith("You have no result for 2026-12: no scoring task")
            assert "Below is your result for the earlier period 2026-10." in text
        assert "2026-10" in text
    # Zhang has a result in 2026-12: no such note.
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    assert "2026-12" in zhang.say("/why").splitlines()[0]
    assert "没有考核结果" not in zhang.say("/why")


def test_other_scales_averages_and_inexact_shares_are_shown_so_they_still_add_up():
    """Straight from the engine's trace (bot.appraisal.pay.compute), as the explanation renders it.

    I1 (weight 50, scale 0–10): manager 7.5 → 75, head 9 → 90;
        75 × 70% + 90 × 30% = 52.5 + 27 = 79.5; 50 × 79.5 ÷ 100 = 39.75.
    I2 (weight 30, rating 优秀 10 / 良好 8): two managers 8 and 10 → 80 and 100,
        average 90; no head, so the manager counts 100%: 90; 30 × 90 ÷ 100 = 27.
    I3 (weight 20), roles 50 / 25 here (peer 25 absent): (90 × 50 + 60 × 25) ÷ 75 = 80;
        20 × 80 ÷ 100 = 16.
    """
    from bot.appraisal.pay import IndicatorKind, IndicatorSpec, Mark, RoleSpec, SchemeSpec, compute
    from bot.chat.explain import indicators
    from bot.infra import i18n
    from tests.test_pay import BANDS

    spec = SchemeSpec(
        id=1,
        code="S",
        name="方案",
        version=1,
        indicators=(
            IndicatorSpec(1, "I1", "业绩", IndicatorKind.SCORE, D(50), D(0), D(10)),
            IndicatorSpec(
                2,
                "I2",
                "态度",
                IndicatorKind.RATING,
                D(30),
                D(0),
                D(10),
                (("优秀", D(10)), ("良好", D(8))),
            ),
            IndicatorSpec(3, "I3", "协作", IndicatorKind.SCORE, D(20), D(0), D(100)),
        ),
        roles=(
            RoleSpec("manager", "直接上级", D(50)),
            RoleSpec("head", "机构负责人", D(25)),
            RoleSpec("peer", "同事", D(25)),
        ),
        bands=BANDS,
    )
    # I1 uses manager and head only, so their shares are 50/75 and 25/75: not exact.
    got = compute(
        spec,
        [
            Mark("manager", 1, D("7.5")),
            Mark("head", 1, D(9)),
            Mark("manager", 2, D(8)),
            Mark("manager", 2, D(10)),
            Mark("manager", 3, D(90)),
            Mark("head", 3, D(60)),
        ],
        D(1000),
    )
    with i18n.using("zh_CN"):
        text = "\n".join(indicators(got.trace))
    # (75 × 50 + 90 × 25) ÷ 75 = (3750 + 2250) ÷ 75 = 80; 50 × 80 ÷ 100 = 40
    assert (
        "(直接上级 7.5（折合百分制 75） × 50 + 机构负责人 9（折合百分制 90） × 25) ÷ 75 = 80"
        in text
    )
    assert "50 × 80 ÷ 100 = 得 40.00 分" in text
    # (80 + 100) ÷ 2 = 90, the only counting role present: 100%
    assert "直接上级 8/10（平均 90） × 100% = 90" in text
    assert "机构负责人，同事未评分，直接上级按 100% 计。" in text
    # (90 × 50 + 60 × 25) ÷ 75 = (4500 + 1500) ÷ 75 = 80
    assert "(直接上级 90 × 50 + 机构负责人 60 × 25) ÷ 75 = 80" in text
    assert "同事未评分，直接上级按 50/75 计，机构负责人按 25/75 计。" in text
    assert D(got.trace["weighted"]) == D(40) + D(27) + D(16)


def test_a_scheme_cap_on_the_deductions_is_shown_beside_the_items(session, w):
    """迟到扣分 5 → item cap 3 → scheme deduction cap 2: −2 counts.
    89.995 − 2 = 87.995 → 88.00 (round half up)."""
    _december(session, w, deduction_cap=D(2))
    for command in ("/why", "/myscore"):
        text = Chat(session, bind(session, w.zhang, f"z{command}", language="zh_CN")).say(command)
        assert "• 迟到扣分：5，单项上限 3 → −3" in text
        assert "（各项合计 3，按方案总上限 2 计）" in text
        assert "88.00" in text
