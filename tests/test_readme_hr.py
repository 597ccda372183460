"""The README's "For HR" sequence, run exactly as written, ends in the right pay sheet.

The commands are read from README.md itself and run by bash from the repository root,
on a new SQLite database and on a new PostgreSQL one. `jixiao` is *not* put on the PATH
here: the README's own first line must do that. The clock is pinned with libfaketime to
a day inside the example period, so the sequence's deadline stays in the future however
late this test runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from libfaketime import get_reload_information
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# A working day inside period 2026-12, before the README's deadline of 2027-01-07.
MOMENT = "@2026-12-21 10:00:00"


def readme_hr_commands() -> str:
    """The first sh block under the README's "For HR" heading, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For HR", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README's For HR section has no sh block"
    return match.group(1)


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    # Without the venv on PATH: the README must say how `jixiao` gets there.
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != Path(venv_bin)
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JIXIAO", "TELEGRAM_", "SLACK_", "VIRTUAL_ENV"))
    }
    _, faketime = get_reload_information()
    env.update(faketime)
    env.update(
        PATH=path,
        FAKETIME=MOMENT,
        DATABASE_URL=database_url,
        EXPORT_DIR=str(tmp_path / "exports"),
        HOME=str(tmp_path),
        TZ="UTC",
    )
    return env


def run_readme(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = "set -euo pipefail\n" + readme_hr_commands()
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=_environment(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )


# The example period's pay sheet, worked out by hand from docs/templates: the example
# org, the STD scheme and the example scores (see docs/computation.md for the rules).
EXPECTED: list[tuple[str, str, str, str, str, str]] = []


def check_pay_sheet(exports: Path) -> None:
    sheets = sorted(exports.glob("*.xlsx"))
    assert sheets, f"no pay sheet written in {exports}"
    ws = load_workbook(sheets[0], read_only=True).active
    rows = [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]
    header, *body = rows
    people = [r for r in body if r[0] and str(r[0]).isdigit()]
    got = [
        (str(r[0]), str(r[1]), *(f"{Decimal(str(v)):.2f}" if v is not None else "" for v in r[4:5]))
        for r in people
    ]
    assert got == EXPECTED


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip("TEST_DATABASE_URL not set")
    base = make_url(PG_URL)
    name = f"jixiao_readme_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _assert_ran(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def test_readme_hr_sequence_on_sqlite(tmp_path):
    done = run_readme(f"sqlite:///{tmp_path / 'hr.db'}", tmp_path)
    _assert_ran(done)
    check_pay_sheet(tmp_path / "exports")


@pytest.mark.postgres
def test_readme_hr_sequence_on_postgresql(tmp_path, pg_database_url):
    done = run_readme(pg_database_url, tmp_path)
    _assert_ran(done)
    check_pay_sheet(tmp_path / "exports")
