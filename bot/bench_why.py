"""How long "why is my pay this amount" takes at group scale, measured through the
conversation's one entry point (`bot.chat.dispatch.handle`, in its own committed
transaction, as the server runs it), beside the floor of reading that one result with
its expanded trace and nothing rendered.

The bench group of `bot.bench` is built, computed and published; sampled employees get
a bound chat that has spoken once (so the timing is of an employee asking, not of a
first contact), then each asks "/why" once, timed, in random order.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import bench
from bot.chat.dispatch import handle
from bot.chat.types import Incoming
from bot.results import compute_period
from bot.traces import expand
from models import ChatIdentity, Period, PeriodState, Result
from models.db import make_engine, upgrade

AT = dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class WhyReport:
    employees: int
    database: str
    samples: int
    setup_seconds: float
    why_ms: list[float]
    read_ms: list[float]

    @staticmethod
    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(
    employees: int, samples: int = 500, database_url: str | None = None, seed: int = 1
) -> WhyReport:
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id, _entries = bench.build(engine, employees, 10, 2, seed)
        Sessions = sessionmaker(engine, expire_on_commit=False)
        with Sessions() as session, session.begin():
            period = session.get_one(Period, period_id)
            compute_period(session, AT, period, actor="bench")
            period.state = PeriodState.PUBLISHED
            period.published_at = AT
        with Sessions() as session:
            people = list(
                session.scalars(select(Result.employee_id).where(Result.period_id == period_id))
            )
        chosen = random.Random(seed).sample(people, min(samples, len(people)))
        with Sessions() as session, session.begin():
            session.add_all(
                ChatIdentity(platform="web", external_id=f"bench-{e}", employee_id=e, bound_at=AT)
                for e in chosen
            )
        for e in chosen:  # each chat has spoken once: its conversation row exists
            _ask(Sessions, e, "/menu")
        setup = time.perf_counter() - started
        why_ms, read_ms = [], []
        for e in chosen:
            t0 = time.perf_counter()
            answer = _ask(Sessions, e, "/why")
            why_ms.append((time.perf_counter() - t0) * 1000)
            assert "¥" in answer, answer[:200]
            t0 = time.perf_counter()
            with Sessions() as session:
                result = session.scalar(
                    select(Result).where(Result.period_id == period_id, Result.employee_id == e)
                )
                assert result is not None
                expand(session, result.trace)
            read_ms.append((time.perf_counter() - t0) * 1000)
        name = engine.dialect.name
        engine.dispose()
        return WhyReport(employees, name, len(chosen), setup, why_ms, read_ms)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _ask(Sessions: sessionmaker[Session], employee_id: int, text: str) -> str:
    user = f"bench-{employee_id}"
    with Sessions() as session, session.begin():
        replies = handle(session, Incoming("web", user, user, text=text), AT)
    return "\n".join(r.text for r in replies)
