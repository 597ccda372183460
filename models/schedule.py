"""Tables the scheduler needs: APScheduler's job store and the leader lease."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Float, LargeBinary, String, Table, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# APScheduler 3's SQLAlchemyJobStore table, declared here so Alembic creates and tracks
# it; the job store finds it already there. Its columns must match APScheduler's.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class Lease(Base):
    """Who runs the scheduler: held by one process, renewed, taken over when it lapses."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]
