"""How long the scorer report (`bot.appraisal.scorers.spreads`, what `jixiao scorers report` prints)
takes at group scale, beside one SQL aggregate of the same per-scorer figures on the same
database in the same run.

The bench group of `benchmarks.compute` is built (200 institutions at 100,000 employees, every
task submitted, 10 indicators of 0–100, two roles), then re-assigned so that each scorer
scores a team of TEAM people in each role, as a manager does. The floor computes per
scorer and role: people, mean, lowest, highest, variance and share of maximum marks,
from the same submitted marks; the report adds the peers' and the other scorer's
differences and the flags, and names the scorers. The two are checked to agree.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.orm import Session

from benchmarks import compute as bench
from bot.appraisal import scorers
from models import Employee, Period, ScoringTask
from models.db import make_engine, upgrade

TEAM = 12


@dataclass(frozen=True, slots=True)
class ScorersReport:
    employees: int
    institutions: int
    database: str
    scorers: int
    flagged: int
    setup_seconds: float
    report_seconds: float
    floor_seconds: float

    @property
    def ratio(self) -> float:
        return self.report_seconds / self.floor_seconds if self.floor_seconds else 0.0


def floor_query(conn: Connection, period_id: int) -> list[Any]:
    """Per scorer and role, in one statement: people, mean, lowest, highest, variance of
    their totals and the share of maximum marks (the bench scheme's indicators run 0–100,
    so a mark is its own normal form)."""
    num = "REAL" if conn.dialect.name == "sqlite" else "NUMERIC"
    sql = text(
        f"""
        WITH t AS (
            SELECT s.scorer_id, s.role_code,
                   SUM(CAST(i.weight AS {num}) * CAST(e.value AS {num}))
                       / SUM(CAST(i.weight AS {num})) AS total,
                   SUM(CASE WHEN e.value = i.max_score THEN 1 ELSE 0 END) AS tops,
                   COUNT(*) AS marks
            FROM scoring_tasks s
            JOIN score_entries e ON e.task_id = s.id
            JOIN indicators i ON i.id = e.indicator_id
            WHERE s.period_id = :period AND s.state = 'submitted'
              AND i.kind IN ('score', 'rating') AND i.weight > 0
            GROUP BY s.id, s.scorer_id, s.role_code
        )
        SELECT scorer_id, role_code, COUNT(*), AVG(total), MIN(total), MAX(total),
               AVG(total * total) - AVG(total) * AVG(total),
               SUM(tops) * 100.0 / SUM(marks)
        FROM t
        GROUP BY scorer_id, role_code
        """
    )
    return list(conn.execute(sql, {"period": period_id}).all())


def _teams(session: Session, period_id: int, employees: int) -> None:
    """Each appraisee's scorer in role r: the (r+1)-th member of their team of TEAM."""
    first = session.scalar(select(func.min(Employee.id))) or 1
    teams = max(1, employees // TEAM)
    for r, role in enumerate(("manager", "head")):
        # Team k (appraisees k*TEAM …) is scored by an employee of the next team over.
        team = (ScoringTask.appraisee_id - first) // TEAM
        session.execute(
            update(ScoringTask)
            .where(ScoringTask.period_id == period_id, ScoringTask.role_code == role)
            .values(scorer_id=first + ((team + 1) % teams) * TEAM + r)
        )


def run(employees: int, database_url: str | None = None, seed: int = 1) -> ScorersReport:
    tmp = None
    if database_url is None:
        tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
        database_url = f"sqlite:///{tmp / 'bench.db'}"
    try:
        engine = make_engine(database_url)
        upgrade(engine)
        started = time.perf_counter()
        period_id, _entries = bench.build(engine, employees, 10, 2, seed)
        with Session(engine) as session, session.begin():
            _teams(session, period_id, employees)
        with engine.connect() as conn:
            floor_query(conn, period_id)  # warm the cache for both
        setup = time.perf_counter() - started
        limits = scorers.Thresholds(Decimal(2), Decimal(80), Decimal(10), 3)
        t0 = time.perf_counter()
        with Session(engine) as session:
            period = session.get_one(Period, period_id)
            found = scorers.spreads(session, period, thresholds=limits)
            names = scorers.role_names(session, period)
            lines = [scorers.line(s, limits, names) for s in found]
        report = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect() as conn:
            rows = floor_query(conn, period_id)
            institutions = len(
                conn.execute(text("SELECT DISTINCT institution_id FROM employees")).all()
            )
        floor = time.perf_counter() - t0
        _agree(found, rows)
        name = engine.dialect.name
        engine.dispose()
        assert len(lines) == len(found)
        return ScorersReport(
            employees,
            institutions,
            name,
            len(found),
            sum(1 for s in found if s.flags),
            setup,
            report,
            floor,
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _agree(found: list[scorers.Spread], rows: list[Any]) -> None:
    """The report's figures and the aggregate's agree within a cent for every scorer (the
    aggregate runs in binary floats on SQLite, so a half cent may round either way)."""
    cent = Decimal("0.01")
    by_key = {(s.scorer_id, s.role): s for s in found}
    if len(by_key) != len(rows):
        raise RuntimeError(f"report has {len(by_key)} scorers, the aggregate {len(rows)}")
    for scorer_id, role, people, mean, low, high, var, share in rows:
        s = by_key[(scorer_id, role)]
        mine = (s.mean, s.low, s.high, s.std * s.std, s.max_share)
        theirs = tuple(Decimal(str(v)) for v in (mean, low, high, var, share))
        if people != s.people or any(abs(a - b) > cent for a, b in zip(mine, theirs, strict=True)):
            raise RuntimeError(f"scorer {scorer_id} {role}: report {mine}, aggregate {theirs}")
