"""The scoring form of a scheme with sections: a scorer is asked only the indicators of
the sections their role scores, never a metric one; the summary says the total is not
theirs alone. Both languages, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Indicator, ScoreEntry, ScoringTask, TaskState
from tests.chat_helpers import Chat, Tap, bind, verify_dialog
from tests.metrics_helpers import layered_world

CONFIRM = {"en": "Confirm", "zh_CN": "确认"}
LATER = {
    "en": "The total also counts indicators scored from business data or by others",
    "zh_CN": "总分还包括取自业务数据或由其他人评分的指标",
}


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
            ("85", ["360评价: 85", LATER[lang], "!存款增量"]),
            (Tap(CONFIRM[lang]), [first, LATER[lang]]),
            ("/score", [first]),
            # As 直接上级: 360 评价, then 行为规范; never the data section.
            (Tap(f"{first} (1001) · 直接上级"), ["1/2", "360评价", "!存款增量"]),
            ("90", ["2/2", "行为规范"]),
            ("78", ["360评价: 90", "行为规范: 78", "!存款增量", "!客户投诉"]),
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
