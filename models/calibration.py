"""校准: an employee's grade set, or total adjusted, between scoring closed and
publication, with the reason and the role of who did it."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, When, intpk, str_enum
from models.org import Employee
from models.period import Period


class CalibrationRole(enum.StrEnum):
    HEAD = "head"
    HR = "hr"


class Calibration(Base):
    """One calibration. At most one per period and employee is in force (removed False);
    a newer one or a removal marks the older removed, so the history stays."""

    __tablename__ = "calibrations"
    __table_args__ = (Index("ix_calibrations_period_id_employee_id", "period_id", "employee_id"),)

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    # What the pay engine computed when the calibration was made.
    computed_grade: Mapped[str] = mapped_column(String(16))
    computed_total: Mapped[Decimal]
    # Exactly one of the two.
    grade: Mapped[str | None] = mapped_column(String(16), default=None)
    total_adjust: Mapped[Decimal | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(Text)
    role: Mapped[CalibrationRole] = mapped_column(str_enum(CalibrationRole))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), default=None)
    # Where it came from when no employee is known ("cli").
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[When]
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    period: Mapped[Period] = relationship()
    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
