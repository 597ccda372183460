"""Engines, sessions and schema upgrades. The caller owns the session and transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    create_engine,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import Session, sessionmaker

from models.base import Base, encode_json

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with SQLite set up for a busy single file: foreign keys, WAL, patience.
    JSON columns keep Chinese as UTF-8 and accept `EncodedJSON` text as it is."""
    kwargs.setdefault("json_serializer", encode_json)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url and url.rstrip("/") != "sqlite:":
                _wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


# How long a connection waits to switch a new file to WAL while another holds it.
WAL_PATIENCE = 30.0


def _wal(cur: Any) -> None:
    """Switch the file to WAL once (it stays so). Switching needs the file to itself and
    SQLite answers "database is locked" at once rather than waiting, so several
    processes opening a new database together (two upgrades, serve beside worker) retry
    a moment later instead of failing."""
    deadline = time.monotonic() + WAL_PATIENCE
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic; an empty database gets everything.
    Safe to run from several processes at once (a lock in env.py)."""
    command.upgrade(alembic_config(engine), revision)


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this code's migrations."""

    current: tuple[str, ...]  # revisions recorded in the database; () when none
    head: str  # the newest revision this code knows
    unknown: tuple[str, ...]  # recorded revisions this code has never heard of
    foreign: bool  # tables without Alembic's version table: not a Jixiao database

    @property
    def new(self) -> bool:
        return not self.current and not self.foreign

    @property
    def up_to_date(self) -> bool:
        return self.current == (self.head,)

    @property
    def ahead(self) -> bool:
        """Written by a newer Jixiao: this code must not touch it."""
        return bool(self.unknown)


def schema_state(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config(engine))
    known = {rev.revision for rev in script.walk_revisions()}
    with engine.connect() as conn:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
        foreign = not current and bool(inspect(conn).get_table_names())
    return SchemaState(
        current=current,
        head=str(script.get_current_head()),
        unknown=tuple(r for r in current if r not in known),
        foreign=foreign,
    )


def insert_many(
    conn: Connection, model: type[Base], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """INSERT rows straight through the driver's executemany.

    At group scale SQLAlchemy's per-row parameter handling costs more than the database
    does. The values still go through each column's own bind processing (exact decimals,
    aware datetimes, JSON), so what is stored is exactly what an ORM insert stores.
    """
    table = model.__table__
    assert isinstance(table, Table)
    dialect = conn.dialect
    compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(columns))
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    positional = compiled.positiontup is not None
    if positional and list(compiled.positiontup or ()) != list(columns):
        raise ValueError("columns must be given in the table's order")

    def processed(row: Sequence[Any]) -> Any:
        values = [v if p is None else p(v) for p, v in zip(processors, row, strict=True)]
        return tuple(values) if positional else dict(zip(columns, values, strict=True))

    batch = [processed(row) for row in rows]
    if batch:
        conn.exec_driver_sql(compiled.string, batch)


def copy_many(
    conn: Connection, model: type[Base], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """`insert_many`, through COPY on PostgreSQL (ten times fewer round trips' worth of
    time for hundreds of thousands of rows). The values go through each column's bind
    processing as there, then psycopg's own adaptation (Decimal, aware datetime, text):
    what is stored is what an insert stores. Other databases: `insert_many`."""
    if conn.dialect.name != "postgresql":
        insert_many(conn, model, columns, rows)
        return
    table = model.__table__
    assert isinstance(table, Table)
    dialect = conn.dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    raw: Any = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])


def stream(conn: Connection, stmt: Select[Any], batch: int) -> Iterator[Sequence[Any]]:
    """Rows of a SELECT straight from the driver's cursor, `batch` at a time.

    For reading millions of plain values (ids, text) where SQLAlchemy's row objects
    cost more than the database. The statement's parameters are rendered into it, so
    use it only for ids and fixed values, never for text someone typed. No result
    processing happens: columns must be of types the driver returns as they are stored.
    """
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = conn.connection.driver_connection
    # PostgreSQL streams through a server-side cursor; SQLite's cursor always streams.
    cursor = raw.cursor() if conn.dialect.name == "sqlite" else raw.cursor(name="jixiao_stream")
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()
