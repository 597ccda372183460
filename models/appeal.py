"""After publication: confirmations, appeals (申诉) and adjustments carried into a later
period (调整: 补发 / 扣回)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AwareDateTime, Base, Code, When, intpk, str_enum
from models.org import Employee
from models.period import Period


class Confirmation(Base):
    """An employee confirmed their published result for a period (silence counts as
    confirmed only when the window closes, and is not stored)."""

    __tablename__ = "confirmations"
    __table_args__ = (UniqueConstraint("period_id", "employee_id"),)

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    at: Mapped[When]


class AppealState(enum.StrEnum):
    OPEN = "open"  # waiting for the head's or HR's decision
    REVISING = "revising"  # decided "revise": scorers are re-scoring the named indicators
    UPHELD = "upheld"  # the result stands, with a written answer
    REVISED = "revised"  # re-scored and recomputed
    WITHDRAWN = "withdrawn"


# An appeal in these states blocks finalizing, and is the employee's one open appeal.
OPEN_STATES = (AppealState.OPEN, AppealState.REVISING)


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (
        # One open appeal per employee and period, enforced by the database so two
        # simultaneous first appeals cannot both land.
        Index(
            "uq_appeals_one_open",
            "period_id",
            "employee_id",
            unique=True,
            sqlite_where=text("state IN ('open', 'revising')"),
            postgresql_where=text("state IN ('open', 'revising')"),
        ),
    )

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    state: Mapped[AppealState] = mapped_column(str_enum(AppealState), default=AppealState.OPEN)
    reason: Mapped[str] = mapped_column(Text)
    # Indicator codes the employee pointed at; empty: the result as a whole.
    indicators: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[When]
    # The decision is due by then (end of the fifth workday by default).
    due_at: Mapped[When]
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), default=None)
    # The decider's role as the employee is told it ("hr", "head"); never their name.
    decided_as: Mapped[str] = mapped_column(String(16), default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    # The result before and after a revision: total, grade, pay, as strings.
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    period: Mapped[Period] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])


class Adjustment(Base):
    """A correction found after a period was final: a top-up (positive) or claw-back
    (negative) paid with a later period, `into_label`, and explained in both."""

    __tablename__ = "adjustments"

    id: Mapped[intpk]
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    # The final period the correction is for.
    origin_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    # The label of the period whose pay carries it (the one after the origin).
    into_label: Mapped[Code]
    amount: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[When]
    created_by: Mapped[str] = mapped_column(String(64), default="")
    # Cancelled before it was paid (entered by mistake): kept, never deleted, so the history
    # shows who cancelled it, when and why; a cancelled one is on no pay sheet.
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(AwareDateTime(), default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(Text, default=None)

    origin: Mapped[Period] = relationship()
    employee: Mapped[Employee] = relationship()
