"""The scoring form of a scheme with sections: a scorer is asked only the indicators of
the sections their role scores, never a metric one; the summary shows the scorer's own
points in each section they score, out of the section's weight, and says the total is
not theirs alone. Both languages, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Indicator, ScoreEntry, ScoringTask, TaskState
from tests.chat_helpers import Chat, Tap, bind, verify_dialog
from tests.metrics_helpers import SHEETS, layered_world

CONFIRM = {"en": "Confirm", "zh_CN": "确认"}
LATER = {
    "en": "The total also counts indicators scored from business data or by others",
    "zh_CN": "总分还包括取自业务数据或由其他人评分的指标",
}
BY_SECTION = {
    "en": "Your points by section, out of each section's weight in the total:",
    "zh_CN": "您在各考核维度所评的得分（满分为该维度在总分中的权重）：",
}


def points(lang, section, got, weight):
    if lang == "en":
        return f"· {section}: {got} of {weight}"
    return f"· {section}：{got}（满分 {weight}）"


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_each_role_is_asked_its_sections_only(session, tmp_path, lang):
    period, head, staff = layered_world(session, tmp_path)
    chat = Chat(session, bind(session, head, language=lang), now=period.opened_at)
    first = staff[0].name
    verify_dialog(
        chat,
        [
            ("/score", [f"{first} (1001) · 机构负责人", f"{first} (1001) · 直接上级"]),
            # As 机构负责人: 360 评价 only.
            (Tap(f"{first} (1001) · 机构负责人"), ["1/1", "360评价", "!行为规范", "!存款增量"]),
            # 85 × 30% = 25.50 of 360's 30; the head scores nothing of 行为规范.
            (
                "85",
                [
                    "360评价: 85",
                    BY_SECTION[lang],
                    points(lang, "360评价", "25.50", "30"),
                    "!· 行为规范",
                    LATER[lang],
                    "!存款增量",
                ],
            ),
            (Tap(CONFIRM[lang]), [first, LATER[lang]]),
            ("/score", [first]),
            # As 直接上级: 360 评价, then 行为规范; never the data section.
            (Tap(f"{first} (1001) · 直接上级"), ["1/2", "360评价", "!存款增量"]),
            ("90", ["2/2", "行为规范"]),
            (
                "78",
                [
                    "360评价: 90",
                    "行为规范: 78",
                    BY_SECTION[lang],
                    points(lang, "360评价", "27.00", "30"),
                    points(lang, "行为规范", "15.60", "20"),
                    "!存款增量",
                    "!客户投诉",
                ],
            ),
            (Tap(CONFIRM[lang]), [first, LATER[lang]]),
        ],
    )
    rows = session.execute(
        select(ScoringTask.role_code, ScoringTask.state, Indicator.code, ScoreEntry.value)
        .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
        .join(Indicator, Indicator.id == ScoreEntry.indicator_id)
        .where(ScoringTask.appraisee_id == staff[0].id)
        .order_by(ScoringTask.role_code, Indicator.position)
    ).all()
    assert [(r, s, c, str(v)) for r, s, c, v in rows] == [
        ("head", TaskState.SUBMITTED, "peer", "85"),
        ("manager", TaskState.SUBMITTED, "peer", "90"),
        ("manager", TaskState.SUBMITTED, "conduct", "78"),
    ]


NOT_COUNTED = {
    "en": "· 行为规范: not counted (your weight in this section is 0)",
    "zh_CN": "· 行为规范：不计分（您在该维度的权重为 0）",
}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_a_section_where_the_role_weighs_0_is_named_not_counted(session, tmp_path, lang):
    """The head scores 行为规范 too, at weight 0 there: the summary says it does not
    count, and gives their 360 points only."""
    headers, rows = SHEETS["考核维度"]
    sections = [r if r[0] != "conduct" else [*r[:3], "manager:100, head:0"] for r in rows]
    period, head, staff = layered_world(session, tmp_path, 考核维度=(headers, sections))
    chat = Chat(session, bind(session, head, language=lang), now=period.opened_at)
    first = staff[0].name
    verify_dialog(
        chat,
        [
            ("/score", [f"{first} (1001) · 机构负责人"]),
            (Tap(f"{first} (1001) · 机构负责人"), ["1/2", "360评价"]),
            ("85", ["2/2", "行为规范"]),
            (
                "70",
                [
                    "行为规范: 70",
                    BY_SECTION[lang],
                    points(lang, "360评价", "25.50", "30"),
                    NOT_COUNTED[lang],
                    "!14.00",
                    LATER[lang],
                ],
            ),
            (Tap(CONFIRM[lang]), [first, NOT_COUNTED[lang]]),
        ],
    )
