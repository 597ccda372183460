"""Pushes to scorers and employees, walked day by day through a period around a holiday."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from sqlalchemy import select

from bot.appraisal.periods import open_period
from bot.chat.context import chat_state, sign
from bot.notify.reach import sign_handed_out
from bot.notify.reminders import (
    queue_deadline_reminders,
    queue_period_opened,
    queue_results_published,
)
from models import Employee, OutboxMessage, Result
from tests.factories import T0, bind, small_org, submit

SH = dt.timezone(dt.timedelta(hours=8))


def _texts(session, employee):
    return [
        m.content["text"]
        for m in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.employee_id == employee.id)
            .order_by(OutboxMessage.id)
        )
    ]


def test_each_scorer_gets_one_message_when_a_period_opens(session):
    group, people = small_org(session)
    _, head, staff = people["东城支行"]
    bind(session, head)
    bind(session, staff[0])
    period, _ = open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 12, 4)
    )
    assert queue_period_opened(session, period, T0) == 1  # staff[0] scores nobody
    assert queue_period_opened(session, period, T0) == 0
    assert _texts(session, head) == ["考核周期 2026-11 已开启：请在 2026-12-04 前为 4 人评分。"]


def test_reminders_follow_workdays_around_national_day_and_escalate(session):
    group, people = small_org(session, sizes=(("东城支行", 2),))
    _, head, staff = people["东城支行"]
    manager = staff[0]
    for e in staff[1:]:
        e.manager_id = manager.id
    session.flush()
    # Opened at T0 (November) for a September deadline: forced, as only the reminders
    # around the deadline matter here.
    open_period(
        session,
        T0,
        group=group,
        label="2026-09",
        scheme_code="STD",
        deadline=dt.date(2026, 9, 30),
        force=True,
    )
    bind(session, head)
    bind(session, manager)
    sent_on = {}
    for day in range(28, 31 + 11):
        date = dt.date(2026, 9, 1) + dt.timedelta(days=day - 1)
        for hour in (7, 9, 22):
            now = dt.datetime.combine(date, dt.time(hour), tzinfo=SH)
            with time_machine.travel(now, tick=False):
                n = queue_deadline_reminders(session, group.id, dt.datetime.now(dt.UTC))
            if n:
                sent_on.setdefault(date, 0)
                sent_on[date] += n
    # Sep 28 is a make-up workday but two workdays out; Oct 1-7 are the holiday; Oct 10 is
    # a Saturday made a workday; Oct 11 is a Sunday.
    days = sorted(sent_on)
    assert days == [
        dt.date(2026, 9, 29),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 8),
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 10),
    ]
    texts = _texts(session, manager)
    assert "明天（2026-09-30）" in texts[0]
    assert "今天（2026-09-30）" in texts[1]
    assert all("已过截止日期" in t for t in texts[2:])
    escalations = [t for t in _texts(session, head) if manager.name in t]
    assert len(escalations) == 2  # Oct 9 and Oct 10: two and three workdays overdue


def test_nobody_on_leave_or_finished_is_reminded(session):
    group, people = small_org(session, sizes=(("东城支行", 2),))
    _, head, staff = people["东城支行"]
    open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 24)
    )
    bind(session, head)
    now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    head.on_leave = True
    session.flush()
    assert queue_deadline_reminders(session, group.id, now) == 0
    head.on_leave = False
    submit(session, staff, now)
    session.flush()
    assert queue_deadline_reminders(session, group.id, now) == 0


def test_each_employee_hears_their_published_result_with_a_why_button(session):
    group, people = small_org(session, sizes=(("东城支行", 1),))
    _, _, staff = people["东城支行"]
    period, _ = open_period(session, T0, group=group, label="2026-10", scheme_code="STD")
    employee = staff[0]
    employee.language = "en"
    bind(session, employee)
    session.add(
        Result(
            period_id=period.id,
            employee_id=employee.id,
            total=Decimal("91.50"),
            grade="A",
            coefficient=Decimal("1.2"),
            pay_base=Decimal(5000),
            pay=Decimal("6000.00"),
            trace={},
            computed_at=T0,
        )
    )
    session.flush()
    assert queue_results_published(session, period, T0) == 1
    message = session.scalars(select(OutboxMessage)).one()
    assert message.content["text"] == (
        "Your appraisal for 2026-10 is published: 91.50 points, grade A, "
        "performance pay CN¥6,000.00."
    )
    # Queued unsigned, signed for its chat when handed out.
    assert message.content["buttons"][0][0]["payload"].startswith("why:")
    assert message.content["sign"] is True
    (content,) = sign_handed_out(
        session, message.platform, [(message.chat_id, message.content)], T0
    )
    key = chat_state(session, message.platform, message.chat_id, T0).secret
    body = message.content["buttons"][0][0]["payload"]
    assert content["buttons"][0][0]["payload"] == sign(key, body)
    assert "sign" not in content
    assert session.get(Employee, employee.id) is not None


def test_chat_keys_for_a_whole_push_are_the_keys_each_chat_answers_with(session):
    """A period-wide push signs its buttons with keys fetched (or made) for all chats at
    once: the same key a reply to that chat is signed with, never a second one."""
    from bot.chat.context import secrets_for

    known = chat_state(session, "telegram", "known", T0).secret
    keys = secrets_for(session, [("telegram", "known"), ("slack", "new"), ("slack", "new")], T0)
    assert keys[("telegram", "known")] == known
    assert keys[("slack", "new")] == chat_state(session, "slack", "new", T0).secret
    assert len(keys) == 2
    assert secrets_for(session, [], T0) == {}
