"""How long recomputing one employee's result takes after an appeal's revision, at group
scale, beside the time of reading that one result (the row and its expanded trace, as
"my score" does).

The bench group of `bot.bench` is built and computed once and published; then, for each
sampled employee, one of their marks is changed (as a re-scoring would) and
`recompute_one` runs and commits. Only the recompute and its commit are timed.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import bench
from bot.results import compute_period, recompute_one
from bot.traces import expand
from models import Period, PeriodState, Result, ScoreEntry, ScoringTask
from models.db import make_engine, upgrade


@dataclass(frozen=True, slots=True)
class RecomputeReport:
    employees: int
    database: str
    samples: int
    setup_seconds: float
    recompute_ms: list[float]
    read_ms: list[float]

    @staticmethod
    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(
    employees: int, samples: int = 200, database_url: str | None = None, seed: int = 1
) -> RecomputeReport:
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id, _entries = bench.build(engine, employees, 10, 2, seed)
        at = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
        with Session(engine) as session, session.begin():
            period = session.get_one(Period, period_id)
            compute_period(session, at, period, actor="bench")
            period.state = PeriodState.PUBLISHED
            period.published_at = at
        setup = time.perf_counter() - started
        with Session(engine) as session:
            people = list(
                session.scalars(select(Result.employee_id).where(Result.period_id == period_id))
            )
        rng = random.Random(seed)
        chosen = rng.sample(people, min(samples, len(people)))
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
        engine.dispose()
        return RecomputeReport(employees, name, len(chosen), setup, recompute_ms, read_ms)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
