"""The group, its institutions and departments, employees and the roles they hold."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Code, Dec, Name, intpk, str_enum


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[intpk]
    name: Mapped[Name] = mapped_column(unique=True)

    institutions: Mapped[list[Institution]] = relationship(back_populates="group")


class Institution(Base):
    __tablename__ = "institutions"
    __table_args__ = (UniqueConstraint("group_id", "name"),)

    id: Mapped[intpk]
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    name: Mapped[Name]
    pilot: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    head_id: Mapped[int | None] = mapped_column(
        ForeignKey("employees.id", use_alter=True, ondelete="SET NULL")
    )

    group: Mapped[Group] = relationship(back_populates="institutions")
    departments: Mapped[list[Department]] = relationship(back_populates="institution")
    head: Mapped[Employee | None] = relationship(foreign_keys=[head_id], post_update=True)


class Department(Base):
    """A node in an institution's department tree; `path` is its full name, "零售部/柜面组"."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "path"),)

    id: Mapped[intpk]
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[Name]
    path: Mapped[str] = mapped_column(String(500))

    institution: Mapped[Institution] = relationship(back_populates="departments")
    parent: Mapped[Department | None] = relationship(remote_side="Department.id")


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("group_id", "number"),)

    id: Mapped[intpk]
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    # 工号: unique in the group, kept as text ("007" is not 7).
    number: Mapped[Code]
    name: Mapped[Name]
    position: Mapped[str] = mapped_column(String(200), default="")
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    pay_base: Mapped[Dec] = mapped_column(default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(200))
    # Mainland mobile, 11 digits without +86 (bot.infra.mobile): what Feishu binds by, when on.
    mobile: Mapped[str | None] = mapped_column(String(32), index=True)

    institution: Mapped[Institution] = relationship(foreign_keys=[institution_id])
    department: Mapped[Department | None] = relationship()
    manager: Mapped[Employee | None] = relationship(remote_side="Employee.id")


class Role(enum.StrEnum):
    HR = "hr"
    HEAD = "head"
    LEADERSHIP = "leadership"


class RoleGrant(Base):
    """A role held by an employee; `institution_id` None means the whole group."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("employee_id", "role", "institution_id"),)

    id: Mapped[intpk]
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))

    employee: Mapped[Employee] = relationship()
