"""The benches of answers at group scale still run (at a toy size): a benchmark that
has rotted is found here, not when someone needs its figures."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli.main import app


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("recompute", "Recompute one result (committed): p50"),
        ("why", '"Why is my pay this amount", through the conversation: p50'),
        ("whatif", "What-if answer in chat (committed): p50"),
    ],
)
def test_the_bench_runs_and_reports_beside_its_floor(command, line):
    done = CliRunner().invoke(
        app, ["--lang", "en", "bench", command, "--employees", "60", "--samples", "5"]
    )
    assert done.exit_code == 0, done.output
    assert line in done.output
    assert "Read that one result with its trace: p50" in done.output
