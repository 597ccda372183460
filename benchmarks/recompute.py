"""How long recomputing one employee's result takes after an appeal's revision, at group
scale, beside the time of reading that one result (the row and its expanded trace, as
"my score" does).

The bench group of `benchmarks.compute` is built and computed once and published; then, for each
sampled employee, one of their marks is changed (as a re-scoring would) and
`recompute_one` runs and commits. Only the recompute and its commit are timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from benchmarks.published import AT, percentile, published, sample, scratch
from bot.appraisal.results import recompute_one
from bot.appraisal.traces import expand
from models import Period, Result, ScoreEntry, ScoringTask


@dataclass(frozen=True, slots=True)
class RecomputeReport:
    employees: int
    database: str
    samples: int
    setup_seconds: float
    recompute_ms: list[float]
    read_ms: list[float]

    p = staticmethod(percentile)


def run(
    employees: int, samples: int = 200, database_url: str | None = None, seed: int = 1
) -> RecomputeReport:
    with scratch(database_url) as engine:
        started = time.perf_counter()
        period_id = published(engine, employees, seed)
        at = AT
        setup = time.perf_counter() - started
        chosen = sample(engine, period_id, samples, seed)
        recompute_ms, read_ms = [], []
        for employee_id in chosen:
            with Session(engine) as session, session.begin():
                entry = session.scalar(
                    select(ScoreEntry.id)
                    .join(ScoringTask, ScoringTask.id == ScoreEntry.task_id)
                    .where(
                        ScoringTask.period_id == period_id,
                        ScoringTask.appraisee_id == employee_id,
                    )
                    .limit(1)
                )
                value = session.scalar(select(ScoreEntry.value).where(ScoreEntry.id == entry))
                assert value is not None
                new = value - 1 if value > Decimal(50) else value + 1
                session.execute(update(ScoreEntry).where(ScoreEntry.id == entry).values(value=new))
            t0 = time.perf_counter()
            with Session(engine) as session, session.begin():
                period = session.get_one(Period, period_id)
                recompute_one(session, at, period, employee_id, "bench")
            recompute_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            with Session(engine) as session:
                result = session.scalar(
                    select(Result).where(
                        Result.period_id == period_id, Result.employee_id == employee_id
                    )
                )
                assert result is not None
                expand(session, result.trace)
            read_ms.append((time.perf_counter() - t0) * 1000)
        name = engine.dialect.name
        return RecomputeReport(employees, name, len(chosen), setup, recompute_ms, read_ms)
