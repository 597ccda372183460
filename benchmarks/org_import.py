"""How fast `jixiao import org` takes a group of N employees (200 institutions at
100,000), beside the floor: a bulk insert of the same employee rows, with its commit,
on the same kind of database.

The file has what HR's files have: 工号 typed as text, a two-level department path, a
position, the direct manager's 工号 (teams of 20 under a lead who reports to the
institution's first person, listed in the file's order: leads are not always above
their people) and the institution's head in 角色. The import is timed as the CLI runs
it (read, check every row, write, audit, commit) into an empty database, then again
with the same file over what it wrote (every row unchanged), then with every pay base
changed (an audit event per person).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from benchmarks.compute import peak_mb
from bot.importing import import_org
from models import Employee, Group, Institution
from models.db import copy_many, make_engine, sessions, upgrade

AT = dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC)
HEADERS = ("工号", "姓名", "机构", "部门", "岗位", "直接上级工号", "绩效工资基数", "角色")
TEAM = 20
PER_INSTITUTION = 500


@dataclass(frozen=True, slots=True)
class ImportBenchReport:
    employees: int
    database: str
    file_kind: str
    import_seconds: float
    unchanged_seconds: float
    changed_seconds: float
    floor_seconds: float
    stored: int
    peak_mb: float

    @property
    def ratio(self) -> float:
        return self.import_seconds / self.floor_seconds if self.floor_seconds else float("inf")


def rows(employees: int, pay: str = "3000.00") -> Iterator[tuple[str, ...]]:
    for n in range(employees):
        top = (n // PER_INSTITUTION) * PER_INSTITUTION
        lead = top + ((n - top) // TEAM) * TEAM
        manager = "" if n == top else str(100000 + (top if n == lead else lead))
        yield (
            str(100000 + n),
            f"员工{n}",
            f"机构{n // PER_INSTITUTION:03d}",
            f"零售部/柜面{(n - top) % 5}组",
            "柜员",
            manager,
            pay,
            "一把手" if n == top else "",
        )


def write_file(path: Path, employees: int, pay: str = "3000.00") -> Path:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("org")
        sheet.append(HEADERS)
        for row in rows(employees, pay):
            sheet.append(list(row))
        book.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(HEADERS)
            out.writerows(rows(employees, pay))
    return path


def run(
    employees: int, database_url: str | None = None, *, xlsx: bool = False
) -> ImportBenchReport:
    """`database_url` must name an empty scratch database; by default two temporary
    SQLite files are used (one for the floor, one for the import)."""
    tmp = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    suffix = ".xlsx" if xlsx else ".csv"
    try:
        org = write_file(tmp / f"org{suffix}", employees)
        raised = write_file(tmp / f"raised{suffix}", employees, "3100.00")
        floor_url = database_url or f"sqlite:///{tmp / 'floor.db'}"
        engine = make_engine(floor_url)
        upgrade(engine)
        floor = floor_seconds(engine, employees)
        if database_url is None:
            engine.dispose()
            engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
            upgrade(engine)
        else:
            _empty(engine)
        timings = []
        for path in (org, org, raised):
            started = time.perf_counter()
            with sessions(engine)() as session, session.begin():
                import_org(session, AT, path, group="基准集团")
            timings.append(time.perf_counter() - started)
        with Session(engine) as session:
            stored = session.scalar(select(func.count()).select_from(Employee)) or 0
        name = engine.dialect.name
        engine.dispose()
        return ImportBenchReport(
            employees,
            name,
            suffix[1:],
            timings[0],
            timings[1],
            timings[2],
            floor,
            stored,
            peak_mb(),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def floor_seconds(engine: Engine, employees: int) -> float:
    """Seconds to bulk-insert the same employee rows (with their managers) and commit."""
    with sessions(engine)() as session, session.begin():
        group = Group(name="floor")
        session.add(group)
        session.flush()
        insts = [
            Institution(group_id=group.id, name=f"机构{i:03d}")
            for i in range(-(-employees // PER_INSTITUTION))
        ]
        session.add_all(insts)
        session.flush()
        inst_ids = [i.id for i in insts]
        group_id = group.id
    columns = tuple(c.key for c in Employee.__table__.columns)
    with Session(engine) as session:
        started = time.perf_counter()
        copy_many(
            session.connection(),
            Employee,
            columns,
            (
                _floor_row(n, group_id, inst_ids, row, columns)
                for n, row in enumerate(rows(employees), start=1)
            ),
        )
        session.commit()
        return time.perf_counter() - started


def _floor_row(
    n: int, group_id: int, inst_ids: list[int], row: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[object, ...]:
    values: dict[str, object] = {
        "id": n,
        "group_id": group_id,
        "number": row[0],
        "name": row[1],
        "position": row[4],
        "institution_id": inst_ids[(n - 1) // PER_INSTITUTION],
        "manager_id": int(row[5]) - 100000 + 1 if row[5] else None,
        "pay_base": Decimal(row[6]),
        "active": True,
        "on_leave": False,
    }
    return tuple(values.get(c) for c in columns)


def _empty(engine: Engine) -> None:
    """Remove the floor's rows. Row by row, each deleted employee would be looked for
    among 100,000 managers (no index on manager_id): hours. So TRUNCATE on PostgreSQL;
    on SQLite, DELETE with foreign keys off, which SQLite empties a table for at once."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE employees, institutions, groups RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in ("employees", "institutions", "groups"):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.commit()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()
