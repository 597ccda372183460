"""Bonus and deduction items counted by incidents ("−3 per incident, at most 10"): the
scheme says the points per incident, the scorer enters how many times, the engine
multiplies and caps, and every screen shows the count beside its points."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from bot.appraisal.pay import IndicatorSpec, Mark, compute
from bot.chat.myscore import item_line
from bot.importing import import_scheme
from bot.infra import i18n
from models import Group, Indicator, IndicatorKind, Institution, Scheme
from tests.chat_helpers import WORDS, Chat, Tap, bind, build_world
from tests.test_import_scheme import INDICATORS, NOW, refused, with_row, workbook
from tests.test_pay import scheme as spec_of
from tests.test_pay import score


def lateness(per: str = "3", cap: str = "10") -> IndicatorSpec:
    return IndicatorSpec(
        2, "late", "迟到", IndicatorKind.DEDUCTION, D(0), D(0), D(cap), per_incident=D(per)
    )


def test_the_engine_multiplies_the_count_then_applies_the_item_cap():
    spec = spec_of(score(1, "100"), lateness())
    out = compute(spec, [Mark("manager", 1, D(90)), Mark("manager", 2, D(4))], D(1000))
    (item,) = out.trace["deduction"]["items"]
    # 4 incidents × 3 = 12 points, item cap 10 → 10; 90 − 10 = 80.00
    assert (item["incidents"], item["per_incident"], item["value"]) == ("4", "3", "12")
    assert item["applied"] == "10"
    assert out.total == D("80.00")


def test_two_roles_counts_are_weighted_like_any_other_mark():
    spec = spec_of(score(1, "100"), lateness())
    marks = [Mark("manager", 1, D(90)), Mark("manager", 2, D(2)), Mark("head", 2, D(3))]
    out = compute(spec, marks, D(1000))
    (item,) = out.trace["deduction"]["items"]
    # count 0.7 × 2 + 0.3 × 3 = 2.3; × 3 = 6.9 (under the cap); 90 − 6.9 = 83.10
    assert (item["incidents"], item["value"], item["applied"]) == ("2.3", "6.9", "6.9")
    assert out.total == D("83.10")


def test_an_item_without_points_per_incident_keeps_its_old_trace():
    plain = IndicatorSpec(2, "late", "迟到", IndicatorKind.DEDUCTION, D(0), D(0), D(10))
    marks = [Mark("manager", 1, D(90)), Mark("manager", 2, D(4))]
    out = compute(spec_of(score(1, "100"), plain), marks, D(1000))
    assert "incidents" not in out.trace["deduction"]["items"][0]


def test_the_explanation_line_shows_count_points_and_cap():
    item = {
        "name": "迟到",
        "value": "12",
        "applied": "10",
        "cap": "10",
        "incidents": "4",
        "per_incident": "3",
    }
    with i18n.using("en"):
        assert item_line(item, "−") == "• 迟到: 4 times × 3 = 12, item cap 10 → −10"
        under = {**item, "value": "6", "applied": "6", "incidents": "2"}
        assert item_line(under, "−") == "• 迟到: 2 times × 3 = 6 → −6"


# ---------------------------------------------------------------- the scheme workbook


@pytest.fixture
def group(session):
    grp = Group(name="示例集团")
    session.add(grp)
    session.flush()
    session.add(Institution(group_id=grp.id, name="一分公司"))
    session.commit()
    return grp


def _with_per_incident(value_for_deduction, value_for_perf=""):
    headers, rows = INDICATORS
    rows = [[*r, ""] for r in rows]
    table = ([*headers, "每次分值"], rows)
    table = with_row(table, 3, 每次分值=value_for_deduction)
    return with_row(table, 0, 每次分值=value_for_perf)


def test_the_scheme_workbook_reads_points_per_incident(session, group, tmp_path):
    import_scheme(session, NOW, workbook(tmp_path, 指标=_with_per_incident(3)), group)
    session.commit()
    scheme = session.scalar(select(Scheme))
    by_code = {i.code: i.per_incident for i in scheme.indicators}
    assert by_code == {"perf": None, "quality": None, "bonus": None, "deduction": D(3)}


def test_points_per_incident_on_a_score_indicator_or_not_positive_is_refused(
    session, group, tmp_path
):
    with i18n.using("en"):
        problems = refused(session, group, workbook(tmp_path, 指标=_with_per_incident(0, 2)))
    text = "\n".join(problems)
    assert "only for bonus and deduction items" in text
    assert "must be more than 0" in text
    assert session.scalar(select(Scheme)) is None


# ------------------------------------------------------------------ the scoring form


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


def test_the_form_takes_a_count_and_shows_its_points_and_the_cap(session, lang):
    w = build_world(session)
    penalty = session.scalar(select(Indicator).where(Indicator.code == "penalty"))
    penalty.per_incident = D(3)
    session.flush()
    words = WORDS[lang]
    scorer = Chat(session, bind(session, w.manager, language=lang))
    scorer.say("/score")
    scorer.say(Tap(w.zhang.name))
    scorer.say("90 85 80")
    asked = scorer.say(Tap(words["skip"]))
    assert ("每次 3 分" if lang == "zh_CN" else "3 points each") in asked
    refusal = scorer.say("1.5")
    assert ("不是整数次" if lang == "zh_CN" else "not a whole number of times") in refusal
    summary = scorer.say("4")
    counted = "4 次 × 3 = 12" if lang == "zh_CN" else "4 times × 3 = 12"
    assert counted in summary
    # 36 + 25.5 + 24 − min(12, 10) = 75.50
    assert "75.50" in summary
    task = w.tasks(session)[0]
    session.refresh(task)
    stored = {e.indicator.code: e.value for e in task.entries}
    assert stored["penalty"] == D(4)  # the count is what was entered and is stored
