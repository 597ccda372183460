"""The demo group: built through the real domain paths, deterministic, kept or rebuilt;
and the benchmark command at a small size."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bot.cli import demo_data as demo
from bot.infra.errors import Refused
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


ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _hold_a_port():
    """Another process listening on a free port, as a demo already running would."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
            "print(s.getsockname()[1], flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    return holder, int(holder.stdout.readline())


def _run_demo(tmp_path, *args, **env):
    import os
    import subprocess

    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "KEEP_DEMO_DATA")}
    environ.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", DEFAULT_LANGUAGE="en", **env)
    return subprocess.run(
        [str(ROOT / "scripts" / "demo"), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def test_scripts_demo_on_a_busy_port_refuses_before_touching_the_demo_data(tmp_path):
    """Run twice: the second demo finds the port busy and leaves the first one's data
    alone, and says how to pick another port for scripts/demo, which honours it."""
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert CliRunner().invoke(app, ["--database-url", url, "demo-data"]).exit_code == 0
    before = (tmp_path / "demo.db").read_bytes()
    holder, port = _hold_a_port()
    other_holder, other = _hold_a_port()
    try:
        by_env = _run_demo(tmp_path, PORT=str(port))
        by_flag = _run_demo(tmp_path, "--port", str(other))
    finally:
        for process in (holder, other_holder):
            process.kill()
            process.wait()
            assert process.stdout is not None
            process.stdout.close()
    assert by_env.returncode == 2, by_env.stdout + by_env.stderr
    assert f"Port {port} is in use" in by_env.stderr
    assert f"scripts/demo --port {port + 1}" in by_env.stderr
    assert f"PORT={port + 1} scripts/demo" in by_env.stderr
    assert by_flag.returncode == 2, by_flag.stdout + by_flag.stderr
    assert f"Port {other} is in use" in by_flag.stderr  # --port reaches `jixiao demo`
    assert (tmp_path / "demo.db").read_bytes() == before


def test_keep_demo_data_skips_the_rebuild(tmp_path):
    """KEEP_DEMO_DATA=1 scripts/demo keeps what was done in the demo; without it a
    restart starts afresh."""
    import socket
    import subprocess

    from bot.cli.main import app

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert CliRunner().invoke(app, ["--database-url", url, "demo-data"]).exit_code == 0

    def rename() -> None:
        engine = make_engine(url)
        with Session(engine) as s, s.begin():
            first = s.scalars(select(Employee).order_by(Employee.number).limit(1)).one()
            first.name = "改过的名字"
        engine.dispose()

    def group_name() -> str:
        engine = make_engine(url)
        with Session(engine) as s:
            name = s.scalars(select(Employee.name).order_by(Employee.number).limit(1)).one()
        engine.dispose()
        return name

    def start_and_stop(**env: str) -> None:
        import os

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "KEEP_DEMO_DATA")}
        environ.update(DATABASE_URL=url, DEFAULT_LANGUAGE="en", PORT=str(port), **env)
        with subprocess.Popen(
            [str(ROOT / "scripts" / "demo")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environ,
        ) as demo_run:
            try:
                assert demo_run.stdout is not None
                lines = []
                for line in demo_run.stdout:
                    lines.append(line)
                    if "Open the chat page" in line:
                        break
                assert any("Open the chat page" in line for line in lines), lines
            finally:
                demo_run.terminate()
                demo_run.wait(timeout=30)

    rename()
    start_and_stop(KEEP_DEMO_DATA="1")
    assert group_name() == "改过的名字"
    start_and_stop()
    assert group_name() != "改过的名字"


def test_the_first_run_of_setup_says_what_it_installs_before_the_quiet_install(tmp_path):
    """The README's first command is not silent for two minutes: one line first."""
    import shutil
    import subprocess
    import sys

    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup", tmp_path / "scripts" / "setup")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    # Stand-ins for the venv's python and pybabel: they report being called, install nothing.
    for name in ("python", "pybabel"):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} called: $*"\n')
        stub.chmod(0o755)

    def setup(lang: str) -> list[str]:
        done = subprocess.run(
            [str(tmp_path / "scripts" / "setup")],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "LANG": lang},
            timeout=60,
            check=True,
        )
        return done.stdout.splitlines()

    first = setup("en_US.UTF-8")
    assert first[0].startswith("First run: creating .venv and installing Jixiao with ")
    assert "a minute or two" in first[0]
    assert first[1].startswith("python called: -m pip install --quiet")
    again = setup("en_US.UTF-8")  # installed: nothing to say, nothing to install
    assert again == ["pybabel called: --quiet compile --domain messages --directory locales"]
    (tmp_path / ".venv" / ".jixiao-installed").unlink()
    assert setup("zh_CN.UTF-8")[0].startswith("首次运行：正在创建 .venv 并安装 Jixiao")
