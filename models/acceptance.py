"""Proof that pay came from the system: acceptance checks against what payroll paid, the
rollout stages and target dates of each institution, the old system's results."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Dec, When, intpk, str_enum
from models.org import Employee, Institution
from models.period import Period


class AcceptanceCheck(Base):
    """One `jixiao acceptance check`: a payroll file compared with a final period."""

    __tablename__ = "acceptance_checks"

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    at: Mapped[When]
    # Who ran it: the operating-system account of the HR computer.
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    # What the file's checksum row said about it: None when it had none.
    checksum_intact: Mapped[bool | None] = mapped_column(Boolean, default=None)

    period: Mapped[Period] = relationship()
    institutions: Mapped[list[AcceptanceResult]] = relationship(
        back_populates="check", cascade="all, delete-orphan"
    )


class AcceptanceResult(Base):
    """One institution's outcome in a check; `institution_id` None gathers people paid
    whom the system does not know at all."""

    __tablename__ = "acceptance_results"

    id: Mapped[intpk]
    check_id: Mapped[int] = mapped_column(ForeignKey("acceptance_checks.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    institution_name: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean)
    people: Mapped[int] = mapped_column(Integer, default=0)
    mismatched: Mapped[int] = mapped_column(Integer, default=0)
    unexpected: Mapped[int] = mapped_column(Integer, default=0)
    unpaid: Mapped[int] = mapped_column(Integer, default=0)
    system_total: Mapped[Dec]
    paid_total: Mapped[Dec]
    # The people behind the counts, as shown in the report (工号, 姓名, amounts as text).
    details: Mapped[dict[str, Any]]

    check: Mapped[AcceptanceCheck] = relationship(back_populates="institutions")


class Stage(enum.StrEnum):
    """Rollout stages, in the order an institution reaches them."""

    ENVIRONMENT = "environment"
    DATA = "data"
    TRAINED = "trained"
    TRIAL = "trial"
    ACCEPTED = "accepted"
    LIVE = "live"


class StageReached(Base):
    """The day an institution reached a stage, as HR set it (derived stages are worked
    out when reported, from periods and acceptance checks)."""

    __tablename__ = "rollout_stages"
    __table_args__ = (UniqueConstraint("institution_id", "stage"),)

    id: Mapped[intpk]
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    stage: Mapped[Stage] = mapped_column(str_enum(Stage))
    reached_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[When]

    institution: Mapped[Institution] = relationship()


class StageTarget(Base):
    """The target date of a stage in the institution's 目标责任书."""

    __tablename__ = "rollout_targets"
    __table_args__ = (UniqueConstraint("institution_id", "stage"),)

    id: Mapped[intpk]
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    stage: Mapped[Stage] = mapped_column(str_enum(Stage))
    due_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[When]


class LegacyResult(Base):
    """The old (outsourced) system's result for one employee in one period."""

    __tablename__ = "legacy_results"
    __table_args__ = (UniqueConstraint("period_id", "employee_id"),)

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    total: Mapped[Decimal | None] = mapped_column(default=None)
    grade: Mapped[str | None] = mapped_column(String(16), default=None)
    pay: Mapped[Dec]
    source: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[When]
    # HR's explanation of the difference, once someone has looked at it.
    note: Mapped[str] = mapped_column(Text, default="")
    explained_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    employee: Mapped[Employee] = relationship()
