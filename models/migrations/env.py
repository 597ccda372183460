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

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
