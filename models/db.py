"""Engines, sessions and schema upgrades. The caller owns the session and transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, class_mapper, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from models.base import Base, encode_json

T = TypeVar("T")

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


# Values per IN (…) list: SQLite's default build refuses statements of more than 32,766
# parameters (some builds allow more), and a push to a whole period names every scorer.
IN_CHUNK = 5000


def chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values`, sorted, in lists of at most `size`: one IN (…) list each."""
    ordered = sorted(values)  # type: ignore[type-var]
    for at in range(0, len(ordered), size):
        yield ordered[at : at + size]


def insert_many(
    conn: Connection,
    model: type[Base],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unless_taken: Sequence[str] = (),
) -> int:
    """INSERT rows straight through the driver's executemany; returns how many.

    At group scale SQLAlchemy's per-row parameter handling costs more than the database
    does. The values still go through each column's own bind processing (exact decimals,
    aware datetimes, JSON), so what is stored is exactly what an ORM insert stores.
    With `unless_taken` (the columns of a unique constraint), a row whose values there
    are stored already is skipped (ON CONFLICT DO NOTHING) and not counted.
    """
    table = model.__table__
    assert isinstance(table, Table)
    dialect = conn.dialect
    stmt: Any = insert(table).inline()
    if unless_taken:
        dml = postgresql if dialect.name == "postgresql" else sqlite
        stmt = dml.insert(table).on_conflict_do_nothing(index_elements=list(unless_taken))
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    processors = [
        _repeating(table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in columns
    ]
    positional = compiled.positiontup is not None
    if positional and list(compiled.positiontup or ()) != list(columns):
        raise ValueError("columns must be given in the table's order")

    def processed(row: Sequence[Any]) -> Any:
        values = [v if p is None else p(v) for p, v in zip(processors, row, strict=True)]
        return tuple(values) if positional else dict(zip(columns, values, strict=True))

    batch = [processed(row) for row in rows]
    if not batch:
        return 0
    # Both drivers sum the rows each statement of an executemany inserted.
    return int(conn.exec_driver_sql(compiled.string, batch).rowcount)


def _repeating(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """`process`, answering at once for the value it was just given: bulk rows repeat
    one time, one state, one encoded message down a column (a third of a period's
    opening went in processing them again). Only for values that cannot change in
    between (not a dict or a list), as the processors are pure."""
    if process is None:
        return None
    last: list[Any] = [_NOTHING, None]

    def run(value: Any) -> Any:
        if value is last[0]:
            return last[1]
        out = process(value)
        if not isinstance(value, (dict, list)):
            last[0], last[1] = value, out
        return out

    return run


_NOTHING = object()


def update_many(conn: Connection, model: type[Base], changes: Iterable[dict[str, Any]]) -> None:
    """UPDATE rows by id straight through the driver's executemany, one statement per set
    of changed columns (`{"id": 7, "manager_id": 3}`).

    The ORM's bulk update costs several times the database's own work for a hundred
    thousand rows; values go through each column's bind processing as in `insert_many`.
    """
    table = model.__table__
    assert isinstance(table, Table)
    dialect = conn.dialect
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        keys = tuple(sorted(k for k in change if k != "id"))
        if keys:
            by_keys.setdefault(keys, []).append(change)
    for keys, rows in by_keys.items():
        if dialect.name == "postgresql" and len(rows) > _UPDATE_BY_COPY:
            _update_by_copy(conn, table, keys, rows)
            continue
        compiled = (
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values({k: bindparam(k) for k in keys})
            .compile(dialect=dialect)
        )
        names = ["_id", *keys]
        processors = {
            k: table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys
        }
        order = compiled.positiontup
        batch: list[Any] = []
        for row in rows:
            values = {"_id": row["id"]}
            for k in keys:
                p = processors[k]
                values[k] = row[k] if p is None else p(row[k])
            batch.append(tuple(values[n] for n in order) if order is not None else values)
        assert order is None or sorted(order) == sorted(names)
        conn.exec_driver_sql(compiled.string, batch)


# Above this many rows, PostgreSQL updates from a COPY'd temporary table in one statement:
# an executemany is a statement per row on the server, seconds for 100,000.
_UPDATE_BY_COPY = 500


def _update_by_copy(
    conn: Connection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    columns = ("id", *keys)
    temp = _temporary(table)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        _create_temporary(cur, table, columns)
        _copy_rows(cur, conn, table, temp, columns, ([row[k] for k in columns] for row in rows))
        sets = ", ".join(f'"{k}" = t."{k}"' for k in keys)
        cur.execute(f'UPDATE "{table.name}" AS e SET {sets} FROM {temp} AS t WHERE e.id = t.id')
        cur.execute(f"DROP TABLE {temp}")


def _temporary(table: Table) -> str:
    return f'"_jixiao_copy_{table.name}"'


def _create_temporary(cur: Any, table: Table, columns: Sequence[str]) -> None:
    """A temporary table of `columns` with the table's types and none of its
    constraints, dropped at commit; `_n` numbers its rows in the order they come."""
    names = ", ".join(f'"{c}"' for c in columns)
    temp = _temporary(table)
    cur.execute(
        f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "
        f'SELECT {names} FROM "{table.name}" WITH NO DATA'
    )
    cur.execute(f"ALTER TABLE {temp} ADD COLUMN _n bigserial")


def _copy_rows(
    cur: Any,
    conn: Connection,
    table: Table,
    target: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """COPY `rows` into `target` (quoted), each value through its column's bind
    processing as an insert would; returns how many."""
    dialect = conn.dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with cur.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            count += 1
            copy.write_row([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])
    return count


def copy_many(
    conn: Connection,
    model: type[Base],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unless_taken: Sequence[str] = (),
) -> int:
    """`insert_many`, through COPY on PostgreSQL (ten times fewer round trips' worth of
    time for hundreds of thousands of rows); returns how many rows were stored. The
    values go through each column's bind processing as there, then psycopg's own
    adaptation (Decimal, aware datetime, text): what is stored is what an insert stores.
    With `unless_taken`, rows whose values there are stored already are skipped (COPY
    into a temporary table, then INSERT … ON CONFLICT DO NOTHING from it, in the rows'
    order, so ids and a chat's messages follow it). Other databases: `insert_many`."""
    if conn.dialect.name != "postgresql":
        return insert_many(conn, model, columns, rows, unless_taken=unless_taken)
    table = model.__table__
    assert isinstance(table, Table)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        if not unless_taken:
            return _copy_rows(cur, conn, table, f'"{table.name}"', columns, rows)
        temp = _temporary(table)
        _create_temporary(cur, table, columns)
        _copy_rows(cur, conn, table, temp, columns, rows)
        names = ", ".join(f'"{c}"' for c in columns)
        keys = ", ".join(f'"{c}"' for c in unless_taken)
        cur.execute(
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {temp} '
            f"ORDER BY _n ON CONFLICT ({keys}) DO NOTHING"
        )
        count = int(cur.rowcount)
        cur.execute(f"DROP TABLE {temp}")
        return count


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


def adopt(session: Session, model: type[T], stored: dict[str, Any]) -> T:
    """The session's instance of the row `stored` (every column, as an UPDATE or INSERT
    … RETURNING gave it back), brought up to those values, or a new one as if loaded.

    For hot paths that write a row and read it back in one round trip by Core: the ORM's
    own upsert and RETURNING paths cost more Python time than the statement itself."""
    mapper = class_mapper(model)
    key = mapper.identity_key_from_primary_key(
        tuple(stored[str(c.key)] for c in mapper.primary_key)
    )
    found = session.identity_map.get(key)
    if found is None:
        return _as_loaded(session, model, stored)
    for name, value in stored.items():
        set_committed_value(found, name, value)
    return found


def link(obj: Any, name: str, value: Any) -> None:
    """Give `obj`'s relationship `name` the instance a joined read found, as the ORM's
    joined eager load would, unless the session has it loaded already."""
    if name not in instance_dict(obj):  # never loaded (nor set) in this session
        set_committed_value(obj, name, value)


def _as_loaded(session: Session, model: type[T], values: dict[str, Any]) -> T:
    """A new instance of `model` with these stored values, persistent in the session as
    if loaded. Not built by the constructor, whose attribute events record every value
    as a change only for make_transient_to_detached to discard them at once."""
    obj = class_mapper(model).class_manager.new_instance()
    instance_dict(obj).update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def write_now(session: Session, obj: Any) -> None:
    """Write a persistent object's changed columns now, by one cached Core UPDATE, and
    mark them saved: what the flush at commit would do for it, without the unit of
    work's Python cost (a large share of a chat step that changes one row). Anything else
    pending on it (a relationship, a new object) is left to the flush."""
    state = inspect(obj)
    if not state.persistent or not state.modified:
        return
    columns = state.mapper.column_attrs
    keys = _KEYS_OF(state)
    changed = tuple(sorted(k for k in state.committed_state if k in columns and k not in keys))
    if not changed:
        return
    values = {key: getattr(obj, key) for key in changed}
    # Not `flushed`: that would write this very object by the unit of work.
    session.connection().execute(
        _update_of(state.mapper.local_table, changed),
        {"p_pk": state.identity[0], **{f"p_{k}": v for k, v in values.items()}},
    )
    if len(changed) == len(state.committed_state):
        # Nothing else pending on it: saved as a flush would leave it, off the dirty list
        # (set_committed_value alone keeps it there, and the commit's flush walks it).
        state._commit_all(state.dict, session.identity_map)
    else:
        for key, value in values.items():
            set_committed_value(obj, key, value)


def _KEYS_OF(state: Any) -> tuple[str, ...]:
    return tuple(str(c.key) for c in state.mapper.primary_key)


@cache
def _update_of(table: Any, keys: tuple[str, ...]) -> Any:
    pk = next(iter(table.primary_key.columns))
    return (
        table.update()
        .where(pk == bindparam("p_pk", type_=pk.type))
        .values({k: bindparam(f"p_{k}", type_=table.c[k].type) for k in keys})
    )


def flushed(session: Session) -> Connection:
    """The session's connection for a Core statement, after the autoflush an ORM
    statement would have done: a Core statement must see (and must not be overtaken by)
    changes still pending in the session."""
    if session.autoflush:
        session.flush()
    return session.connection()
