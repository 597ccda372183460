"""Digest benchmark: `python -m benchmarks.digest [--employees 100000] [--institutions 200]`.

Builds a group of that size in a temporary SQLite file (5 departments per institution,
one manager per 10 people, a period open for scoring with about 60 % submitted and the
deadline passed), then measures in the same run: reading the group's facts and writing
every head's digest text, drawing every head's chart, and the floor — one SQL aggregate
of completion per institution.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bot.appraisal.periods import new_period
from bot.notify.digest import build, facts
from models import (
    Department,
    Employee,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    PeriodState,
    Scheme,
    ScorerRole,
    ScoringTask,
    TaskState,
)
from models.db import make_engine, upgrade

NOW = dt.datetime(2026, 12, 9, 1, 30, tzinfo=dt.UTC)


def populate(engine: Engine, employees: int, institutions: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    per = max(employees // institutions, 2)
    with Session(engine) as s, s.begin():
        group = Group(name="基准集团")
        s.add(group)
        s.flush()
        scheme = Scheme(group_id=group.id, code="STD", name="标准方案", created_at=NOW)
        scheme.indicators = [
            Indicator(
                position=1, code="perf", name="业绩", kind=IndicatorKind.SCORE, weight=Decimal(100)
            )
        ]
        scheme.roles = [
            ScorerRole(position=1, code="manager", name="直接上级", weight=Decimal(100))
        ]
        scheme.grades = [
            GradeBand(grade="A", label="优秀", min_score=Decimal(0), coefficient=Decimal(1))
        ]
        s.add(scheme)
        s.flush()
        period = new_period(
            group.id,
            scheme.id,
            "2026-11",
            state=PeriodState.SCORING,
            deadline=NOW - dt.timedelta(days=2),
            now=NOW,
        )
        s.add(period)
        s.execute(
            insert(Institution),
            [{"group_id": group.id, "name": f"第{i:03d}分公司"} for i in range(institutions)],
        )
        insts = list(s.scalars(select(Institution.id).order_by(Institution.id)))
        s.execute(
            insert(Department),
            [
                {"institution_id": i, "name": f"部门{d}", "path": f"部门{d}"}
                for i in insts
                for d in range(5)
            ],
        )
        depts: dict[int, list[int]] = {}
        for dept_id, inst_id in s.execute(select(Department.id, Department.institution_id)):
            depts.setdefault(inst_id, []).append(dept_id)
        number = 0
        rows = []
        for inst_id in insts:
            for k in range(per):
                number += 1
                rows.append(
                    {
                        "group_id": group.id,
                        "number": str(100000 + number),
                        "name": f"员工{number}",
                        "institution_id": inst_id,
                        "department_id": depts[inst_id][k % 5],
                        "pay_base": Decimal("5000.00"),
                    }
                )
        s.execute(insert(Employee), rows)
        staff: dict[int, list[int]] = {}
        for emp_id, inst_id in s.execute(
            select(Employee.id, Employee.institution_id).order_by(Employee.id)
        ):
            staff.setdefault(inst_id, []).append(emp_id)
        tasks = []
        for people in staff.values():
            for n, emp in enumerate(people):
                scorer = people[(n // 10) * 10]
                done = rng.random() < 0.6
                tasks.append(
                    {
                        "period_id": period.id,
                        "scorer_id": scorer,
                        "appraisee_id": emp,
                        "role_code": "manager",
                        "deadline": period.deadline,
                        "state": TaskState.SUBMITTED if done else TaskState.PENDING,
                        "submitted_at": NOW - dt.timedelta(hours=rng.randint(1, 72))
                        if done
                        else None,
                    }
                )
        for start in range(0, len(tasks), 10_000):
            s.execute(insert(ScoringTask), tasks[start : start + 10_000])
        return group.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--institutions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'digest.db'}")
        upgrade(engine)
        started = time.perf_counter()
        group_id = populate(engine, args.employees, args.institutions)
        print(f"set-up                  {time.perf_counter() - started:.1f} s")
        with Session(engine) as s:
            started = time.perf_counter()
            known = facts(s, group_id, NOW)
            institutions = list(s.scalars(select(Institution)))
            texts = [build(s, i, NOW, known, chart=False) for i in institutions]
            digest_text = time.perf_counter() - started
            started = time.perf_counter()
            charts = [build(s, i, NOW, known) for i in institutions]
            with_charts = time.perf_counter() - started
            started = time.perf_counter()
            s.execute(
                select(
                    Employee.institution_id,
                    func.count(ScoringTask.id),
                    func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
                )
                .join(Employee, Employee.id == ScoringTask.appraisee_id)
                .group_by(Employee.institution_id)
            ).all()
            floor = time.perf_counter() - started
        engine.dispose()
    assert all(texts)
    assert all(charts)
    print(f"digests (text) for {len(texts)} institutions   {digest_text:.2f} s")
    print(f"digests with charts               {with_charts:.2f} s")
    print(f"floor: one SQL aggregate          {floor:.2f} s")
    print(f"ratio text / floor                {digest_text / floor:.1f}")


if __name__ == "__main__":
    main()
