"""During the parallel run an employee asks what the old system worked out: both figures
and the main reasons, only their own, in Chinese and English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.appraisal import legacy
from models import LegacyResult
from tests.chat_helpers import Chat, Tap, bind, build_world, money

AT = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


@pytest.fixture
def w(session):
    world = build_world(session)
    # 张三's October in the old system: B, 85, ¥4,000.00; ours is A, 93.90, ¥4,800.00.
    session.add(
        LegacyResult(
            period_id=world.october.id,
            employee_id=world.zhang.id,
            total=Decimal(85),
            grade="B",
            pay=Decimal("4000.00"),
            source="old.xlsx",
            imported_at=AT,
        )
    )
    session.flush()
    return world


def test_an_employee_gets_both_figures_and_the_reasons_in_chinese(session, w):
    zhang = Chat(session, bind(session, w.zhang, language="zh_CN"))
    text = zhang.say("旧系统算出来是多少")
    assert "2026-10" in text
    assert "新系统：等级 A，总分 93.90，绩效工资 ¥4,800.00。" in text
    assert "旧系统：等级 B，总分 85.00，绩效工资 ¥4,000.00。" in text
    assert "差额（新 − 旧）：¥800.00。" in text
    assert "等级不同：旧系统为 B，新系统为 A" in text
    assert "总分不同：旧系统为 85.00，新系统为 93.90" in text
    # The menu offers it to someone in the parallel run, and the button says the same.
    zhang.say("/menu")
    assert "新旧系统对比" in zhang.labels()
    assert zhang.say(Tap("新旧系统对比")) == text


def test_in_english_with_hr_s_note(session, w):
    row = session.query(LegacyResult).one()
    legacy.explain(session, AT, w.october, w.zhang.number, "old system capped grade A")
    assert row.note
    zhang = Chat(session, bind(session, w.zhang, language="en"))
    text = zhang.say("What did the old system give me?")
    assert f"New system: grade A, total 93.90, performance pay {money('4,800.00', 'en')}." in text
    assert f"Difference (new − old): {money('800.00', 'en')}." in text
    assert "grade differs: B in the old system, A in the new" in text
    assert "HR's explanation: old system capped grade A" in text


def test_only_for_oneself(session, w):
    li = Chat(session, bind(session, w.staff[1], language="zh_CN"))
    text = li.say("旧系统算出来是多少")
    assert "没有可对比的旧系统结果" in text
    assert "4,000.00" not in text
    li.say("/menu")
    assert "新旧系统对比" not in li.labels()
    # Asking for someone else's old figures is refused like their pay.
    nosy = li.say("张三旧系统算出来是多少")
    assert "¥4,000.00" not in nosy
    assert "93.90" not in nosy
