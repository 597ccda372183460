"""How long "why is my pay this amount" takes at group scale, measured through the
conversation's one entry point (`bot.chat.dispatch.handle`, in its own committed
transaction, as the server runs it), beside the floor of reading that one result with
its expanded trace and nothing rendered.

The bench group of `benchmarks.compute` is built, computed and published; sampled employees get
a bound chat that has spoken once (so the timing is of an employee asking, not of a
first contact), then each asks "/why" once, timed, in random order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.published import AT, bind_chats, percentile, published, sample, scratch
from bot.appraisal.traces import expand
from bot.chat.dispatch import handle
from bot.infra.message import Incoming
from models import Result


@dataclass(frozen=True, slots=True)
class WhyReport:
    employees: int
    database: str
    samples: int
    setup_seconds: float
    why_ms: list[float]
    read_ms: list[float]

    p = staticmethod(percentile)


def run(
    employees: int, samples: int = 500, database_url: str | None = None, seed: int = 1
) -> WhyReport:
    with scratch(database_url) as engine:
        started = time.perf_counter()
        period_id = published(engine, employees, seed)
        chosen = sample(engine, period_id, samples, seed)
        bind_chats(engine, chosen)
        Sessions = sessionmaker(engine, expire_on_commit=False)
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
        return WhyReport(employees, engine.dialect.name, len(chosen), setup, why_ms, read_ms)


def _ask(Sessions: sessionmaker[Session], employee_id: int, text: str) -> str:
    user = f"bench-{employee_id}"
    with Sessions() as session, session.begin():
        replies = handle(session, Incoming("web", user, user, text=text), AT)
    return "\n".join(r.text for r in replies)
