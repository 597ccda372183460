"""Small organisations built straight from the models, for tests that need one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from models import (
    ChatIdentity,
    Department,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    Scheme,
    ScorerRole,
    ScoringTask,
    TaskState,
)

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def small_org(session, sizes=(("东城支行", 4), ("西城支行", 3))):
    """Two institutions, each a head with `n` staff under one manager."""
    group = Group(name="示例集团")
    session.add(group)
    session.flush()
    scheme = Scheme(group_id=group.id, code="STD", name="标准方案", created_at=T0)
    scheme.indicators = [
        Indicator(
            position=1,
            code="perf",
            name="业绩",
            kind=IndicatorKind.SCORE,
            weight=Decimal(100),
            min_score=Decimal(0),
            max_score=Decimal(100),
        ),
    ]
    scheme.roles = [ScorerRole(position=1, code="manager", name="直接上级", weight=Decimal(100))]
    scheme.grades = [
        GradeBand(grade="A", label="优秀", min_score=Decimal(0), coefficient=Decimal(1))
    ]
    session.add(scheme)
    people = {}
    for number, (name, n) in enumerate(sizes, start=1):
        inst = Institution(group_id=group.id, name=name)
        session.add(inst)
        session.flush()
        dept = Department(institution_id=inst.id, name="营业部", path="营业部")
        session.add(dept)
        session.flush()
        head = Employee(
            group_id=group.id,
            number=f"{number}00",
            name=f"{name}行长",
            institution_id=inst.id,
            department_id=dept.id,
            pay_base=Decimal(9000),
        )
        session.add(head)
        session.flush()
        inst.head_id = head.id
        staff = []
        for i in range(n):
            e = Employee(
                group_id=group.id,
                number=f"{number}{i:02d}1",
                name=f"{name}员工{i}",
                institution_id=inst.id,
                department_id=dept.id,
                manager_id=head.id,
                pay_base=Decimal(5000),
            )
            session.add(e)
            staff.append(e)
        session.flush()
        people[name] = (inst, head, staff)
    session.flush()
    return group, people


def submit(session, appraisees, at):
    for task in session.scalars(
        select(ScoringTask).where(ScoringTask.appraisee_id.in_([e.id for e in appraisees]))
    ):
        task.state = TaskState.SUBMITTED
        task.submitted_at = at


def bind(session, employee, chat="chat", platform="telegram"):
    session.add(
        ChatIdentity(
            platform=platform,
            external_id=f"{chat}{employee.id}",
            employee_id=employee.id,
            bound_at=T0,
        )
    )
