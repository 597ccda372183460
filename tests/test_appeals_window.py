"""The objection window on China's workday calendar, set per period or per scheme; the
window's progress for HR; appeals in the head's digest, reminded and escalated."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.appraisal import adjustments, appeals
from bot.appraisal.periods import add_workdays, window_close
from bot.appraisal.progress import group_progress
from bot.cli.appeals import _progress
from bot.infra.errors import Refused
from bot.infra.message import Button
from bot.notify.appeal_notices import queue_appeal_reminders
from bot.notify.digest import build
from models import (
    Appeal,
    AppealState,
    AuditEvent,
    OutboxMessage,
    Role,
    RoleGrant,
    ScoringTask,
    TaskState,
)
from tests.chat_helpers import NOW, SH, bind, build_world
from tests.paysheet_helpers import cli


@pytest.fixture
def w(session):
    return build_world(session)


def test_workdays_skip_weekends_and_holidays_and_count_make_up_days():
    # Tuesday 1 December 2026 + 5 workdays: Wed, Thu, Fri, Mon, Tue 8 December.
    assert add_workdays(dt.date(2026, 12, 1), 5) == dt.date(2026, 12, 8)
    # From Wednesday 30 September: the National Day holiday is 1–7 October; Thursday 8,
    # Friday 9, Saturday 10 (a make-up workday), Monday 12, Tuesday 13.
    assert add_workdays(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)
    assert add_workdays(dt.date(2026, 9, 30), 0) == dt.date(2026, 9, 30)


def test_the_window_is_the_periods_else_the_schemes_else_five_workdays(session, w):
    published = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
    nov = w.period
    assert window_close(session, nov, published) == dt.datetime(2026, 12, 8, 23, 59, 59, tzinfo=SH)
    w.scheme.objection_days = 2
    assert window_close(session, nov, published) == dt.datetime(2026, 12, 3, 23, 59, 59, tzinfo=SH)
    nov.objection_days = 3
    assert window_close(session, nov, published) == dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=SH)
    nov.objection_days = 0
    assert window_close(session, nov, published) == published


def test_confirmed_appealed_and_silent_by_institution(session, w):
    oct_ = w.october
    oct_.window_closes_at = NOW + dt.timedelta(days=5)
    appeals.confirm(session, NOW, w.zhang, oct_)
    appeals.file_appeal(session, NOW, w.staff[1], oct_, "理由", ["perf"])
    lines = _progress(session, oct_)
    # October has results for 张三 and 李四 only, both of 一分公司.
    assert "一分公司 · 2 · 1 · 1 · 0" in lines
    assert any("004 李四" in line and "perf" in line for line in lines)
    appeals.withdraw(
        session, NOW, w.staff[1], appeals.open_appeal(session, oct_.id, w.staff[1].id).id
    )
    lines = _progress(session, oct_)
    assert "一分公司 · 2 · 1 · 0 · 1" in lines
    assert "没有尚未处理完的申诉。" in lines


def test_the_heads_digest_lists_open_appeals_with_a_button(session, w):
    oct_ = w.october
    oct_.window_closes_at = NOW + dt.timedelta(days=5)
    appeal = appeals.file_appeal(session, NOW, w.zhang, oct_, "理由")
    # 2026-12-03 is a Thursday: due five workdays later, Thursday 10 December.
    assert appeal.due_at == dt.datetime(2026, 12, 10, 23, 59, 59, tzinfo=SH)
    digest = build(session, w.inst, NOW, group_progress(session, w.group.id, NOW))
    assert digest is not None
    assert "待决定的申诉：1 项" in digest.text
    assert "张三（003），2026-10，2026-12-10 前决定" in digest.text
    assert Button("待决定的申诉：1", "aps") in [b for row in digest.buttons for b in row]
    other = build(session, w.other_inst, NOW, group_progress(session, w.group.id, NOW))
    assert other is None or "张三" not in other.text


def test_appeals_due_are_reminded_and_escalated_to_group_hr(session, w):
    oct_ = w.october
    oct_.window_closes_at = NOW + dt.timedelta(days=5)
    appeal = appeals.file_appeal(session, NOW, w.zhang, oct_, "理由")
    bind(session, w.head)
    bind(session, w.hr)
    # Filed Thursday 3 December, due Thursday 10 December.
    wed = dt.datetime(2026, 12, 9, 9, 30, tzinfo=SH)  # one workday before: the head and HR
    assert queue_appeal_reminders(session, w.group.id, wed) == 2
    assert queue_appeal_reminders(session, w.group.id, wed) == 0  # once a day
    tue = dt.datetime(2026, 12, 8, 9, 30, tzinfo=SH)  # two workdays before: nothing yet
    assert queue_appeal_reminders(session, w.group.id, tue) == 0
    # Monday 14 December is two workdays overdue: group HR hears even without a grant
    # for the institution (here they have the group-wide grant anyway).
    session.add(RoleGrant(employee_id=w.outsider.id, role=Role.HR, institution_id=None))
    bind(session, w.outsider)
    mon = dt.datetime(2026, 12, 14, 9, 30, tzinfo=SH)
    assert queue_appeal_reminders(session, w.group.id, mon) == 3
    texts = session.scalars(
        select(OutboxMessage.content).where(
            OutboxMessage.dedupe_key.like(f"appeal-due:{appeal.id}:2026-12-14%")
        )
    ).all()
    assert all("已逾期" in t["text"] for t in texts)
    # Decided: no more reminders.
    appeals.uphold(session, mon, appeal, "维持", appeals.Actor("hr", None, "test"))
    assert queue_appeal_reminders(session, w.group.id, mon + dt.timedelta(days=1)) == 0


def test_adjustment_amounts_are_exact_and_need_a_final_period(session, w):
    assert adjustments.parse_amount("+120.00") == Decimal("120.00")
    assert adjustments.parse_amount("−50") == Decimal("-50.00")
    assert adjustments.parse_amount("¥1,200.5") == Decimal("1200.50")
    assert adjustments.parse_amount("＋１２０") == Decimal("120.00")
    for bad in ("0", "12.345", "abc", "", "1e3", "9999999"):
        with pytest.raises(Refused):
            adjustments.parse_amount(bad)
    assert adjustments.next_label("2026-12") == "2027-01"
    assert adjustments.next_label("2026-Q4") == "2027-Q1"
    assert adjustments.next_label("2026") == "2027"
    with pytest.raises(Refused):  # October is published, not final
        adjustments.add(session, NOW, w.october, w.zhang, Decimal("120.00"), "理由")


def test_hr_decides_from_the_command_line(engine, Session):
    with Session() as s, s.begin():
        world = build_world(s)
        world.october.window_closes_at = NOW + dt.timedelta(days=5)
        appeals.file_appeal(s, NOW, world.staff[1], world.october, "质量分偏低", ["quality"])
        appeals.file_appeal(s, NOW, world.zhang, world.october, "全部偏低")
    neither = cli(engine, "appeals", "decide", "2026-10", "004")
    assert neither.exit_code == 2
    assert "--uphold" in neither.output
    empty = cli(engine, "appeals", "decide", "2026-10", "003", "--uphold", "  ")
    assert empty.exit_code == 2
    assert "书面答复" in empty.output
    nobody = cli(engine, "appeals", "decide", "2026-10", "005", "--revise")
    assert nobody.exit_code == 2
    assert "没有待决定的申诉" in nobody.output
    revised = cli(engine, "appeals", "decide", "2026-10", "004", "--revise")
    assert revised.exit_code == 0, revised.output
    assert "李经理" in revised.output
    upheld = cli(engine, "appeals", "decide", "2026-10", "003", "--uphold", "经复核维持")
    assert upheld.exit_code == 0, upheld.output
    with Session() as s:
        states = dict(
            s.execute(select(Appeal.reason, Appeal.state).order_by(Appeal.id)).tuples().all()
        )
        assert states == {"质量分偏低": AppealState.REVISING, "全部偏低": AppealState.UPHELD}
        reopened = s.scalars(select(ScoringTask).where(ScoringTask.appeal_id.is_not(None))).all()
        # 李四's 质量 was scored by the manager only (in October the head scored 张三).
        assert [(t.role_code, t.state) for t in reopened] == [("manager", TaskState.DRAFT)]
        decided_by = s.scalars(
            select(AuditEvent.actor_label).where(AuditEvent.action.like("appeal.%"))
        ).all()
        assert decided_by.count("cli") == 2
