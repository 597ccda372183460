"""How long a "what if" answer takes in chat at group scale.

The bench group of `benchmarks.compute` is built, computed and published; sampled employees get a
bound chat, and each asks "如果指标3是90分，我的绩效工资是多少". Timed: one whole `handle`
call in its own committed transaction, as an adapter runs it (who is speaking, the
question recognised, the latest published result found, its trace expanded, the scheme
version loaded, the engine run, the answer written), beside reading that one result with
its expanded trace, and beside the whole chat answer to "/myscore" (the same person's
latest result with its breakdown), on the same database in the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.published import AT, bind_chats, percentile, published, sample, scratch
from bot.appraisal.traces import expand
from bot.chat.dispatch import handle
from bot.infra.message import Incoming
from models import Result

QUESTION = "如果指标3是90分，我的绩效工资是多少"
HYPOTHETICAL = "试算"


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    employees: int
    database: str
    samples: int
    setup_seconds: float
    answer_ms: list[float]
    read_ms: list[float]
    myscore_ms: list[float]

    p = staticmethod(percentile)


def run(
    employees: int, samples: int = 500, database_url: str | None = None, seed: int = 1
) -> WhatIfReport:
    with scratch(database_url) as engine:
        started = time.perf_counter()
        period_id = published(engine, employees, seed)
        chosen = sample(engine, period_id, samples, seed)
        bind_chats(engine, chosen)
        at = AT
        setup = time.perf_counter() - started
        answer_ms: list[float] = []
        read_ms: list[float] = []
        myscore_ms: list[float] = []
        for employee_id in chosen:
            user = f"bench-{employee_id}"
            t0 = time.perf_counter()
            with Session(engine) as session, session.begin():
                replies = handle(session, Incoming("web", user, user, text=QUESTION), at)
            answer_ms.append((time.perf_counter() - t0) * 1000)
            # Checked after the clock: a wrong answer is not a fast one.
            if not replies or HYPOTHETICAL not in replies[0].text:
                raise RuntimeError(f"no what-if answer for employee {employee_id}: {replies}")
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
            t0 = time.perf_counter()
            with Session(engine) as session, session.begin():
                handle(session, Incoming("web", user, user, text="/myscore"), at)
            myscore_ms.append((time.perf_counter() - t0) * 1000)
        name = engine.dialect.name
        return WhatIfReport(employees, name, len(chosen), setup, answer_ms, read_ms, myscore_ms)
