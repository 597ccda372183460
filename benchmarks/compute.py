"""How fast results are computed at group scale, measured against the floor: one SQL
aggregate of the same weighted sum, on the same database in the same run.

The set-up writes its rows with the driver's fastest path (executemany on SQLite, COPY
on PostgreSQL); the measurement runs in a fresh process, so the peak memory reported is
the computation's own and not the set-up's.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.orm import Session

from bot.appraisal import results
from bot.appraisal.periods import new_period
from bot.appraisal.results import compute_period
from models import (
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    Period,
    PeriodState,
    Result,
    Scheme,
    ScorerRole,
    ScoringTask,
)
from models.base import EncodedJSON, encode_json
from models.db import insert_many, make_engine, sessions, upgrade

ROLE_SETS: dict[int, tuple[tuple[str, str, Decimal], ...]] = {
    1: (("manager", "直接上级", Decimal(100)),),
    2: (("manager", "直接上级", Decimal(70)), ("head", "机构负责人", Decimal(30))),
    3: (
        ("manager", "直接上级", Decimal(60)),
        ("head", "机构负责人", Decimal(30)),
        ("peer", "同事互评", Decimal(10)),
    ),
}
CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class BenchReport:
    employees: int
    indicators: int
    roles: int
    entries: int
    database: str
    setup_seconds: float
    compute_seconds: float
    compute_cpu_seconds: float
    database_cpu_seconds: float  # PostgreSQL's process for the computation; NaN if unknown
    floor_seconds: float
    read_write_seconds: float
    peak_mb: float
    results: int

    @property
    def ratio(self) -> float:
        return self.compute_seconds / self.floor_seconds if self.floor_seconds else float("inf")

    @property
    def read_write_ratio(self) -> float:
        return self.read_write_seconds / self.floor_seconds if self.floor_seconds else float("inf")


def run(
    employees: int,
    indicators: int = 10,
    roles: int = 2,
    database_url: str | None = None,
    *,
    seed: int = 1,
    in_process: bool = False,
) -> BenchReport:
    """Build the bench group (in a temporary SQLite file unless a URL is given), then
    measure computing its period and the floor query."""
    if roles not in ROLE_SETS:
        raise ValueError("roles must be 1, 2 or 3")
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id, entries = build(engine, employees, indicators, roles, seed)
        setup = time.perf_counter() - started
        engine.dispose()
        if in_process:
            measured = measure(database_url, period_id)
        else:
            # A fresh interpreter: its peak memory is the computation's alone.
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                measured = pool.submit(measure, database_url, period_id).result()
        return BenchReport(
            employees=employees,
            indicators=indicators,
            roles=roles,
            entries=entries,
            database=engine.dialect.name,
            setup_seconds=setup,
            compute_seconds=measured["compute"],
            compute_cpu_seconds=measured["compute_cpu"],
            database_cpu_seconds=measured["database_cpu"],
            floor_seconds=measured["floor"],
            read_write_seconds=measured["read_write"],
            peak_mb=measured["peak_mb"],
            results=int(measured["results"]),
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _scheme(group_id: int, n_indicators: int, roles: int, at: dt.datetime) -> Scheme:
    share, extra = divmod(100, n_indicators)
    scheme = Scheme(group_id=group_id, code="BENCH", name="基准测试方案", created_at=at)
    scheme.indicators = [
        Indicator(
            position=k,
            code=f"k{k}",
            name=f"指标{k}",
            kind=IndicatorKind.SCORE,
            weight=Decimal(share + (extra if k == 1 else 0)),
            min_score=Decimal(0),
            max_score=Decimal(100),
        )
        for k in range(1, n_indicators + 1)
    ]
    scheme.roles = [
        ScorerRole(position=p, code=code, name=name, weight=weight)
        for p, (code, name, weight) in enumerate(ROLE_SETS[roles], start=1)
    ]
    scheme.grades = [
        GradeBand(grade=g, label=label, min_score=Decimal(m), coefficient=Decimal(c))
        for g, label, m, c in (
            ("A", "优秀", 90, "1.20"),
            ("B", "良好", 80, "1.00"),
            ("C", "合格", 70, "0.90"),
            ("D", "基本合格", 60, "0.80"),
            ("E", "不合格", 0, "0.60"),
        )
    ]
    return scheme


def build(
    engine: Engine, employees: int, n_indicators: int, roles: int, seed: int
) -> tuple[int, int]:
    """A group of `employees` people, a period closed for scoring with every task
    submitted and every indicator scored. Returns (period id, score entries)."""
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    rng = random.Random(seed)
    with sessions(engine)() as session, session.begin():
        group = Group(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(group)
        session.flush()
        scheme = _scheme(group.id, n_indicators, roles, at)
        session.add(scheme)
        n_inst = max(1, employees // 500)
        insts = [Institution(group_id=group.id, name=f"机构{i:03d}") for i in range(n_inst)]
        session.add_all(insts)
        session.flush()
        period = new_period(
            group.id, scheme.id, "2026-11", state=PeriodState.SCORING_CLOSED, deadline=at, now=at
        )
        session.add(period)
        session.flush()
        conn = session.connection()
        first_emp = (session.scalar(select(func.max(Employee.id))) or 0) + 1
        first_task = (session.scalar(select(func.max(ScoringTask.id))) or 0) + 1
        ind_ids = [i.id for i in scheme.indicators]
        role_codes = [r.code for r in scheme.roles]
        inst_ids = [i.id for i in insts]
        bulk = _Bulk(conn)

        def people() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                base = Decimal(3000 + 100 * (n % 51)).quantize(Decimal("0.01"))
                yield (
                    first_emp + n,
                    group.id,
                    f"B{n + 1:07d}",
                    f"员工{n + 1}",
                    "",
                    inst_ids[n % n_inst],
                    bulk.dec(base),
                    bulk.true,
                    bulk.false,
                )

        bulk.copy(
            "employees",
            (
                "id",
                "group_id",
                "number",
                "name",
                "position",
                "institution_id",
                "pay_base",
                "active",
                "on_leave",
            ),
            people(),
        )
        when = bulk.when(at)

        def tasks() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                for r, code in enumerate(role_codes):
                    scorer = first_emp + (n + r + 1) % employees
                    yield (
                        first_task + n * roles + r,
                        period.id,
                        scorer,
                        first_emp + n,
                        code,
                        when,
                        "submitted",
                        n_indicators,
                        when,
                        when,
                    )

        bulk.copy(
            "scoring_tasks",
            (
                "id",
                "period_id",
                "scorer_id",
                "appraisee_id",
                "role_code",
                "deadline",
                "state",
                "cursor",
                "submitted_at",
                "updated_at",
            ),
            tasks(),
        )
        values = [bulk.dec(Decimal(v)) for v in range(101)]

        def entries() -> Iterator[Sequence[Any]]:
            for n in range(employees):
                level = rng.randint(55, 98)
                for r in range(roles):
                    task = first_task + n * roles + r
                    scorer = first_emp + (n + r + 1) % employees
                    for ind in ind_ids:
                        v = min(100, max(0, level + rng.randint(-6, 6)))
                        yield (task, ind, values[v], "", scorer, when)

        bulk.copy(
            "score_entries",
            ("task_id", "indicator_id", "value", "comment", "entered_by", "entered_at"),
            entries(),
        )
        bulk.fix_sequences(("employees", "scoring_tasks"))
        return period.id, employees * roles * n_indicators


class _Bulk:
    """Rows straight into the driver, in the form each backend stores them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.true: Any = 1 if self.sqlite else True
        self.false: Any = 0 if self.sqlite else False

    def dec(self, d: Decimal) -> Any:
        return str(d) if self.sqlite else d

    def when(self, at: dt.datetime) -> Any:
        # SQLAlchemy's SQLite DateTime text form; the column holds UTC without an offset.
        return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else at

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        raw: Any = self.conn.connection.driver_connection
        cols = ", ".join(f'"{c}"' for c in columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
            cur = raw.cursor()
            batch: list[Sequence[Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
            cur.close()
            return
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def fix_sequences(self, tables: Sequence[str]) -> None:
        if self.sqlite:
            return
        for table in tables:
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def floor_query(conn: Connection, period_id: int) -> list[Any]:
    """The same weighted sum as the pay engine's, as one aggregate: the least any
    computation of these results can cost on this database."""
    num = "REAL" if conn.dialect.name == "sqlite" else "NUMERIC"
    sql = text(
        f"""
        SELECT t.appraisee_id,
               SUM(CAST(e.value AS {num}) * CAST(i.weight AS {num}) * CAST(r.weight AS {num}))
        FROM score_entries e
        JOIN scoring_tasks t ON t.id = e.task_id
        JOIN indicators i ON i.id = e.indicator_id
        JOIN periods p ON p.id = t.period_id
        JOIN scorer_roles r ON r.scheme_id = p.scheme_id AND r.code = t.role_code
        WHERE t.period_id = :period AND t.state = 'submitted'
        GROUP BY t.appraisee_id
        """
    )
    return list(conn.execute(sql, {"period": period_id}).all())


def measure(database_url: str, period_id: int) -> dict[str, float]:
    """Time compute_period (committed) and the floor query on the same database."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            floor_query(conn, period_id)  # warm the cache for both
        now = dt.datetime.now(dt.UTC)
        started, cpu = time.perf_counter(), time.process_time()
        with Session(engine) as session, session.begin():
            server = _ServerCpu(session)
            period = session.get_one(Period, period_id)
            report = compute_period(session, now, period, actor="bench")
            database_cpu = server.seconds()
        compute = time.perf_counter() - started
        compute_cpu = time.process_time() - cpu
        started = time.perf_counter()
        with engine.connect() as conn:
            rows = floor_query(conn, period_id)
        floor = time.perf_counter() - started
        if len(rows) != report.computed:
            raise RuntimeError(f"floor found {len(rows)} appraisees, compute {report.computed}")
        peak = peak_mb()  # the computation's, before the rewrite below holds every row
        read_write = read_and_write_only(engine, period_id)
    finally:
        engine.dispose()
    return {
        "compute": compute,
        "compute_cpu": compute_cpu,
        "database_cpu": database_cpu,
        "floor": floor,
        "read_write": read_write,
        "peak_mb": peak,
        "results": float(report.computed),
    }


class _ServerCpu:
    """CPU seconds PostgreSQL's own process spent for this session's connection (the
    other of the two processes a computation runs in), read from /proc when the server
    runs on this machine; NaN elsewhere (SQLite runs inside the client)."""

    def __init__(self, session: Session) -> None:
        self.stat: Path | None = None
        if session.get_bind().dialect.name == "postgresql":
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            stat = Path(f"/proc/{pid}/stat")
            self.stat = stat if stat.exists() else None
        self.start = self._ticks()

    def _ticks(self) -> float:
        if self.stat is None:
            return float("nan")
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # another user's process: not readable
            return float("nan")
        # utime and stime, fields 14 and 15 of proc(5), after the command name.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        return self._ticks() - self.start


def read_and_write_only(engine: Engine, period_id: int) -> float:
    """Seconds for what the computation cannot skip, with nothing computed: read the
    submitted marks as `compute_period` reads them, write back the very results it wrote
    (same rows, same traces, same chunks, same driver path) and commit.

    The least any design that works the results out in Python and stores a trace with
    each can cost on this database; the compute time minus this is the engine's share.
    The database ends as it was.
    """
    columns = results.RESULT_COLUMNS
    table = Result.__table__
    with Session(engine) as session:
        conn = session.connection()
        stored = [
            (*row[:-3], EncodedJSON(encode_json(row[-3])), *row[-2:])
            for row in conn.execute(
                select(*(table.c[name] for name in columns))
                .where(Result.period_id == period_id)
                .order_by(Result.id)
            ).tuples()
        ]
        conn.execute(delete(Result).where(Result.period_id == period_id))
        started = time.perf_counter()
        for _ in results.task_rows(session, period_id):
            pass
        for at in range(0, len(stored), results.CHUNK):
            insert_many(conn, Result, columns, stored[at : at + results.CHUNK])
        session.commit()
    return time.perf_counter() - started


def peak_mb() -> float:
    """The process's peak resident memory (Linux reports kilobytes, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
