"""`jixiao bench audit`: time `audit verify` over a long chain against reading the same
rows with nothing computed (docs/performance.md).

The set-up writes N chained events straight through the driver (executemany), shaped
like the real ones: submissions with ten marks, edits with a before and after, period
steps, refusals. Then, on the same database in the same run:

* **verify**: `bot.appraisal.audit_verify.verify`, end to end (walk, hash every event, check
  the head and every sealed row);
* **read alone**: the very query verify streams the events with, every row fetched
  and its values (JSON included) decoded the same way, nothing hashed.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from bot.appraisal.audit_verify import events as chained_events
from bot.appraisal.audit_verify import verify
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import AuditEvent, AuditHead
from models.chain import GENESIS, event_hash
from models.db import insert_many, make_engine, upgrade

CHUNK = 10_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COLUMNS = (
    *("id", "at", "actor_id", "actor_label", "action", "entity", "entity_id"),
    *("before", "after", "note", "seq", "prev_hash", "hash", "seal"),
)
CODES = ("perf", "quality", "attitude", "teamwork", "growth", "compliance", "a", "b", "c", "d")


@dataclass
class AuditBenchReport:
    events: int
    database: str
    setup_seconds: float
    verify_seconds: float
    read_seconds: float
    intact: bool

    @property
    def ratio(self) -> float:
        return self.verify_seconds / self.read_seconds if self.read_seconds else 0.0


def _shapes(n: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """Event contents (without id and chain fields), a realistic mix."""
    rng = random.Random(seed)
    for k in range(n):
        at = START + dt.timedelta(seconds=k * 3, microseconds=rng.randrange(1_000_000))
        u = rng.random()
        if u < 0.6:
            marks = {c: str(rng.randrange(60, 101)) for c in CODES}
            yield at, None, "", "task.submit", "scoring_task", k, None, marks, ""
        elif u < 0.85:
            before = {"value": str(rng.randrange(60, 101)), "comment": ""}
            after = {"value": str(rng.randrange(60, 101)), "comment": "按时完成", "task": k}
            yield at, None, "", "score.edit", "score_entry", k, before, after, ""
        elif u < 0.95:
            yield at, None, "", "chat.refused", "scoring_task", k, None, None, "scoring closed"
        else:
            after = {"created": rng.randrange(100), "updated": 0, "unchanged": 0}
            yield at, None, "cli", "results.compute", "bench", k, None, after, ""


def build(engine: Engine, n: int, seed: int = 1) -> None:
    """N events chained as the application chains them (ids 1…N, in order). Their
    entities are not sealed tables, so verify's row checks have nothing to add."""
    with Session(engine) as session, session.begin():
        conn = session.connection()
        if session.scalar(select(func.count(AuditEvent.id))):
            raise Refused(_("The bench needs an empty scratch database: this one has events."))
        prev = GENESIS
        batch: list[tuple[Any, ...]] = []
        for seq, (at, actor, label, action, entity, eid, before, after, note) in enumerate(
            _shapes(n, seed), start=1
        ):
            fields = {
                "seq": seq,
                "prev": prev,
                "id": seq,
                "at": at,
                "actor_id": actor,
                "actor_label": label,
                "action": action,
                "entity": entity,
                "entity_id": eid,
                "before": before,
                "after": after,
                "note": note,
                "seal": None,
            }
            hashed = event_hash(fields)
            batch.append((seq, at, actor, label, action, entity, eid, before, after, note, seq))
            batch[-1] += (prev,)
            batch[-1] += (hashed, None)
            prev = hashed
            if len(batch) >= CHUNK:
                insert_many(conn, AuditEvent, COLUMNS, batch)
                batch.clear()
        insert_many(conn, AuditEvent, COLUMNS, batch)
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), :n)"), {"n": n}
            )
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, hash=prev))


def read_alone(engine: Engine) -> float:
    """Seconds to stream every event exactly as verify reads them, nothing computed."""
    with Session(engine) as session:
        started = time.perf_counter()
        for _row in chained_events(session.connection()):
            pass
        return time.perf_counter() - started


def run(n: int, database_url: str | None = None) -> AuditBenchReport:
    """Build a chain of `n` events (in a temporary SQLite file unless a URL of an empty,
    migrated-or-new scratch database is given) and time verify against the read."""
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-audit-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        build(engine, n)
        setup = time.perf_counter() - started
        # Read first, then verify: each finds the database equally warm after the set-up.
        read = read_alone(engine)
        with Session(engine) as session:
            started = time.perf_counter()
            verdict = verify(session)
            took = time.perf_counter() - started
        report = AuditBenchReport(n, engine.dialect.name, setup, took, read, verdict.intact)
        engine.dispose()
        return report
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
