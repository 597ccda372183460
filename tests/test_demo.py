"""The demo group: built through the real domain paths, deterministic, kept or rebuilt;
and the benchmark command at a small size."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot import demo
from bot.errors import Refused
from models import (
    Employee,
    Group,
    Institution,
    Period,
    PeriodState,
    Result,
    Role,
    RoleGrant,
    ScoringTask,
    TaskState,
)
from models.db import make_engine, upgrade

NOW = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def built(engine):
    return demo.prepare(engine, NOW, employees=40, institutions=3)


def test_the_demo_group_has_people_heads_hr_and_leadership(built, session):
    assert built.created
    assert session.scalar(select(func.count(Employee.id))) == 40
    institutions = session.scalars(select(Institution).order_by(Institution.id)).all()
    assert [i.name for i in institutions] == ["集团本部", "北京分公司", "上海分公司"]
    assert all(i.head_id is not None for i in institutions)
    grants = Counter(session.scalars(select(RoleGrant.role)))
    assert grants == {Role.HEAD: 3, Role.HR: 1, Role.LEADERSHIP: 1}
    bases = session.scalars(select(Employee.pay_base)).all()
    assert all(3000 <= b <= 8000 and b.as_tuple().exponent == -2 for b in bases)
    # Everyone but the group's general manager has a manager.
    assert session.scalar(select(func.count()).where(Employee.manager_id.is_(None))) == 1


def test_last_month_is_final_with_a_result_for_everyone(built, session):
    prev = session.scalar(select(Period).where(Period.label == "2026-10"))
    assert prev.state is PeriodState.FINAL
    assert built.previous == "2026-10"
    assert session.scalar(select(func.count(Result.id)).where(Result.period_id == prev.id)) == 40
    assert prev.finalized_at <= NOW


def test_this_month_is_open_with_submitted_drafts_and_untouched_tasks(built, session):
    cur = session.scalar(select(Period).where(Period.label == "2026-11"))
    assert cur.state is PeriodState.SCORING
    states = Counter(
        session.scalars(select(ScoringTask.state).where(ScoringTask.period_id == cur.id))
    )
    assert states[TaskState.SUBMITTED] > 0
    assert states[TaskState.DRAFT] > 0
    assert states[TaskState.PENDING] > 0
    assert built.tasks == {s.value: n for s, n in states.items()}


def test_personas_include_a_scorer_with_people_left_to_score(built, session):
    roles = {p.role: p for p in built.personas}
    assert set(roles) == {"employee", "scorer", "head", "hr", "leadership"}
    scorer = session.scalar(select(Employee).where(Employee.number == roles["scorer"].number))
    pending = session.scalar(
        select(func.count(ScoringTask.id))
        .join(Period)
        .where(
            ScoringTask.scorer_id == scorer.id,
            ScoringTask.state == TaskState.PENDING,
            Period.state == PeriodState.SCORING,
        )
    )
    assert pending >= 2


def test_running_it_again_keeps_the_data_and_reset_rebuilds_it_the_same(engine, built, session):
    again = demo.prepare(engine, NOW, employees=40, institutions=3)
    assert not again.created
    assert again.employees == built.employees
    rebuilt = demo.prepare(engine, NOW, reset=True, employees=40, institutions=3)
    assert rebuilt.created
    assert [(p.number, p.name) for p in rebuilt.personas] == [
        (p.number, p.name) for p in built.personas
    ]
    assert session.scalar(select(func.count(Group.id))) == 1


def test_it_refuses_a_database_with_someone_elses_group(engine, session):
    session.add(Group(name="真实集团"))
    session.commit()
    with pytest.raises(Refused, match="真实集团"):
        demo.prepare(engine, NOW, reset=True)


def test_the_demo_command_on_someone_elses_database_is_one_line_and_status_2(tmp_path):
    """`jixiao demo` (the README's first command) refuses like every other command: one
    line, exit status 2, no traceback and no server."""
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path}/real.db"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        s.add(Group(name="真实集团"))
    engine.dispose()
    result = CliRunner().invoke(app, ["--database-url", url, "--lang", "en", "demo"])
    assert result.exit_code == 2, result.output
    assert "真实集团" in result.output
    assert "Traceback" not in result.output


def test_the_months_follow_now_in_china_time():
    assert demo.month_labels(dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)) == ("2026-11", "2026-12")
    assert demo.month_labels(dt.datetime(2027, 1, 5, tzinfo=dt.UTC)) == ("2026-12", "2027-01")


def test_the_demo_data_command_prints_the_summary_and_personas(tmp_path):
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "demo-data"])
    assert result.exit_code == 0, result.output
    assert "60 employees" in result.output
    assert "HR administrator" in result.output
    again = runner.invoke(app, ["--database-url", url, "--lang", "en", "demo-data"])
    assert again.exit_code == 0
    assert "kept as it is" in again.output


def test_the_bench_command_reports_compute_and_floor(tmp_path):
    from bot.cli.main import app

    result = CliRunner().invoke(
        app, ["--lang", "en", "bench", "compute", "--employees", "2000", "--in-process"]
    )
    assert result.exit_code == 0, result.output
    assert "Compute:" in result.output
    assert "Floor (one SQL aggregate):" in result.output
    assert "writing the same results alone" in result.output
    assert "Peak memory" in result.output
