"""Appraisal schemes: versioned sets of indicators, scorer roles and grade bands."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Code, Name, When, intpk, str_enum


class IndicatorKind(enum.StrEnum):
    SCORE = "score"  # a number in [min_score, max_score]
    RATING = "rating"  # one of named levels, each worth points
    BONUS = "bonus"  # points added on top, capped
    DEDUCTION = "deduction"  # points taken off, capped
    # Points from business data (数据采集): the appraisee's target and actual for the
    # period, turned into points by the indicator's rule; nobody scores it.
    METRIC = "metric"


class PayMode(enum.StrEnum):
    COEFFICIENT = "coefficient"  # pay = base × grade coefficient
    SCORE = "score"  # pay = base × total / 100


class Scheme(Base):
    """One version of a scheme. A new version is a new row; periods keep theirs."""

    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("group_id", "code", "version"),)

    id: Mapped[intpk]
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    code: Mapped[Code]
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[Name]
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    pay_mode: Mapped[PayMode] = mapped_column(str_enum(PayMode), default=PayMode.COEFFICIENT)
    # Totals are shown, and graded, at this many decimal places.
    score_places: Mapped[int] = mapped_column(Integer, default=2)
    pay_quantum: Mapped[Decimal] = mapped_column(default=Decimal("0.01"))
    rounding: Mapped[str] = mapped_column(String(24), default="ROUND_HALF_UP")
    # Caps on the sum of all bonus items and of all deduction items; None = uncapped.
    bonus_cap: Mapped[Decimal | None] = mapped_column(default=None)
    deduction_cap: Mapped[Decimal | None] = mapped_column(default=None)
    # Workdays of the objection window after publication; None: the default (5).
    objection_days: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[When]

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="scheme", order_by="Indicator.position", cascade="all, delete-orphan"
    )
    roles: Mapped[list[ScorerRole]] = relationship(
        back_populates="scheme", order_by="ScorerRole.position", cascade="all, delete-orphan"
    )
    grades: Mapped[list[GradeBand]] = relationship(
        back_populates="scheme",
        order_by="GradeBand.min_score.desc()",
        cascade="all, delete-orphan",
    )
    quotas: Mapped[list[QuotaRule]] = relationship(
        back_populates="scheme", order_by="QuotaRule.position", cascade="all, delete-orphan"
    )
    # 考核维度: none for a scheme whose roles score every indicator (one implicit section).
    sections: Mapped[list[Section]] = relationship(
        back_populates="scheme", order_by="Section.position", cascade="all, delete-orphan"
    )
    # Default targets of metric indicators per position (岗位目标), for whoever the
    # metrics file gives no target of their own or of their position.
    position_targets: Mapped[list[PositionTarget]] = relationship(
        back_populates="scheme", order_by="PositionTarget.seq", cascade="all, delete-orphan"
    )


class Indicator(Base):
    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[Code]
    name: Mapped[Name]
    kind: Mapped[IndicatorKind] = mapped_column(str_enum(IndicatorKind))
    # Share of the weighted total (score and rating kinds); 0 for bonus and deduction.
    weight: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    min_score: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    # Highest score (score kind), best level's points (rating) or the item cap (bonus,
    # deduction).
    max_score: Mapped[Decimal] = mapped_column(default=Decimal("100"))
    # Bonus or deduction counted by incidents (迟到 −3 per incident): the scorer enters
    # how many times, the engine multiplies by this and applies the item cap (max_score).
    per_incident: Mapped[Decimal | None] = mapped_column(default=None)
    # Rating kind: [[label, points], ...], best first.
    levels: Mapped[list[Any]] = mapped_column(default=list)
    criteria: Mapped[str] = mapped_column(Text, default="")
    # A comment is required when the score is below this, or at the maximum if set.
    comment_below: Mapped[Decimal | None] = mapped_column(default=None)
    comment_at_max: Mapped[bool] = mapped_column(Boolean, default=False)
    # The section (its code) this indicator belongs to, in a scheme with sections.
    section: Mapped[str | None] = mapped_column(String(64), default=None)
    # Metric kind: how target and actual become points (see bot/appraisal/metrics.py), numbers as
    # text: {"form": "linear", "direction": "higher", "floor": "60", "cap": "120"} or
    # {"form": "stepped", "direction": "lower", "steps": [["100", "100"], ["90", "80"]]}.
    rule: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    scheme: Mapped[Scheme] = relationship(back_populates="indicators")


class Section(Base):
    """A 考核维度: a group of indicators with its weight in the total and its own scorer
    roles and role weights ([[role code, weight as text], ...]); none for data alone."""

    __tablename__ = "scheme_sections"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[Code]
    name: Mapped[Name]
    weight: Mapped[Decimal]
    roles: Mapped[list[Any]] = mapped_column(default=list)

    scheme: Mapped[Scheme] = relationship(back_populates="sections")


class PositionTarget(Base):
    """A metric indicator's target for everyone in one position (岗位目标), part of the
    scheme version: a period keeps the targets of the version it was opened with."""

    __tablename__ = "position_targets"
    __table_args__ = (UniqueConstraint("scheme_id", "position", "indicator_id"),)

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    # Its place in the workbook's sheet (1, 2, ...), so it reads back in that order.
    seq: Mapped[int] = mapped_column(Integer)
    position: Mapped[str] = mapped_column(String(200))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    target: Mapped[Decimal]

    scheme: Mapped[Scheme] = relationship(back_populates="position_targets")
    indicator: Mapped[Indicator] = relationship()


class ScorerRole(Base):
    """Who scores (manager, head, self ...) and how much their view weighs."""

    __tablename__ = "scorer_roles"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[Code]
    name: Mapped[Name]
    weight: Mapped[Decimal]

    scheme: Mapped[Scheme] = relationship(back_populates="roles")


class GradeBand(Base):
    """A grade reached from `min_score` up, and the pay coefficient it carries."""

    __tablename__ = "grade_bands"
    __table_args__ = (UniqueConstraint("scheme_id", "grade"),)

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    label: Mapped[Name]
    min_score: Mapped[Decimal]
    coefficient: Mapped[Decimal]

    scheme: Mapped[Scheme] = relationship(back_populates="grades")


class QuotaBound(enum.StrEnum):
    AT_MOST = "at_most"
    AT_LEAST = "at_least"


class QuotaScope(enum.StrEnum):
    INSTITUTION = "institution"  # each institution's appraisees are one group
    DEPARTMENT = "department"  # each department's (people without one: their institution's)
    PERIOD = "period"  # all of the period's appraisees together


class QuotaRounding(enum.StrEnum):
    # at most: round down, but never below 1 when the group has anyone; at least: round up
    DEFAULT = "default"
    HALF_UP = "half_up"


class QuotaRule(Base):
    """A 强制分布 rule: at most / at least a share (or a head count) of each group in some
    grades. Belongs to a scheme version, so a period checks the rules it was opened with.
    """

    __tablename__ = "quota_rules"

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The row of the quota sheet it came from, so a refusal or violation can name it.
    row: Mapped[int] = mapped_column(Integer)
    grades: Mapped[list[Any]] = mapped_column(default=list)
    bound: Mapped[QuotaBound] = mapped_column(str_enum(QuotaBound))
    # Exactly one of the two: a percentage (20 for 20%) or a head count.
    ratio: Mapped[Decimal | None] = mapped_column(default=None)
    head_count: Mapped[int | None] = mapped_column(Integer, default=None)
    scope: Mapped[QuotaScope] = mapped_column(str_enum(QuotaScope))
    rounding: Mapped[QuotaRounding] = mapped_column(
        str_enum(QuotaRounding), default=QuotaRounding.DEFAULT
    )

    scheme: Mapped[Scheme] = relationship(back_populates="quotas")


# Role codes that period opening knows how to assign scorers for.
KNOWN_ROLE_CODES = ("manager", "head", "self")
