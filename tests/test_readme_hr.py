"""The README's "For HR" sequence, run exactly as written, ends in the right pay sheet.

The commands are read from README.md itself and run by bash from the repository root,
on a new SQLite database and on a new PostgreSQL one. `jixiao` is *not* put on the PATH
here: the README's own first line must do that. The clock is pinned with libfaketime to
a day inside the example period, so the sequence's deadline stays in the future however
late this test runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from libfaketime import get_reload_information
from openpyxl import load_workbook

from models.db import make_engine, sessions
from tests.chat_helpers import Chat
from tests.conftest import new_pg_database

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# A working day inside period 2026-12, before the README's deadline of 2027-01-07.
MOMENT = "@2026-12-21 10:00:00"
# After the objection window opened on Monday 2026-12-21 closed (five workdays: the end
# of Monday 2026-12-28), when the README's finalize block runs.
AFTER_WINDOW = "@2026-12-29 10:00:00"


def readme_hr_blocks() -> list[str]:
    """The sh blocks under the README's "For HR" heading, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For HR", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 3, (
        "README's For HR section: the period block, the finalize block after the objection "
        "window, and the chat block"
    )
    return blocks


def _environment(database_url: str, tmp_path: Path, moment: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    # Without the venv on PATH: the README must say how `jixiao` gets there.
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != Path(venv_bin)
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JIXIAO", "TELEGRAM_", "SLACK_", "VIRTUAL_ENV", "DEFAULT_"))
    }
    _, faketime = get_reload_information()
    env.update(faketime)
    env.update(
        PATH=path,
        FAKETIME=moment,
        DATABASE_URL=database_url,
        EXPORT_DIR=str(tmp_path / "exports"),
        HOME=str(tmp_path),
        TZ="UTC",
    )
    return env


def run(
    lines: str, database_url: str, tmp_path: Path, moment: str = MOMENT
) -> subprocess.CompletedProcess[str]:
    """`lines` in one bash at `moment`, stopping at the first failure, from the
    repository root."""
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + lines],
        cwd=ROOT,
        env=_environment(database_url, tmp_path, moment),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


# The example period's pay sheet, worked out by hand from docs/templates (org, the STD
# scheme, scores_example.xlsx). Roles: manager 70, head 30, self 0 (never counts); a
# missing role leaves the other at 100%. Score indicators weigh 80 in all, the rating
# 工作质量 20 (优 100, 良 85, 中 70, 差 50). Bands A ≥ 90 ×1.2, B ≥ 80 ×1.0, C ≥ 70 ×0.9,
# D ≥ 60 ×0.8, E ×0.6. E.g. 20002: marks 0.7×85 + 0.3×75 = 82 → 65.60; rating
# 0.7×85 + 0.3×70 = 80.5 → 16.10; total 81.70 → B → 6000 × 1.0. 30003: 0.7×78 + 0.3×82
# = 79.2 → 63.36; 0.7×70 + 0.3×85 = 74.5 → 14.90; less 3 deducted = 75.26 → C → 3600.
EXPECTED = [
    # 工号, 姓名, 总分, 等级, 系数, 基数, 绩效工资, 状态
    ("10001", "王建国", "93.60", "A", "1.20", "9000.00", "10800.00", "已计算"),
    ("10002", "李红", "87.40", "B", "1.00", "6000.00", "6000.00", "已计算"),
    ("20001", "张伟", "99.00", "A", "1.20", "8000.00", "9600.00", "已计算"),
    ("20002", "刘洋", "81.70", "B", "1.00", "6000.00", "6000.00", "已计算"),
    ("20003", "陈静", "67.60", "D", "0.80", "5000.00", "4000.00", "已计算"),
    ("20004", "杨帆", "92.00", "A", "1.20", "4000.00", "4800.00", "已计算"),
    ("20005", "赵敏", "81.00", "B", "1.00", "4000.50", "4000.50", "已计算"),
    ("20006", "周磊", "58.00", "E", "0.60", "4500.00", "2700.00", "已计算"),
    ("20007", "吴芳", "81.30", "B", "1.00", "4200.00", "4200.00", "已计算"),
    ("30001", "孙涛", "83.40", "B", "1.00", "8000.00", "8000.00", "已计算"),
    ("30002", "徐丽", "92.32", "A", "1.20", "6000.00", "7200.00", "已计算"),
    ("30003", "马超", "75.26", "C", "0.90", "4000.00", "3600.00", "已计算"),
]


def _fen(value: object) -> str:
    return f"{Decimal(str(value)):.2f}"


def check_pay_sheet(exports: Path) -> None:
    ws = load_workbook(exports / "pay_2026-12.xlsx").active
    header, *body, totals, checksum = list(ws.iter_rows(values_only=True))
    assert header[:2] == ("工号", "姓名")
    assert header[-1] == "状态"
    got = [(r[0], r[1], _fen(r[4]), r[5], _fen(r[6]), _fen(r[7]), _fen(r[8]), r[9]) for r in body]
    assert got == EXPECTED
    assert all(isinstance(r[0], str) for r in body)  # 工号 as text: zeros would survive
    assert _fen(totals[7]) == "68700.50"
    assert _fen(totals[8]) == "70900.50"
    # The checksum row, recomputed here by the rule docs/pay_sheet.md states: SHA-256 of
    # the version, period and "final" lines, then each person's first nine cells.
    lines = [
        [*("" if c is None else str(c) for c in r[:4]), _fen(r[4]), r[5], *map(_fen, r[6:9])]
        for r in body
    ]
    text = "jixiao-pay-sheet/1\n2026-12\nfinal\n" + "".join("\x1f".join(x) + "\n" for x in lines)
    assert checksum[:4] == (
        "校验码",
        "sha256:" + hashlib.sha256(text.encode()).hexdigest(),
        "2026-12",
        "final",
    )


def bind_head_of_first_branch(database_url: str, exports: Path) -> None:
    """张伟 (20001), head of 一分公司, binds on the chat page with the code HR handed out."""
    (sheet,) = exports.glob("bind_codes_*.xlsx")
    assert sheet.stat().st_mode & 0o777 == 0o600
    rows = list(load_workbook(sheet).worksheets[0].iter_rows(values_only=True))
    column = rows[0].index("绑定码")
    (code,) = [r[column] for r in rows[1:] if r[0] == "20001"]
    engine = make_engine(database_url)
    with sessions(engine)() as s, s.begin():
        answer = Chat(s, "web-" + "0" * 32, now=dt.datetime(2026, 12, 21, 10, tzinfo=dt.UTC))
        assert "张伟" in answer.say(f"/start {code}")
    engine.dispose()


def play_readme(database_url: str, tmp_path: Path) -> None:
    period, final, chat = readme_hr_blocks()
    done = run(period, database_url, tmp_path)
    _all_chinese(done.stdout)
    assert (tmp_path / "exports" / "scores_2026-12.xlsx").exists()  # the template
    assert not (tmp_path / "exports" / "pay_2026-12.xlsx").exists()  # not before final
    assert "公示期" in done.stdout
    # The same terminal as the first block, so `jixiao` is still on its PATH.
    same_terminal = "source .venv/bin/activate\n"
    # Finalizing inside the window is refused; after it, as the README says, it works.
    early = subprocess.run(
        ["bash", "-c", same_terminal + final.strip().splitlines()[0]],
        cwd=ROOT,
        env=_environment(database_url, tmp_path, MOMENT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert early.returncode == 2
    assert "公示期" in early.stderr
    done = run(same_terminal + final, database_url, tmp_path, AFTER_WINDOW)
    _all_chinese(done.stdout)
    assert "已归档" in done.stdout
    check_pay_sheet(tmp_path / "exports")
    play_acceptance_block(database_url, tmp_path, same_terminal)
    issue, *after = chat.strip().splitlines()
    run(same_terminal + issue, database_url, tmp_path)
    bind_head_of_first_branch(database_url, tmp_path / "exports")
    done = run(same_terminal + "\n".join(after), database_url, tmp_path)
    # The announcement reached the one head who bound and names the two who have not.
    assert "20001" not in done.stdout
    assert "10002" in done.stdout
    assert "30001" in done.stdout


def play_acceptance_block(database_url: str, tmp_path: Path, terminal: str) -> None:
    """The README's "Acceptance, rollout and the parallel run" block, line by line as
    written, after the period is final: every line succeeds except the acceptance check
    of the example payroll file, which fails as the README says (exit 1, naming 20005)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Acceptance, rollout and the parallel run", 1)[1]
    (block,) = re.findall(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    lines = [line for line in block.strip().splitlines() if line.strip()]
    assert len(lines) >= 6
    # The repository's folder as HR has it, with `exports/` being the test's own (the
    # block names files there by the default EXPORT_DIR's relative path).
    here = tmp_path / "checkout"
    here.mkdir()
    for name in ("docs", ".venv"):
        (here / name).symlink_to(ROOT / name)
    (here / "exports").symlink_to(tmp_path / "exports")
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", terminal + line],
            cwd=here,
            env=_environment(database_url, tmp_path, AFTER_WINDOW),
            capture_output=True,
            text=True,
            timeout=300,
        )
        expected = 1 if line.startswith("jixiao acceptance check") else 0
        assert done.returncode == expected, (line, done.stdout, done.stderr)
        if expected:
            assert "20005" in done.stdout
            assert "赵敏" in done.stdout
    assert (tmp_path / "exports" / "legacy_2026-12.xlsx").exists()


def _all_chinese(stdout: str) -> None:
    """Every line jixiao printed is in the default language, Chinese (commands quoted in
    backticks aside; scripts/setup speaks the machine's locale and says so in .venv)."""
    said = (re.sub(r"`[^`]*`", "", line) for line in stdout.splitlines())
    english = [
        line for line in said if ".venv" not in line and re.search(r"[A-Za-z]{3,} [a-z]{2,}", line)
    ]
    assert not english, english


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    with new_pg_database("jixiao_readme") as url:
        yield url


def test_readme_hr_sequence_on_sqlite(tmp_path):
    play_readme(f"sqlite:///{tmp_path / 'hr.db'}", tmp_path)


@pytest.mark.postgres
def test_readme_hr_sequence_on_postgresql(tmp_path, pg_database_url):
    play_readme(pg_database_url, tmp_path)
