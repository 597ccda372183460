"""Where each chat is in the conversation, and the wrong bind codes it has tried.

Both live in the database so a restart mid-form loses nothing; they are keyed by the
platform's user id, because a user who has not bound yet has no employee.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, When, intpk


class ChatState(Base):
    """One platform user's conversation: the open form, a value awaiting its comment,
    the language chosen before binding, and the key that signs their buttons."""

    __tablename__ = "chat_states"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    # Buttons carry a tag derived from this, so a payload copied from another chat fails.
    secret: Mapped[str] = mapped_column(String(32))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[When]


class BindFailure(Base):
    """A wrong bind code; five within an hour lock the platform user out for an hour."""

    __tablename__ = "bind_failures"
    __table_args__ = (Index("ix_bind_failures_who", "platform", "external_id", "at"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[When]
