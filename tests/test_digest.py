"""Heads' daily digest: completion, change, rank, overdue scorers, and the nudge button."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from sqlalchemy import select

from bot.appraisal.periods import open_period
from bot.appraisal.progress import group_progress
from bot.infra import i18n
from bot.infra.workdays import is_quiet, is_workday, workdays_between
from bot.notify.digest import build, queue_head_digests
from bot.notify.nudge import Nudged, nudge_answer, remind_overdue
from models import (
    ChatIdentity,
    OutboxMessage,
)
from tests.factories import T0, bind, small_org, submit

SH = dt.timezone(dt.timedelta(hours=8))


def test_progress_ranks_institutions_and_remembers_yesterday(session):
    group, people = small_org(session)
    open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 20)
    )
    east, west = people["东城支行"], people["西城支行"]
    now = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.UTC)
    submit(session, east[2][:1], now - dt.timedelta(days=2))
    submit(session, east[2][1:2], now - dt.timedelta(hours=1))
    submit(session, west[2][:2], now - dt.timedelta(hours=1))
    progress = group_progress(session, group.id, now)
    e, w = progress.of(east[0].id), progress.of(west[0].id)
    assert (e.now.done, e.now.total, e.yesterday.done) == (2, 4, 1)
    assert (w.now.done, w.now.total, w.rank) == (2, 3, 1)
    assert e.rank == 2
    assert w.now.rate == Decimal("66.7")
    assert progress.average == Decimal("57.1")  # 4 of 7


def test_the_digest_names_overdue_scorers_and_offers_one_tap_reminders(session):
    group, people = small_org(session)
    open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 20)
    )
    inst, head, _staff = people["东城支行"]
    now = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)  # Monday 09:30 in Shanghai
    with i18n.using("en"):
        digest = build(session, inst, now, group_progress(session, group.id, now))
    assert digest is not None
    assert "Submitted 0/4 (0%)" in digest.text
    assert "The deadline passed 3 days ago." in digest.text
    assert f"{head.name}: 4 left" in digest.text
    assert "Rank 1 of 2" in digest.text
    assert digest.buttons[0][0].payload == f"nudge:{inst.id}"
    with i18n.using("zh_CN"):
        chinese = build(session, inst, now, group_progress(session, group.id, now))
    assert chinese is not None
    assert "已提交 0/4" in chinese.text


def test_digests_go_out_once_a_workday_after_nine_local_time(session):
    group, people = small_org(session)
    open_period(session, T0, group=group, label="2026-11", scheme_code="STD")
    for _inst, head, _ in people.values():
        bind(session, head)
    early = dt.datetime(2026, 11, 24, 8, 30, tzinfo=SH)
    assert queue_head_digests(session, group.id, early) == 0
    nine = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
    assert queue_head_digests(session, group.id, nine) == 2
    assert queue_head_digests(session, group.id, nine + dt.timedelta(hours=1)) == 0
    saturday = dt.datetime(2026, 11, 28, 9, 0, tzinfo=SH)
    assert queue_head_digests(session, group.id, saturday) == 0
    assert session.query(OutboxMessage).count() == 2


def test_a_later_run_the_same_day_builds_nothing_and_each_digest_is_built_once(
    session, monkeypatch
):
    """The job runs every quarter of an hour: once today's digests are queued, later runs
    draw no chart; and two heads' chats in one institution and language share one build."""
    import bot.notify.digest as digest

    group, people = small_org(session)
    open_period(session, T0, group=group, label="2026-11", scheme_code="STD")
    for _inst, head, _ in people.values():
        bind(session, head)
        bind(session, head, platform="slack")  # a second chat, same language
    built = []
    real = digest.build

    def counting(session, institution, now, known, **kw):
        built.append(institution.id)
        return real(session, institution, now, known, **kw)

    monkeypatch.setattr(digest, "build", counting)
    nine = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
    assert queue_head_digests(session, group.id, nine) == 4
    assert sorted(built) == sorted({inst.id for inst, _head, _ in people.values()})
    built.clear()
    assert queue_head_digests(session, group.id, nine + dt.timedelta(minutes=15)) == 0
    assert built == []


def test_pressing_remind_twice_nudges_each_scorer_once_a_day(session):
    """Never the head herself, never a chat that blocked the bot, and the head is told
    how many could not be reached."""
    group, people = small_org(session)
    inst, head, staff = people["东城支行"]
    for appraisee, scorer in ((staff[1], staff[0]), (staff[2], staff[0]), (staff[3], staff[1])):
        appraisee.manager_id = scorer.id  # head scores staff 0; staff 0 and 1 score the rest
    session.flush()
    open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 20)
    )
    for person in (head, staff[0], staff[1]):
        bind(session, person)
    session.flush()
    blocked = session.scalars(
        select(ChatIdentity).where(ChatIdentity.employee_id == staff[1].id)
    ).one()
    blocked.unreachable = True
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    first = remind_overdue(session, now, head, inst.id)
    assert first == Nudged(reminded=1, unreachable=1, already=0)
    assert {m.employee_id for m in session.scalars(select(OutboxMessage))} == {staff[0].id}
    again = remind_overdue(session, now + dt.timedelta(hours=3), head, inst.id)
    assert again == Nudged(reminded=0, unreachable=1, already=1)
    assert remind_overdue(session, now + dt.timedelta(days=1), head, inst.id) == first
    other_head = people["西城支行"][1]
    assert remind_overdue(session, now, other_head, inst.id) is None
    with i18n.using("zh_CN"):
        assert nudge_answer(first) == (
            "已提醒 1 位考核人。\n另有 1 位无法联系：未绑定机器人，或已屏蔽机器人。"
        )
    with i18n.using("en"):
        assert nudge_answer(again) == (
            "Everyone overdue has already been reminded today.\n1 more could not be reached: "
            "not bound to the bot, or blocked it."
        )


def test_workdays_follow_chinas_holiday_calendar():
    assert not is_workday(dt.date(2026, 10, 1))  # National Day
    assert is_workday(dt.date(2026, 10, 10))  # a Saturday made a workday (调休)
    assert not is_workday(dt.date(2026, 11, 28))  # an ordinary Saturday
    assert workdays_between(dt.date(2026, 9, 30), dt.date(2026, 10, 8)) == 1  # 1-7 off


def test_unknown_years_fall_back_to_weekdays():
    assert is_workday(dt.date(2031, 3, 3))
    assert not is_workday(dt.date(2031, 3, 1))


def test_quiet_hours_wrap_around_midnight():
    assert is_quiet(dt.datetime(2026, 11, 24, 22, 0))  # noqa: DTZ001 - local wall time
    assert is_quiet(dt.datetime(2026, 11, 24, 7, 59))  # noqa: DTZ001
    assert not is_quiet(dt.datetime(2026, 11, 24, 8, 0))  # noqa: DTZ001


def test_the_clock_can_be_frozen_for_a_whole_walk():
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH), tick=False):
        assert dt.datetime.now(dt.UTC) == dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
