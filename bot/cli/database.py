"""`jixiao db upgrade`, `db check`, `backup`, `restore`: the database's schema and copies.

Every other command refuses a database whose schema is behind or ahead of the code
(bot.cli.common.require_current_schema), so an upgrade is always an explicit step.
"""

from __future__ import annotations

import shlex
import sqlite3
from contextlib import closing
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.cli import common
from bot.cli.common import Failure
from bot.cli.output import emit
from bot.infra.i18n import _
from bot.infra.settings import get_settings
from models.db import make_engine, schema_state, upgrade


def _url() -> str:
    return common._state.get("database_url") or get_settings().database_url


def _raw_engine() -> Engine:
    """The database without the schema gate: these commands are how one gets past it.
    No pool: each is one short command, and nothing stays connected after it."""
    return make_engine(_url(), poolclass=NullPool)


def _sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database or ""
    if not name or name == ":memory:":
        raise Failure(_("An in-memory database has nothing to back up or restore."))
    return Path(name)


def db_upgrade() -> None:
    engine = _raw_engine()
    before = schema_state(engine)
    if before.foreign:
        raise Failure(
            _("This database holds tables that are not Jixiao's: point DATABASE_URL elsewhere.")
        )
    if before.ahead:
        raise Failure(
            _(
                "The database was upgraded by a newer Jixiao (revision {found}; this one "
                "knows up to {head}): install that version, never an older one."
            ).format(found=", ".join(before.unknown), head=before.head)
        )
    upgrade(engine)
    after = schema_state(engine)
    if before.up_to_date:
        emit([_("The database is already at revision {head}.").format(head=after.head)])
    else:
        emit(
            [
                _("The database went from revision {old} to {new}.").format(
                    old=", ".join(before.current) or _("none (new database)"), new=after.head
                )
            ]
        )


def db_check() -> None:
    """Exit 0 when the schema matches the code, 1 otherwise (for deploy scripts)."""
    state = schema_state(_raw_engine())
    if state.up_to_date:
        emit(
            [
                _("The database is at revision {head}, as this Jixiao expects.").format(
                    head=state.head
                )
            ]
        )
        return
    if state.new:
        typer.echo(_("The database is empty: run jixiao db upgrade."), err=True)
    elif state.ahead or state.foreign:
        common.require_current_schema(_raw_engine())  # says which, exit 2
    else:
        typer.echo(
            _("The database is at revision {found} and this Jixiao needs {head}.").format(
                found=", ".join(state.current), head=state.head
            ),
            err=True,
        )
    raise typer.Exit(1)


BACKUP_FILE = typer.Argument(..., help=_("Where to write the copy."))
RESTORE_FILE = typer.Argument(..., help=_("A copy made by jixiao backup."))


def backup(file: Path = BACKUP_FILE) -> None:
    """An online, consistent copy of SQLite while Jixiao runs; PostgreSQL's command."""
    engine = _raw_engine()
    source = _sqlite_file(engine)
    if source is None:
        url = make_url(_url()).set(drivername="postgresql")
        command = shlex.join(
            [
                "pg_dump",
                "--format=custom",
                "--file",
                str(file),
                url.render_as_string(hide_password=False),
            ]
        )
        emit([_("For PostgreSQL, take the backup with pg_dump:"), command])
        return
    if not source.exists():
        raise Failure(_("There is no database at {path}.").format(path=source))
    if file.exists():
        raise Failure(_("{path} already exists: choose a new file name.").format(path=file))
    # SQLite's online backup API: a consistent snapshot even while serve and worker
    # write (it restarts the copy pages changed underneath it).
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(file)) as dst:
        src.backup(dst)
        # One self-contained file: no -wal beside it to forget when copying it away.
        dst.execute("PRAGMA journal_mode=DELETE")
    emit([_("Backed up {source} to {file}.").format(source=source, file=file)])


def restore(file: Path = RESTORE_FILE) -> None:
    """Into an empty database only: a restore never overwrites what is there."""
    engine = _raw_engine()
    target = _sqlite_file(engine)
    if target is None:
        url = make_url(_url()).set(drivername="postgresql")
        command = shlex.join(
            ["pg_restore", "--dbname", url.render_as_string(hide_password=False), str(file)]
        )
        emit([_("For PostgreSQL, restore into an empty database with pg_restore:"), command])
        return
    if not file.is_file():
        raise Failure(_("There is no backup at {path}.").format(path=file))
    if not schema_state(engine).new:
        raise Failure(
            _("{path} is not empty: restore only into a new database.").format(path=target)
        )
    with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as src:
        try:
            found = src.execute(
                "SELECT name FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone()
        except sqlite3.DatabaseError:
            found = None
        if found is None:
            raise Failure(_("{path} is not a Jixiao backup.").format(path=file))
        engine.dispose()  # nothing of ours holds the target open while it is written
        with closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    state = schema_state(_raw_engine())
    emit(
        [
            _("Restored {file} into {target} (revision {found}).").format(
                file=file, target=target, found=", ".join(state.current)
            )
        ]
    )
    if not state.up_to_date and not state.ahead:
        emit(
            [
                _("Run jixiao db upgrade before serving: this Jixiao needs {head}.").format(
                    head=state.head
                )
            ]
        )


def register(app: typer.Typer) -> None:
    db = typer.Typer(help=_("The database's schema: upgrade and check."))
    db.command("upgrade", help=_("Apply the schema migrations this Jixiao brings."))(db_upgrade)
    db.command("check", help=_("Exit 0 when the schema matches this Jixiao, else 1."))(db_check)
    app.add_typer(db, name="db")
    app.command(help=_("Copy the database while Jixiao runs (SQLite; PostgreSQL: pg_dump)."))(
        backup
    )
    app.command(help=_("Restore a backup into an empty database."))(restore)
