"""A whole period walked day by day on a frozen clock, the way the scheduler drives it:
opening, reminders around National Day and its make-up workday, heads' digests,
escalation, closing, publication."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import time_machine
from sqlalchemy import select

from bot.appraisal.periods import close_period, open_period, publish_period
from bot.appraisal.results import compute_period
from bot.notify.digest import queue_head_digests
from bot.notify.reminders import (
    queue_deadline_reminders,
    queue_period_opened,
    queue_results_published,
)
from models import OutboxMessage, ScoreEntry, ScoringTask, TaskState
from tests.factories import bind, small_org

SH = dt.timezone(dt.timedelta(hours=8))


def _scan(session, group_id):
    """What the scheduler's jobs do every 15 minutes."""
    now = dt.datetime.now(dt.UTC)
    return queue_deadline_reminders(session, group_id, now) + queue_head_digests(
        session, group_id, now
    )


def _score(session, task, at):
    indicator = task.period.scheme.indicators[0]
    session.add(
        ScoreEntry(
            task_id=task.id,
            indicator_id=indicator.id,
            value=indicator.max_score - 10,
            entered_by=task.scorer_id,
            entered_at=at,
        )
    )
    task.state = TaskState.SUBMITTED
    task.submitted_at = at


def test_a_september_period_walks_through_national_day(session):
    group, people = small_org(session, sizes=(("东城支行", 3), ("西城支行", 2)))
    (_, east_head, east_staff), (_, west_head, west_staff) = people.values()
    manager = east_staff[0]  # scores the other two; the heads score their managers
    for person in east_staff[1:]:
        person.manager_id = manager.id
    for person in (east_head, west_head, *east_staff, *west_staff):
        bind(session, person)
    opened_at = dt.datetime(2026, 9, 24, 10, 0, tzinfo=SH)
    with time_machine.travel(opened_at, tick=False):
        period, tasks = open_period(
            session,
            dt.datetime.now(dt.UTC),
            group=group,
            label="2026-09",
            scheme_code="STD",
            deadline=dt.date(2026, 9, 30),
        )
        assert tasks == 5
        assert queue_period_opened(session, period, dt.datetime.now(dt.UTC)) == 3

    early = session.scalars(
        select(ScoringTask).where(ScoringTask.scorer_id.in_([west_head.id, east_head.id]))
    ).all()
    pushed_on: dict[dt.date, list[str]] = defaultdict(list)
    day = dt.date(2026, 9, 25)
    while day <= dt.date(2026, 10, 12):
        for hour in (8, 9, 12, 22):
            at = dt.datetime.combine(day, dt.time(hour, 30), tzinfo=SH)
            with time_machine.travel(at, tick=False):
                before = (
                    session.scalar(
                        select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)
                    )
                    or 0
                )
                _scan(session, group.id)
                for m in session.scalars(select(OutboxMessage).where(OutboxMessage.id > before)):
                    pushed_on[day].append(m.dedupe_key.split(":")[0])
        if day == dt.date(2026, 9, 29):  # both heads finish early; the manager does not
            for task in early:
                _score(session, task, dt.datetime.combine(day, dt.time(15), tzinfo=SH))
            session.flush()
        day += dt.timedelta(days=1)

    # Digests every workday at 09:00 while scoring is open; none on the holiday week
    # (Oct 1-7) or the weekend, one on the make-up Saturday (Oct 10).
    digest_days = sorted(d for d, kinds in pushed_on.items() if "digest" in kinds)
    assert dt.date(2026, 9, 26) not in digest_days  # Saturday
    assert dt.date(2026, 9, 28) in digest_days  # a Monday
    assert not [d for d in digest_days if dt.date(2026, 10, 1) <= d <= dt.date(2026, 10, 7)]
    assert dt.date(2026, 10, 10) in digest_days
    assert dt.date(2026, 10, 11) not in digest_days
    # Reminders: the day before, the day, then every workday overdue, only to the
    # manager once the heads are done; escalation to the head at two workdays overdue.
    remind_days = sorted(d for d, kinds in pushed_on.items() if "remind" in kinds)
    assert remind_days == [
        dt.date(2026, 9, 29),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 8),
        dt.date(2026, 10, 9),
        dt.date(2026, 10, 10),
        dt.date(2026, 10, 12),
    ]
    counts = {d: kinds.count("remind") for d, kinds in pushed_on.items() if d in remind_days}
    assert counts[dt.date(2026, 9, 29)] == 3  # everyone, before the heads finished
    assert all(n == 1 for d, n in counts.items() if d > dt.date(2026, 9, 29))
    escalate_days = sorted(d for d, kinds in pushed_on.items() if "escalate" in kinds)
    assert escalate_days[0] == dt.date(2026, 10, 9)
    escalation = session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("escalate:"))
    ).first()
    assert escalation.employee_id == east_head.id
    assert manager.name in escalation.content["text"]

    # The east head scores late; HR closes, computes and publishes.
    closing = dt.datetime(2026, 10, 13, 10, 0, tzinfo=SH)
    with time_machine.travel(closing, tick=False):
        now = dt.datetime.now(dt.UTC)
        for task in session.scalars(
            select(ScoringTask).where(ScoringTask.state != TaskState.SUBMITTED)
        ):
            _score(session, task, now)
        session.flush()
        close_period(session, now, period)
        report = compute_period(session, now, period)
        assert report.created == 5
        publish_period(session, now, period)
        assert queue_results_published(session, period, now) == 5
        assert _scan(session, group.id) == 0  # nothing open: no digests, no reminders
