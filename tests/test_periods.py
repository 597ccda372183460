"""The period lifecycle and results computation, through the real database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.appraisal.periods import (
    close_period,
    finalize_period,
    open_period,
    publish_period,
    reopen_period,
)
from bot.appraisal.results import compute_period
from bot.infra.errors import Refused
from models import (
    AuditEvent,
    Period,
    PeriodState,
    Result,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
)
from tests.factories import T0, small_org, submit

LATER = T0 + dt.timedelta(days=3)


def with_roles(session, group):
    """Give the factory's scheme a head (30) and a self (0) role beside the manager."""
    from models import Scheme

    scheme = session.scalar(select(Scheme).where(Scheme.group_id == group.id))
    scheme.roles[0].weight = Decimal(70)
    scheme.roles.append(ScorerRole(position=2, code="head", name="机构负责人", weight=Decimal(30)))
    scheme.roles.append(ScorerRole(position=3, code="self", name="本人", weight=Decimal(0)))
    session.flush()
    return scheme


def score_everyone(session, period, value=Decimal(88)):
    """One entry per task for the single indicator, every task submitted."""
    tasks = session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)).all()
    ind = period.scheme.indicators[0]
    for t in tasks:
        session.add(
            ScoreEntry(
                task_id=t.id,
                indicator_id=ind.id,
                value=value,
                entered_by=t.scorer_id,
                entered_at=LATER,
            )
        )
    session.flush()
    submit(session, [t.appraisee for t in tasks], LATER)
    session.flush()


def opened(session, roles=True):
    group, people = small_org(session)
    if roles:
        with_roles(session, group)
    period, count = open_period(session, T0, group=group, label="2026-11", scheme_code="STD")
    return group, people, period, count


def test_opening_creates_a_task_per_appraisee_for_manager_head_and_self(session):
    _group, people, period, count = opened(session)
    _inst, head, staff = people["东城支行"]
    tasks = session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)).all()
    assert count == len(tasks)
    one = {(t.role_code, t.scorer_id) for t in tasks if t.appraisee_id == staff[0].id}
    assert one == {("manager", head.id), ("head", head.id), ("self", staff[0].id)}
    # A head has no manager and does not score themself as head: only the self task.
    assert {(t.role_code, t.scorer_id) for t in tasks if t.appraisee_id == head.id} == {
        ("self", head.id)
    }
    assert period.state is PeriodState.SCORING
    assert period.opened_at == T0
    assert all(t.deadline == period.deadline for t in tasks)


def test_opening_records_an_audit_event_with_the_states(session):
    _group, _people, period, _count = opened(session)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "period.open"))
    assert event is not None
    assert event.entity_id == period.id
    assert event.before == {"state": "draft"}
    assert event.after == {"state": "scoring"}


def test_a_period_cannot_be_opened_twice(session):
    group, _people, _period, _count = opened(session)
    with pytest.raises(Refused, match="2026-11"):
        open_period(session, T0, group=group, label="2026-11", scheme_code="STD")


def test_publishing_an_open_period_is_refused_naming_the_state_it_needs(session):
    _group, _people, period, _count = opened(session)
    score_everyone(session, period)
    compute_period(session, LATER, period)
    with pytest.raises(Refused) as exc:
        publish_period(session, LATER, period)
    assert period.label in str(exc.value)
    assert period.state is PeriodState.SCORING


def test_finalizing_before_publication_is_refused(session):
    _group, _people, period, _count = opened(session)
    close_period(session, LATER, period)
    with pytest.raises(Refused):
        finalize_period(session, LATER, period)


def test_publishing_without_results_is_refused_and_says_to_compute(session):
    _group, _people, period, _count = opened(session)
    close_period(session, LATER, period)
    with pytest.raises(Refused, match="results compute"):
        publish_period(session, LATER, period)
    assert period.state is PeriodState.SCORING_CLOSED


def test_the_whole_lifecycle_computes_publishes_and_finalizes(session):
    _group, _people, period, _count = opened(session)
    score_everyone(session, period)
    close_period(session, LATER, period)
    report = compute_period(session, LATER, period)
    assert report.created == 7  # the two heads have no manager: see the next test
    publish_period(session, LATER, period, allow_missing=True)
    # Final once the objection window (five workdays) has closed.
    finalize_period(session, LATER + dt.timedelta(days=14), period)
    session.commit()
    assert session.get(Period, period.id).state is PeriodState.FINAL
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == [
        "period.open",
        "period.close",
        "results.compute",
        "period.publish",
        "period.finalize",
    ]
    result = session.scalars(select(Result).where(Result.period_id == period.id)).first()
    assert result.total == Decimal("88.00")
    assert Decimal(result.trace["total"]) == Decimal(88)
    assert result.trace["period"] == {"id": period.id, "label": "2026-11"}


def test_heads_without_a_manager_are_incomplete_and_block_publication(session):
    _group, _people, period, _count = opened(session)
    score_everyone(session, period)
    close_period(session, LATER, period)
    report = compute_period(session, LATER, period)
    # Heads have only their self task, which weighs nothing.
    assert [u.number for u in report.incomplete] == ["100", "200"]
    with pytest.raises(Refused, match="100"):
        publish_period(session, LATER, period)


def test_compute_is_refused_on_published_and_final_periods(session):
    _group, _people, period, _count = opened(session)
    score_everyone(session, period)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    publish_period(session, LATER, period, allow_missing=True)
    with pytest.raises(Refused):
        compute_period(session, LATER, period)
    finalize_period(session, LATER + dt.timedelta(days=14), period)
    with pytest.raises(Refused):
        compute_period(session, LATER, period)


def test_recomputing_after_a_changed_score_updates_the_result_and_audits_it(session):
    _group, people, period, _count = opened(session)
    score_everyone(session, period)
    compute_period(session, LATER, period)
    _inst, _head, staff = people["东城支行"]
    for entry in session.scalars(
        select(ScoreEntry)
        .join(ScoringTask)
        .where(ScoringTask.appraisee_id == staff[0].id, ScoringTask.role_code == "manager")
    ):
        entry.value = Decimal(58)
    session.flush()
    report = compute_period(session, LATER, period)
    assert report.updated == 1
    assert report.unchanged == 6
    result = session.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == staff[0].id)
    )
    session.refresh(result)
    # manager 58 × 70 + head 88 × 30, over 100
    assert result.total == Decimal("67.00")
    assert (
        session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "result.recompute")
        )
        == 1
    )


def test_drafts_never_count(session):
    _group, people, period, _count = opened(session, roles=False)
    _inst, _head, staff = people["东城支行"]
    task = session.scalar(
        select(ScoringTask).where(
            ScoringTask.period_id == period.id, ScoringTask.appraisee_id == staff[0].id
        )
    )
    session.add(
        ScoreEntry(
            task_id=task.id,
            indicator_id=period.scheme.indicators[0].id,
            value=Decimal(99),
            entered_by=task.scorer_id,
            entered_at=LATER,
        )
    )
    session.flush()
    report = compute_period(session, LATER, period)
    assert report.created == 0
    assert len(report.incomplete) == 7


def test_reopening_returns_a_closed_period_to_scoring(session):
    _group, _people, period, _count = opened(session)
    close_period(session, LATER, period)
    reopen_period(session, LATER, period)
    assert period.state is PeriodState.SCORING
    with pytest.raises(Refused):
        reopen_period(session, LATER, period)
