"""An institution of seven scored people under a four-grade scheme with quota rules, for
the quota and calibration tests.

Totals 95, 93, 91, 85, 75, 65, 50 give grades A, A, A, B, C, C, D (A from 90, coefficient
1.5; B from 80, 1.2; C from 60, 1.0; D, 0.5); everyone's pay base is 5000.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from bot.appraisal.periods import close_period
from bot.appraisal.results import compute_period
from models import (
    GradeBand,
    QuotaBound,
    QuotaRounding,
    QuotaRule,
    QuotaScope,
    Scheme,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from tests.factories import small_org
from tests.paysheet_helpers import LATER, open_

TOTALS = (95, 93, 91, 85, 75, 65, 50)
BANDS = (
    ("A", "优秀", 90, "1.5"),
    ("B", "良好", 80, "1.2"),
    ("C", "合格", 60, "1.0"),
    ("D", "不合格", 0, "0.5"),
)


def rule(
    grades=("A",),
    bound=QuotaBound.AT_MOST,
    ratio=Decimal(20),
    head_count=None,
    scope=QuotaScope.INSTITUTION,
    rounding=QuotaRounding.DEFAULT,
    row=2,
    position=1,
):
    return QuotaRule(
        position=position,
        row=row,
        grades=list(grades),
        bound=bound,
        ratio=ratio,
        head_count=head_count,
        scope=scope,
        rounding=rounding,
    )


def scored_period(session, rules=None, totals=TOTALS, close=True):
    """The group, its period (computed, closed for scoring unless `close` is False) and
    the staff in the order of `totals`."""
    group, people = small_org(session, sizes=(("东城支行", len(totals)),))
    _inst, _head, staff = people["东城支行"]
    scheme = session.scalar(select(Scheme).where(Scheme.group_id == group.id))
    top = scheme.grades[0]  # small_org's only grade, A
    top.label, top.min_score, top.coefficient = "优秀", Decimal(90), Decimal("1.5")
    scheme.grades.extend(
        GradeBand(grade=g, label=label, min_score=Decimal(low), coefficient=Decimal(c))
        for g, label, low, c in BANDS[1:]
    )
    scheme.quotas = list(rules if rules is not None else [rule()])
    session.flush()
    period = open_(session, group)
    value = {e.id: Decimal(t) for e, t in zip(staff, totals, strict=True)}
    perf = scheme.indicators[0]
    for task in session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)):
        session.add(
            ScoreEntry(
                task_id=task.id,
                indicator_id=perf.id,
                value=value[task.appraisee_id],
                entered_by=task.scorer_id,
                entered_at=LATER,
            )
        )
        task.state = TaskState.SUBMITTED
        task.submitted_at = LATER
    session.flush()
    if close:
        close_period(session, LATER, period)
    compute_period(session, LATER, period)
    session.flush()
    return group, period, staff
