"""The group-scale benches of opening a period and importing the org still run (at a toy
size) on SQLite and PostgreSQL, and what they measure is what they say: every task and
push, every employee with their manager."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from benchmarks import org_import as bench_org_import
from benchmarks import period_open as bench_period_open
from bot.cli.main import app
from tests.conftest import new_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch(request: pytest.FixtureRequest):
    if request.param == "sqlite":
        yield None
    else:
        with new_pg_database("jixiao_bench") as url:
            yield url


def test_opening_a_period_queues_a_task_per_role_and_a_push_per_scorer(scratch):
    report = bench_period_open.run(1200, scratch)
    # Two roles for everyone but the institutions' first people (no manager).
    assert report.tasks == 2 * 1200 - 2
    assert report.pushes == 1200  # everyone scores themself, each bound to one chat


def test_the_org_import_bench_stores_everyone_with_their_manager(scratch):
    report = bench_org_import.run(1200, scratch)
    assert report.stored == 1200


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("open", "Opening the period: "),
        ("import-org", "Import of the csv file into an empty sqlite database: "),
    ],
)
def test_the_cli_bench_reports_beside_its_floor(command, line):
    done = CliRunner().invoke(app, ["--lang", "en", "bench", command, "--employees", "600"])
    assert done.exit_code == 0, done.output
    assert line in done.output
    assert "ratio" in done.output
