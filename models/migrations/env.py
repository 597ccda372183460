"""Alembic environment: the engine is handed in by models.db.upgrade, or built from
DATABASE_URL when alembic is run by hand."""

from __future__ import annotations

import os

from alembic import context

from models import Base
from models.db import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(
    os.environ.get("DATABASE_URL", "sqlite:///jixiao.db")
)

# Any key will do, as long as it is always the same: PostgreSQL's advisory locks are
# per database, so one upgrade at a time per Jixiao database.
UPGRADE_LOCK = 0x6A697869  # "jixi"

with engine.begin() as connection:
    # Two processes upgrading at once: the second waits here, then finds the version
    # table at head and does nothing. The lock goes with the transaction.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
    elif connection.dialect.name == "sqlite":
        # SQLite's write lock, taken before Alembic reads the version: every migration
        # then runs in this one transaction, and a failed one leaves nothing behind.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
