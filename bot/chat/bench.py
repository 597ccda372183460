"""How many scoring-form steps per second the conversation core takes, beside the floor.

    python -m bot.chat.bench [--people 50] [--indicators 6]

Each step is one `handle` call in its own transaction on a fresh SQLite file (open the
next person, one typed score per indicator, Confirm), committed like a real adapter
would. The floor is the same number of bare single-row inserts, each committed, on the
same kind of file in the same run. Numbers only; no test asserts on them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from bot.chat.dispatch import handle
from bot.chat.types import Incoming, Kind, Reply
from bot.periods import new_period
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


def _world(session: Session, people: int, indicators: int) -> None:
    """One scorer with `people` appraisees and a scheme of equal-weight indicators."""
    group = Group(name="bench")
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
    scorer = Employee(group_id=group.id, number="0", name="scorer", institution_id=inst.id)
    session.add(scorer)
    session.flush()
    period = new_period(
        group.id,
        scheme.id,
        "2026-11",
        state=PeriodState.SCORING,
        deadline=NOW + dt.timedelta(days=4),
        now=NOW,
    )
    session.add(period)
    session.add(ChatIdentity(platform="web", external_id=USER, employee_id=scorer.id, bound_at=NOW))
    session.flush()
    for n in range(people):
        person = Employee(
            group_id=group.id,
            number=f"{n + 1:05d}",
            name=f"员工{n}",
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


def form_steps(engine: Engine, people: int, indicators: int) -> tuple[int, float]:
    """Score everyone through `handle`; returns (steps, seconds)."""
    make = sessions(engine)

    def step(kind: Kind, text: str = "", payload: str = "") -> list[Reply]:
        with make() as s, s.begin():
            return handle(s, Incoming("web", USER, USER, kind, text, payload), NOW)

    def person(opener: str) -> str:
        step(Kind.BUTTON, payload=opener)
        for i in range(indicators):
            replies = step(Kind.TEXT, str(80 + i))
        replies = step(Kind.BUTTON, payload=_payload(replies, "ok:"))
        return _payload(replies, "next")

    # The first person is untimed: it pays for imports, caches and locale data.
    nxt = person(_payload(step(Kind.TEXT, "/score"), "task:"))
    started = time.perf_counter()
    for _ in range(people - 1):
        nxt = person(nxt)
    return (people - 1) * (indicators + 2), time.perf_counter() - started


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        core = _engine(Path(folder), "core.db")
        with sessions(core)() as s, s.begin():
            _world(s, args.people, args.indicators)
        steps, took = form_steps(core, args.people, args.indicators)
        bare = _engine(Path(folder), "floor.db")
        base = floor(bare, steps)
        core.dispose()
        bare.dispose()
    rate, floor_rate = steps / took, steps / base
    print(f"form steps through handle: {steps} in {took:.2f} s = {rate:,.0f} steps/s")
    print(f"floor (bare insert+commit): {steps} in {base:.2f} s = {floor_rate:,.0f} writes/s")
    print(f"ratio: the core runs at {rate / floor_rate:.1%} of the floor")


if __name__ == "__main__":
    main()
