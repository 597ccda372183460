"""Appraisal periods, the scoring tasks they create and the scores entered."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Code, When, intpk, str_enum
from models.org import Employee, Institution
from models.scheme import Indicator, Scheme


class PeriodKind(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class PeriodState(enum.StrEnum):
    DRAFT = "draft"
    SCORING = "scoring"
    SCORING_CLOSED = "scoring_closed"
    PUBLISHED = "published"
    FINAL = "final"


class Period(Base):
    """A 考核周期 such as 2026-11, for one institution or (institution None) the group."""

    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("group_id", "scope", "label"),)

    id: Mapped[intpk]
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    # "group" or the institution's id as text: a NULL would defeat the unique constraint.
    scope: Mapped[str] = mapped_column(String(32))
    label: Mapped[Code]
    kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"))
    state: Mapped[PeriodState] = mapped_column(str_enum(PeriodState), default=PeriodState.DRAFT)
    deadline: Mapped[When]
    created_at: Mapped[When]
    opened_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Workdays of the objection window (公示期); None: the scheme's, else the default.
    objection_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # Set on publication: confirmations and appeals are taken until then.
    window_closes_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # SHA-256 of the row as the audit chain last sealed it (models.chain); verify re-checks
    # it against the row and the chain.
    row_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    scheme: Mapped[Scheme] = relationship()
    institution: Mapped[Institution | None] = relationship()


class TaskState(enum.StrEnum):
    PENDING = "pending"
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ScoringTask(Base):
    """One scorer scoring one appraisee in one role for one period."""

    __tablename__ = "scoring_tasks"
    __table_args__ = (UniqueConstraint("period_id", "appraisee_id", "role_code", "scorer_id"),)

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    scorer_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    appraisee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    role_code: Mapped[Code]
    deadline: Mapped[When]
    state: Mapped[TaskState] = mapped_column(str_enum(TaskState), default=TaskState.PENDING)
    # Position of the next indicator the chat form will ask; lives here so a restart
    # resumes the form exactly where it stopped.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The appeal a "revise" decision reopened this task for, after publication: its
    # scorer may re-score it through the normal form until they submit again.
    appeal_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeals.id", use_alter=True), default=None
    )

    period: Mapped[Period] = relationship()
    scorer: Mapped[Employee] = relationship(foreign_keys=[scorer_id])
    appraisee: Mapped[Employee] = relationship(foreign_keys=[appraisee_id])
    entries: Mapped[list[ScoreEntry]] = relationship(
        back_populates="task", cascade="all, delete-orphan"
    )


class ScoreEntry(Base):
    __tablename__ = "score_entries"
    __table_args__ = (
        UniqueConstraint("task_id", "indicator_id"),
        # Few marks carry a comment: computing a period finds them without a full scan.
        Index(
            "ix_score_entries_commented",
            "task_id",
            sqlite_where=text("comment != ''"),
            postgresql_where=text("comment != ''"),
        ),
    )

    id: Mapped[intpk]
    task_id: Mapped[int] = mapped_column(ForeignKey("scoring_tasks.id"))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    value: Mapped[Decimal]
    comment: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    entered_at: Mapped[When]
    # Sealed when the task is submitted or the entry edited after it (a draft has none).
    row_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    task: Mapped[ScoringTask] = relationship(back_populates="entries")
    indicator: Mapped[Indicator] = relationship()


class Result(Base):
    """An employee's computed appraisal for a period, with the trace that explains it."""

    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("period_id", "employee_id"),)

    id: Mapped[intpk]
    # (period_id, employee_id) is unique, so that index also serves lookups by period.
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    total: Mapped[Decimal]
    grade: Mapped[str] = mapped_column(String(16))
    coefficient: Mapped[Decimal]
    pay_base: Mapped[Decimal]
    pay: Mapped[Decimal]
    # Every term with its numbers, as strings: explanations are rendered from this and
    # the trace parts it names (see TracePart).
    trace: Mapped[dict[str, Any]]
    computed_at: Mapped[When]
    # Written with the result by the computation; sealed by the chain (models.chain).
    row_hash: Mapped[str | None] = mapped_column(String(64), default=None)

    period: Mapped[Period] = relationship()
    employee: Mapped[Employee] = relationship()


class TracePart(Base):
    """A piece of result traces that many appraisees share: one indicator's marks and
    points, the roles that scored, a total's grade, a base's pay.

    Content-addressed (the digest of its JSON) within a scheme version and never
    changed, so a stored trace that names it explains the same numbers forever. At group
    scale ten thousand parts serve a hundred thousand traces.
    """

    __tablename__ = "trace_parts"

    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(32), primary_key=True)
    body: Mapped[Any] = mapped_column(JSON)


class MetricValue(Base):
    """An appraisee's target and actual of a metric indicator for a period (数据采集).

    `source` says where the target came from: "employee" (their own row), "position"
    (the file's row for everyone in their position) or "scheme" (the scheme version's
    target for their position, its 岗位目标 sheet)."""

    __tablename__ = "metric_values"
    __table_args__ = (UniqueConstraint("period_id", "employee_id", "indicator_id"),)

    id: Mapped[intpk]
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    target: Mapped[Decimal]
    actual: Mapped[Decimal]
    source: Mapped[str] = mapped_column(String(16), default="employee")
    updated_at: Mapped[When]


class AuditEvent(Base):
    """Append-only record of a change: who, when, what, before and after.

    Hash-chained (docs/audit.md): an event is written unsealed, marked with its
    transaction's `pending` token, and sealed when that transaction commits: it gets the
    next `seq`, the previous event's hash, the `seal` of the rows it vouches for, and its
    own `hash` over all of that (models.chain).
    """

    __tablename__ = "audit_events"

    id: Mapped[intpk]
    at: Mapped[When]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    # Where the change came from when no employee is known: "cli", "import", "demo".
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    # Position in the chain: the order of commits, not of ids (two transactions interleave ids).
    seq: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # The row hashes and group digests of the sealed rows this event vouches for.
    seal: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # The writing transaction's token until it is sealed at commit; a committed event
    # that still has one (or has no seq) was never sealed.
    pending: Mapped[str | None] = mapped_column(String(32), index=True, default=None)


class AuditHead(Base):
    """The one row naming the chain's last event: commits lock it to seal in turn, and
    verify compares it with the last event (events deleted from the end)."""

    __tablename__ = "audit_head"

    id: Mapped[intpk]
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
