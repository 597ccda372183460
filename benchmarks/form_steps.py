"""How many scoring-form steps per second the conversation core takes, beside the floor.

    python -m benchmarks.form_steps [--people 50] [--indicators 6]
    python -m benchmarks.form_steps --database-url postgresql+psycopg://…/scratch --processes 3

Each step is one `handle` call in its own transaction (open the next person, one typed
score per indicator, Confirm), committed like a real adapter would. The floor is the same
number of bare single-row inserts, each committed, in the same run. Without a database
URL both run on fresh SQLite files in this process.

With `--processes N` (and a scratch database, normally PostgreSQL) the steps run in
separate processes, each its own scorer in its own chat, as several `serve` processes
would: first one process alone, then N at once, started together; the report gives
both rates and their ratio. Numbers only; no test asserts on them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import secrets
import tempfile
import time
from decimal import Decimal
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from bot.appraisal.periods import new_period
from bot.chat.dispatch import handle
from bot.infra.message import Incoming, Kind, Reply
from models import (
    AuditEvent,
    ChatIdentity,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    PeriodState,
    Scheme,
    ScorerRole,
    ScoringTask,
)
from models.db import make_engine, sessions, upgrade

NOW = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
USER = "bench-scorer"


def _world(
    session: Session,
    people: int,
    indicators: int,
    scorers: tuple[str, ...] = (USER,),
    name: str = "bench",
) -> None:
    """A scorer per chat user in `scorers`, each with `people` appraisees of their own, and
    a scheme of equal-weight indicators."""
    group = Group(name=name)
    session.add(group)
    session.flush()
    inst = Institution(group_id=group.id, name="bench")
    session.add(inst)
    session.flush()
    weight = Decimal(100) / indicators
    scheme = Scheme(group_id=group.id, code="B", name="bench", created_at=NOW)
    scheme.indicators = [
        Indicator(
            position=i, code=f"i{i}", name=f"指标{i}", kind=IndicatorKind.SCORE, weight=weight
        )
        for i in range(indicators)
    ]
    scheme.roles = [ScorerRole(position=1, code="manager", name="上级", weight=Decimal(100))]
    scheme.grades = [GradeBand(grade="A", label="A", min_score=Decimal(0), coefficient=Decimal(1))]
    session.add(scheme)
    period = None
    for k, user in enumerate(scorers):
        scorer = Employee(
            group_id=group.id, number=f"S{k}", name=f"scorer{k}", institution_id=inst.id
        )
        session.add(scorer)
        session.flush()
        if period is None:
            period = new_period(
                group.id,
                scheme.id,
                "2026-11",
                state=PeriodState.SCORING,
                deadline=NOW + dt.timedelta(days=4),
                now=NOW,
            )
            session.add(period)
        session.add(
            ChatIdentity(platform="web", external_id=user, employee_id=scorer.id, bound_at=NOW)
        )
        session.flush()
        for n in range(people):
            person = Employee(
                group_id=group.id,
                number=f"{k:02d}{n + 1:05d}",
                name=f"员工{k}-{n}",
                institution_id=inst.id,
                manager_id=scorer.id,
            )
            session.add(person)
            session.flush()
            session.add(
                ScoringTask(
                    period_id=period.id,
                    scorer_id=scorer.id,
                    appraisee_id=person.id,
                    role_code="manager",
                    deadline=period.deadline,
                )
            )


def _payload(replies: list[Reply], prefix: str) -> str:
    for reply in replies:
        for row in reply.buttons:
            for b in row:
                if b.payload.startswith(prefix):
                    return b.payload
    raise RuntimeError(f"no {prefix!r} button in {[r.text for r in replies]}")


def form_steps(
    engine: Engine,
    people: int,
    indicators: int,
    user: str = USER,
    ready: Barrier | None = None,
) -> tuple[int, float, float]:
    """Score everyone of `user` through `handle`; returns (steps, seconds, CPU seconds of
    this process). With `ready`, the timing starts when every process has passed it."""
    make = sessions(engine)

    def step(kind: Kind, text: str = "", payload: str = "") -> list[Reply]:
        with make() as s, s.begin():
            return handle(s, Incoming("web", user, user, kind, text, payload), NOW)

    def person(opener: str) -> str:
        step(Kind.BUTTON, payload=opener)
        for i in range(indicators):
            replies = step(Kind.TEXT, str(80 + i))
        replies = step(Kind.BUTTON, payload=_payload(replies, "ok:"))
        return _payload(replies, "next")

    # The first person is untimed: it pays for imports, caches and locale data.
    nxt = person(_payload(step(Kind.TEXT, "/score"), "task:"))
    if ready is not None:
        ready.wait()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(people - 1):
        nxt = person(nxt)
    took = time.perf_counter() - started
    return (people - 1) * (indicators + 2), took, time.process_time() - cpu


def _process(url: str, user: str, people: int, indicators: int, ready: Barrier, out: Any) -> None:
    """One process's share: its own engine, its own scorer and chat."""
    engine = make_engine(url)
    try:
        out.put(form_steps(engine, people, indicators, user, ready))
    finally:
        engine.dispose()


def together(url: str, users: list[str], people: int, indicators: int) -> tuple[float, float]:
    """Steps per second of `len(users)` processes scoring at once (each its own scorer):
    all the steps over the slowest process's time, timed from a common start; and the
    client CPU milliseconds a step cost (the processes' CPU time over all their steps)."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(len(users))
    out = spawn.Queue()
    workers = [
        spawn.Process(target=_process, args=(url, user, people, indicators, ready, out))
        for user in users
    ]
    for w in workers:
        w.start()
    found: list[tuple[int, float, float]] = [out.get(timeout=3600) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"a bench process failed (exit code {w.exitcode})")
    steps = sum(n for n, _s, _c in found)
    return steps / max(s for _n, s, _c in found), 1000 * sum(c for _n, _s, c in found) / steps


def floor(engine: Engine, steps: int) -> float:
    """The same number of single-row inserts, each in its own committed transaction."""
    started = time.perf_counter()
    for n in range(steps):
        with engine.begin() as c:
            c.execute(insert(AuditEvent).values(at=NOW, action="bench", entity="x", entity_id=n))
    return time.perf_counter() - started


def _engine(folder: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--indicators", type=int, default=6)
    parser.add_argument(
        "--database-url", default=None, help="a scratch database (default: SQLite files)"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="also run this many processes at once"
    )
    args = parser.parse_args()
    if args.processes > 1 or args.database_url:
        _shared(args.database_url, args.processes, args.people, args.indicators)
        return
    with tempfile.TemporaryDirectory() as folder:
        core = _engine(Path(folder), "core.db")
        with sessions(core)() as s, s.begin():
            _world(s, args.people, args.indicators)
        steps, took, _cpu = form_steps(core, args.people, args.indicators)
        bare = _engine(Path(folder), "floor.db")
        base = floor(bare, steps)
        core.dispose()
        bare.dispose()
    rate, floor_rate = steps / took, steps / base
    print(f"form steps through handle: {steps} in {took:.2f} s = {rate:,.0f} steps/s")
    print(f"floor (bare insert+commit): {steps} in {base:.2f} s = {floor_rate:,.0f} writes/s")
    print(f"ratio: the core runs at {rate / floor_rate:.1%} of the floor")


def _shared(url: str | None, processes: int, people: int, indicators: int) -> None:
    """One process alone, then `processes` at once, on one database; then the floor."""
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{Path(folder) / 'shared.db'}"
        engine = make_engine(url)
        upgrade(engine)
        # Fresh chat users each run, so a scratch database can be reused.
        tag = secrets.token_hex(4)
        users = [f"bench-{tag}-{k}" for k in range(1 + processes)]
        with sessions(engine)() as s, s.begin():
            _world(s, people, indicators, tuple(users), f"bench-{tag}")
        one, one_cpu = together(url, users[:1], people, indicators)
        many, many_cpu = together(url, users[1:], people, indicators)
        steps = (people - 1) * (indicators + 2)
        floor_rate = steps / floor(engine, steps)
        name = engine.dialect.name
        engine.dispose()
    print(f"database: {name}; {people} people × {indicators} indicators per process")
    print(
        f"1 process: {one:,.0f} steps/s ({one / floor_rate:.1%} of the floor), "
        f"{one_cpu:.2f} ms client CPU a step"
    )
    print(
        f"{processes} processes together: {many:,.0f} steps/s = {many / one:.2f}× one process, "
        f"{many_cpu:.2f} ms client CPU a step; this machine has {os.cpu_count()} CPUs"
    )
    print(f"floor (bare insert+commit, one process): {floor_rate:,.0f} writes/s")


if __name__ == "__main__":
    main()
