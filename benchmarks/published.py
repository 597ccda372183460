"""What the benches of answers at group scale share: a scratch database holding the
bench group of `benchmarks.compute`, computed and published, and percentiles of their timings."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from benchmarks import compute as bench
from bot.appraisal.results import compute_period
from models import ChatIdentity, Period, PeriodState, Result
from models.db import make_engine, upgrade

AT = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def scratch(database_url: str | None) -> Iterator[Engine]:
    """A migrated database: the one given, else a temporary SQLite file removed after."""
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def published(engine: Engine, employees: int, seed: int) -> int:
    """The bench group's period, scored, computed and published at AT; its id."""
    period_id, _entries = bench.build(engine, employees, 10, 2, seed)
    with Session(engine) as session, session.begin():
        period = session.get_one(Period, period_id)
        compute_period(session, AT, period, actor="bench")
        period.state = PeriodState.PUBLISHED
        period.published_at = AT
    return period_id


def sample(engine: Engine, period_id: int, samples: int, seed: int) -> list[int]:
    """`samples` employees with a result, drawn at random."""
    with Session(engine) as session:
        people = list(
            session.scalars(select(Result.employee_id).where(Result.period_id == period_id))
        )
    return random.Random(seed).sample(people, min(samples, len(people)))


def bind_chats(engine: Engine, employees: list[int]) -> None:
    """A bound web chat for each, `bench-<employee id>`, as after binding by code."""
    with Session(engine) as session, session.begin():
        session.add_all(
            ChatIdentity(platform="web", external_id=f"bench-{e}", employee_id=e, bound_at=AT)
            for e in employees
        )
