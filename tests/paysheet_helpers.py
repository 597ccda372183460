"""A small organisation whose period has people without a result, for the pay sheet,
period and results tests: two institutions (heads 100 and 200, whose only task is a
self-assessment of weight 0), their staff scored by manager and head, and helpers to
open, score and run the command line against the test's database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from typer.testing import CliRunner

from bot.appraisal.periods import open_period
from models import (
    Employee,
    Indicator,
    IndicatorKind,
    Period,
    Scheme,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    TaskState,
)
from tests.factories import T0, small_org

LATER = T0 + dt.timedelta(days=3)


def org(session, two_indicators=False, sizes=None):
    """small_org with manager 70, head 30 and self 0; optionally a second indicator."""
    group, people = small_org(session, sizes) if sizes else small_org(session)
    scheme = session.scalar(select(Scheme).where(Scheme.group_id == group.id))
    scheme.roles[0].weight = Decimal(70)
    scheme.roles.append(ScorerRole(position=2, code="head", name="机构负责人", weight=Decimal(30)))
    scheme.roles.append(ScorerRole(position=3, code="self", name="本人", weight=Decimal(0)))
    if two_indicators:
        scheme.indicators[0].weight = Decimal(60)
        scheme.indicators.append(
            Indicator(
                position=2,
                code="quality",
                name="质量",
                kind=IndicatorKind.SCORE,
                weight=Decimal(40),
                min_score=Decimal(0),
                max_score=Decimal(100),
            )
        )
    session.flush()
    return group, people


def heads_managed(people):
    """Give each head the other as manager, so that everybody can get a result."""
    (_i1, h1, _s1), (_i2, h2, _s2) = people.values()
    h1.manager_id = h2.id
    h2.manager_id = h1.id


def open_(session, group, label="2026-11"):
    period, _count = open_period(session, T0, group=group, label=label, scheme_code="STD")
    return period


def score(session, period, value=Decimal(88), *, roles=None, skip=()):
    """Every task (of `roles`, if given) gets a mark for each indicator not in `skip`
    (codes) and is submitted."""
    tasks = session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)).all()
    for t in tasks:
        if roles is not None and t.role_code not in roles:
            continue
        for ind in period.scheme.indicators:
            if ind.code in skip:
                continue
            session.add(
                ScoreEntry(
                    task_id=t.id,
                    indicator_id=ind.id,
                    value=value,
                    entered_by=t.scorer_id,
                    entered_at=LATER,
                )
            )
        t.state = TaskState.SUBMITTED
        t.submitted_at = LATER
    session.flush()


def join(session, group, people, number="3001", name="新员工"):
    """An employee who joined after the period opened: active, no task."""
    inst, head, _staff = people["东城支行"]
    e = Employee(
        group_id=group.id,
        number=number,
        name=name,
        institution_id=inst.id,
        department_id=head.department_id,
        manager_id=head.id,
        pay_base=Decimal(5000),
    )
    session.add(e)
    session.flush()
    return e


def cli(engine, *args, lang="zh_CN"):
    from bot.cli.main import app

    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, "--lang", lang, *args])


def period_of(session, label="2026-11") -> Period:
    return session.scalar(select(Period).where(Period.label == label))
