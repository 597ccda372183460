"""Computing a whole period: the stored traces, once their shared parts are put back,
are exactly what the pay engine gives for the same marks, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from benchmarks.compute import build
from bot.appraisal import results
from bot.appraisal.pay import Mark, SchemeSpec, compute
from bot.appraisal.results import compute_period
from bot.appraisal.traces import MissingParts, expand
from models import (
    Employee,
    GradeBand,
    Indicator,
    Period,
    Result,
    Scheme,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    TracePart,
)

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


def _marks(session, appraisee_id):
    rows = session.execute(
        select(ScoringTask.role_code, ScoreEntry.indicator_id, ScoreEntry.value, ScoreEntry.comment)
        .join(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
        .where(ScoringTask.appraisee_id == appraisee_id, ScoringTask.state == "submitted")
        .order_by(ScoringTask.id, ScoreEntry.indicator_id)
    ).all()
    return [Mark(role, ind, value, comment) for role, ind, value, comment in rows]


def _awkward(session, period_id):
    """Marks the fast path does not cover: comments (one with quotes and a newline), a
    value with trailing zeros, a head who skipped an indicator."""
    tasks = session.scalars(
        select(ScoringTask).where(ScoringTask.period_id == period_id).order_by(ScoringTask.id)
    ).all()
    first, second, third = tasks[0], tasks[2], tasks[5]
    session.execute(
        update(ScoreEntry)
        .where(ScoreEntry.task_id == first.id)
        .values(comment='超额完成 "Q4" 目标\n继续保持')
    )
    entry = session.scalars(select(ScoreEntry).where(ScoreEntry.task_id == second.id)).first()
    entry.value = Decimal("87.50")
    gone = session.scalars(select(ScoreEntry).where(ScoreEntry.task_id == third.id)).first()
    session.delete(gone)
    session.flush()


def test_stored_traces_expand_to_what_the_engine_computes(engine, Session):
    period_id, _entries = build(engine, 40, 4, 2, seed=7)
    with Session() as session, session.begin():
        _awkward(session, period_id)
        period = session.get_one(Period, period_id)
        report = compute_period(session, NOW, period)
    assert (report.created, report.incomplete) == (40, [])
    with Session() as session:
        period = session.get_one(Period, period_id)
        spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
        results = session.scalars(select(Result).where(Result.period_id == period_id)).all()
        assert len(results) == 40
        for result in results:
            assert result.trace["v"] == 2  # stored by reference
            full = expand(session, result.trace)
            person = session.get_one(Employee, result.employee_id)
            expected = compute(spec, _marks(session, result.employee_id), person.pay_base)
            assert full.pop("period") == {"id": period_id, "label": period.label}
            assert full.pop("appraisee")["number"] == person.number
            assert full == expected.trace
            assert (result.total, result.grade, result.pay) == (
                expected.total,
                expected.grade,
                expected.pay,
            )
        comments = [
            c
            for r in results
            for i in expand(session, r.trace)["indicators"]
            for c in i["comments"]
        ]
        assert ["manager", '超额完成 "Q4" 目标\n继续保持'] in comments
        values = [
            v
            for r in results
            for i in expand(session, r.trace)["indicators"]
            for vs in i["by_role"].values()
            for v in vs
        ]
        assert "87.50" in values
        # Every part stored once, every stored part named by some trace.
        named = {
            name
            for r in results
            for name in (
                r.trace["roles"],
                r.trace["grade"],
                r.trace["pay"],
                *r.trace["indicators"],
            )
        }
        stored = session.scalars(select(TracePart.digest)).all()
        assert sorted(stored) == sorted(named)


def test_recomputing_keeps_what_is_unchanged_and_rewrites_an_edited_comment(engine, Session):
    period_id, _entries = build(engine, 12, 3, 2, seed=3)
    with Session() as session, session.begin():
        compute_period(session, NOW, session.get_one(Period, period_id))
    with Session() as session, session.begin():
        again = compute_period(session, NOW, session.get_one(Period, period_id))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)
    with Session() as session, session.begin():
        task = session.scalars(
            select(ScoringTask).where(ScoringTask.period_id == period_id).order_by(ScoringTask.id)
        ).first()
        session.execute(
            update(ScoreEntry).where(ScoreEntry.task_id == task.id).values(comment="补充说明")
        )
        edited = compute_period(session, NOW, session.get_one(Period, period_id))
        appraisee = task.appraisee_id
    assert (edited.updated, edited.unchanged) == (1, 11)
    with Session() as session:
        result = session.scalars(select(Result).where(Result.employee_id == appraisee)).one()
        said = [c for i in expand(session, result.trace)["indicators"] for c in i["comments"]]
        assert said
        assert all(c == ["manager", "补充说明"] for c in said)


def test_a_trace_naming_a_part_that_is_not_stored_is_refused(engine, Session):
    period_id, _entries = build(engine, 3, 2, 1, seed=1)
    with Session() as session, session.begin():
        compute_period(session, NOW, session.get_one(Period, period_id))
    with Session() as session, session.begin():
        result = session.scalars(select(Result)).first()
        session.execute(delete(TracePart).where(TracePart.digest == result.trace["grade"]))
        with pytest.raises(MissingParts, match=result.trace["grade"]):
            expand(session, result.trace)


def test_the_database_refuses_to_delete_a_scheme_version_whose_parts_traces_name(engine, Session):
    """Traces name their parts within a scheme version: the version cannot go while they
    exist (foreign keys, enforced on SQLite too), so no stored explanation is orphaned."""
    period_id, _entries = build(engine, 3, 2, 1, seed=1)
    with Session() as session, session.begin():
        period = session.get_one(Period, period_id)
        compute_period(session, NOW, period)
        scheme_id = period.scheme_id
    with Session() as session, session.begin():
        # Even with the period and its results gone, the parts keep the version.
        session.execute(delete(Result).where(Result.period_id == period_id))
        session.execute(delete(ScoreEntry))
        session.execute(delete(ScoringTask))
        session.execute(delete(Period).where(Period.id == period_id))
        for part in (Indicator, ScorerRole, GradeBand):
            session.execute(delete(part).where(part.scheme_id == scheme_id))
        # Only the trace parts hold the version now.
        with pytest.raises(IntegrityError):
            session.execute(delete(Scheme).where(Scheme.id == scheme_id))
    with Session() as session:
        assert session.scalar(select(func.count()).select_from(TracePart)) > 0
        assert session.get(Scheme, scheme_id) is not None


def test_a_failure_halfway_writes_nothing(engine, Session, monkeypatch):
    period_id, _entries = build(engine, 40, 2, 2, seed=5)
    monkeypatch.setattr(results, "CHUNK", 10)
    real = results.evaluate_chunk
    seen = []

    def failing(*args):
        seen.append(1)
        if len(seen) == 3:  # two chunks' results and parts are already written
            raise RuntimeError("the machine went away")
        return real(*args)

    monkeypatch.setattr(results, "evaluate_chunk", failing)
    with pytest.raises(RuntimeError), Session() as session, session.begin():
        compute_period(session, NOW, session.get_one(Period, period_id))
    with Session() as session:
        assert session.scalars(select(Result)).all() == []
        assert session.scalars(select(TracePart)).all() == []
    monkeypatch.setattr(results, "evaluate_chunk", real)
    with Session() as session, session.begin():
        report = compute_period(session, NOW, session.get_one(Period, period_id))
    assert report.created == 40


def test_the_benchs_read_and_write_measure_leaves_the_results_as_they_were(engine, Session):
    """The bench rewrites the very results compute_period wrote, to time reading and
    writing alone: afterwards every row and trace is what it was."""
    from benchmarks.compute import read_and_write_only

    period_id, _entries = build(engine, 30, 3, 2, seed=3)
    with Session() as session, session.begin():
        compute_period(session, NOW, session.get_one(Period, period_id))

    def stored():
        with Session() as session:
            return [
                (r.employee_id, r.total, r.grade, r.coefficient, r.pay_base, r.pay, r.trace)
                for r in session.scalars(
                    select(Result).where(Result.period_id == period_id).order_by(Result.employee_id)
                )
            ]

    before = stored()
    assert len(before) == 30
    assert read_and_write_only(engine, period_id) > 0
    assert stored() == before
