"""Updates already handled, so a platform's retry never applies a score twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, intpk


class SeenUpdate(Base):
    """A Telegram update_id or a Slack event_id, recorded in the transaction that
    handled it."""

    __tablename__ = "seen_updates"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime]
