"""The outbox: every push is a row first, then a send. A crash loses nothing."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, When, intpk, str_enum


class OutboxState(enum.StrEnum):
    QUEUED = "queued"  # waiting for its turn (or for next_attempt_at after a failure)
    CLAIMED = "claimed"  # leased by one sender; goes back to queued if its lease expires
    SENDING = "sending"  # the request is on the wire; a crash here is an unknown outcome
    SENT = "sent"
    FAILED = "failed"  # permanent: blocked, chat not found, too many attempts
    UNKNOWN = "unknown"  # the sender died or timed out mid-send; never retried blindly


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "state", "next_attempt_at"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    # Group chats have a stricter limit than private ones (Telegram: 20/min).
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # The same logical push (e.g. "remind:period7:scorer12:2026-11-24") is queued once.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[dict[str, Any]]
    state: Mapped[OutboxState] = mapped_column(str_enum(OutboxState), default=OutboxState.QUEUED)
    # Failed tries only: a 429 is a wait, not an attempt.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A long text goes as several messages (and a chart as one more): how many of them
    # were delivered, so a retry or another sender resumes after them, never repeats them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[When]
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[When]
    # Indexed: /metrics counts what was sent in the last minute at every scrape.
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
