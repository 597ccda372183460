"""Chat identities and the one-time codes that bind them to employees."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, When, intpk
from models.org import Employee


class ChatIdentity(Base):
    """A user on one platform (telegram, slack, web) bound to an employee."""

    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[intpk]
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    bound_at: Mapped[When]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)

    employee: Mapped[Employee] = relationship()


class BindCode(Base):
    """A one-time code; only its hash is stored, so a database leak binds nobody."""

    __tablename__ = "bind_codes"

    id: Mapped[intpk]
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[When]
    expires_at: Mapped[When]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    employee: Mapped[Employee] = relationship()
