"""Alembic environment: the engine is handed in by models.db.upgrade, or built from
DATABASE_URL when alembic is run by hand."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from models import Base
from models.db import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(
    os.environ.get("DATABASE_URL", "sqlite:///jixiao.db")
)

# Any key will do, as long as it is always the same: PostgreSQL's advisory locks are
# per database, so one upgrade at a time per Jixiao database.
UPGRADE_LOCK = 0x6A697869  # "jixi"


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()


with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # SQLite's own recipe for changing tables that others reference (a batch
        # migration copies a table, drops the old one, renames the copy): foreign keys
        # off outside the transaction, the changes, a foreign key check, then commit.
        # With them on, dropping `indicators` while score entries point at it fails.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            # The write lock, taken before Alembic reads the version: two processes
            # upgrading at once take turns, and the second finds nothing to do. Every
            # migration runs in this one transaction; a failed one leaves nothing behind.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            run(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                connection.rollback()
                raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    else:
        # Two processes upgrading at once: the second waits here, then finds the version
        # table at head and does nothing. The lock goes with the transaction.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
        run(connection)
        connection.commit()
