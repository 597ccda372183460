"""Rollout stages against the target letter (目标责任书): set and derived stages, days
ahead or behind worked out by hand, the report, the Monday report and the head's digest
showing acceptance history; a hostile targets sheet refused whole."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.appraisal.periods import find_group, find_institution
from bot.infra import i18n
from bot.notify import digest, weekly
from models import AuditEvent, Employee, OutboxMessage, StageTarget
from tests.chat_helpers import Chat
from tests.chat_helpers import bind as chat_bind
from tests.factories import bind
from tests.test_acceptance import TEMPLATES, corrected, example_published, run_ok

# Monday 2026-12-21, 10:00 in Shanghai: inside the example period, before its deadline.
MONDAY = dt.datetime(2026, 12, 21, 2, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.at = MONDAY

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch, tmp_path):
    from bot.infra.settings import get_settings

    c = Clock()
    monkeypatch.setattr("bot.cli.common.utc_now", c)
    monkeypatch.setattr("bot.infra.workdays.utc_now", c)
    monkeypatch.setenv("EXPORT_DIR", str(tmp_path / "exports"))
    get_settings.cache_clear()
    yield c
    get_settings.cache_clear()


def report(engine) -> list[str]:
    return run_ok(engine, "rollout", "report", lang="en").stdout.splitlines()


def test_stages_and_targets_give_days_ahead_or_behind_and_a_rank(engine, Session, clock):
    run_ok(engine, "import", "org", str(TEMPLATES / "org_example.xlsx"))
    run_ok(engine, "import", "scheme", str(TEMPLATES / "scheme_example.xlsx"))
    assert report(engine) == [
        "Rollout: rank · institution · stage · against target · last acceptance",
        "1. 一分公司 · not started · no target · no acceptance check",
        "1. 二分公司 · not started · no target · no acceptance check",
    ]
    for inst, stage, day in (
        ("一分公司", "环境就绪", "2026-11-01"),
        ("一分公司", "data", "2026/11/10"),
        ("一分公司", "人员培训", "2026年11月20日"),
        ("二分公司", "environment", "2026-11-03"),
    ):
        run_ok(engine, "rollout", "set", inst, stage, "--on", day)
    for inst, stage, day in (
        ("一分公司", "environment", "2026-11-05"),
        ("一分公司", "data", "2026-11-15"),
        ("一分公司", "trained", "2026-11-25"),
        ("一分公司", "trial", "2026-12-25"),
        ("二分公司", "environment", "2026-11-01"),
        ("二分公司", "data", "2026-12-01"),
    ):
        run_ok(engine, "rollout", "target", inst, stage, day)
    # 一分公司: trained on 11-20, target 11-25, the trial's target (12-25) still ahead:
    # 5 days ahead. 二分公司: environment ready, but data collection was due 12-01:
    # 20 days behind on 12-21.
    assert report(engine) == [
        "Rollout: rank · institution · stage · against target · last acceptance",
        "1. 一分公司 · staff trained since 2026-11-20 · 5 days ahead · no acceptance check",
        "2. 二分公司 · environment ready since 2026-11-03 · 20 days behind · no acceptance check",
        "Behind target: 二分公司 (20 days behind).",
    ]
    zh = run_ok(engine, "rollout", "report").stdout
    assert "人员培训完成" in zh
    assert "落后 20 天" in zh
    # Opening the period starts the trial run in both (derived, no command needed):
    # 一分公司 reached it 4 days before its target of 12-25.
    run_ok(engine, "period", "open", "2026-12", "--scheme", "STD", "--deadline", "2027-01-07")
    lines = report(engine)
    assert (
        lines[1] == "1. 一分公司 · trial run since 2026-12-21 · 4 days ahead · no acceptance check"
    )
    assert lines[2] == "2. 二分公司 · trial run since 2026-12-21 · no target · no acceptance check"
    with Session() as s:
        assert (
            s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "rollout.stage"))
            == 4
        )
        assert (
            s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "rollout.target"))
            == 6
        )
        # The head's daily digest carries their own line.
        group = find_group(s, None)
        first = find_institution(s, group, "一分公司")
        with i18n.using("zh_CN"):
            text = digest.build(s, first, MONDAY, digest.facts(s, group.id, MONDAY)).text
        assert "推进：试运行（自 2026-12-21），提前 4 天，排名 1；最近验收：尚未验收。" in text
    bad = run_ok(engine, "rollout", "set", "一分公司", "bogus", code=2)
    assert "bogus" in bad.output


def test_acceptance_history_reaches_the_rollout_and_the_monday_report(
    engine, Session, clock, tmp_path
):
    # Published without an objection window, final a minute later: the same day.
    example_published(engine, "--window-days", "0")
    clock.at += dt.timedelta(minutes=1)
    run_ok(engine, "period", "finalize", "2026-12")
    run_ok(engine, "rollout", "target", "一分公司", "accepted", "2026-12-25")
    run_ok(engine, "rollout", "target", "二分公司", "accepted", "2026-12-20")
    payroll = str(TEMPLATES / "payroll_example.xlsx")
    run_ok(engine, "acceptance", "check", "2026-12", "--payroll", payroll, code=1)
    lines = report(engine)
    # 二分公司 passed on 12-21 though its target was 12-20: one day late. 一分公司 failed:
    # still in its trial run (from the opening, 12-21), its target of 12-25 not yet due.
    assert lines[1:] == [
        "1. 二分公司 · acceptance passed since 2026-12-21 · 1 day behind · "
        "PASS (2026-12, 2026-12-21)",
        "2. 集团本部 · acceptance passed since 2026-12-21 · no target · PASS (2026-12, 2026-12-21)",
        "3. 一分公司 · trial run since 2026-12-21 · no target · FAIL (2026-12, 2026-12-21)",
        "Behind target: 二分公司 (1 day behind).",
    ]
    # Checked again a week later, with the corrected file: it passes, 3 days late.
    clock.at = MONDAY + dt.timedelta(days=7)
    run_ok(engine, "acceptance", "check", "2026-12", "--payroll", str(corrected(tmp_path)))
    out = tmp_path / "rollout.xlsx"
    done = run_ok(engine, "rollout", "report", "--xlsx", str(out), lang="en")
    # Ranked by stage, then days against target; no target ranks after any target.
    assert (
        "2. 一分公司 · acceptance passed since 2026-12-28 · 3 days behind · "
        "PASS (2026-12, 2026-12-28)" in done.stdout
    )
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:6] == (
        "Rank",
        "Institution",
        "Stage",
        "Reached on",
        "Days ahead (+) or behind (−) target",
        "Last acceptance",
    )
    assert [(r[1], r[4]) for r in rows[1:]] == [
        ("二分公司", -1),
        ("一分公司", -3),
        ("集团本部", None),
    ]
    assert ws.freeze_panes == "C2"
    # The Monday report to leadership shows the same lines.
    with Session() as s, s.begin():
        leader = s.scalar(select(Employee).where(Employee.number == "10001"))  # 集团领导
        bind(s, leader)
        s.flush()
        group = find_group(s, None)
        assert weekly.queue_weekly_report(s, group.id, clock.at) == 1
        text = s.scalars(select(OutboxMessage)).one().content["text"]
    assert "推进：排名 · 机构 · 阶段 · 对照目标 · 最近验收" in text
    assert "一分公司 · 验收通过（自 2026-12-28） · 落后 3 天 · 通过（2026-12，2026-12-28）" in text
    assert "落后于目标：二分公司（落后 1 天），一分公司（落后 3 天）。" not in text  # worst first
    assert "落后于目标：一分公司（落后 3 天），二分公司（落后 1 天）。" in text
    # Leadership asking in chat for the ranking sees the same table (no scoring is open).
    with Session() as s:
        leader = s.scalar(select(Employee).where(Employee.number == "10001"))
        said = Chat(s, chat_bind(s, leader, language="zh_CN"), now=clock.at).say("各机构排名")
        assert "推进：排名 · 机构 · 阶段 · 对照目标 · 最近验收" in said
        assert "一分公司 · 验收通过（自 2026-12-28）" in said
    history = run_ok(engine, "acceptance", "history", "2026-12", lang="en").stdout.splitlines()
    assert history[0].startswith("2026-12-21 10:01")
    assert "FAIL · 一分公司 FAIL" in history[0]
    assert history[1].startswith("2026-12-28 10:00")
    assert "PASS · 一分公司 PASS" in history[1]


def _sheet(path: Path, rows: list[list[object]]) -> Path:
    if path.suffix == ".csv":
        with path.open("w", encoding="gb18030", newline="") as f:
            csv.writer(f).writerows(rows)
        return path
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_targets_are_imported_from_the_target_letter_sheet(engine, Session, clock, tmp_path):
    run_ok(engine, "import", "org", str(TEMPLATES / "org_example.xlsx"))
    path = _sheet(
        tmp_path / "targets.xlsx",
        [
            ["机构", "环境就绪", "数据采集", "试运行", "验收通过", "正式运行"],
            [
                "一分公司",
                dt.datetime(2026, 11, 5),  # noqa: DTZ001 - a date cell, as Excel stores it
                "2026-11-15",
                "2026/12/01",
                "2026年12月31日",
                None,
            ],
            ["二分公司", "２０２６-１１-０１", None, "2026-12-01", "2026-12-31", "2027-01-01"],
        ],
    )
    done = run_ok(engine, "rollout", "targets", str(path), lang="en")
    assert "Read targets of 2 institutions from targets.xlsx: 8 dates changed." in done.stdout
    again = run_ok(engine, "rollout", "targets", str(path), lang="en")
    assert "0 dates changed" in again.stdout
    with Session() as s:
        assert s.scalar(select(func.count(StageTarget.id))) == 8
    shipped = run_ok(
        engine, "rollout", "targets", str(TEMPLATES / "targets_example.xlsx"), lang="en"
    )
    assert "Read targets of 2 institutions from targets_example.xlsx" in shipped.stdout
    with Session() as s:
        assert s.scalar(select(func.count(StageTarget.id))) == 12


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_hostile_targets_sheet_is_refused_whole(engine, Session, clock, tmp_path, lang):
    run_ok(engine, "import", "org", str(TEMPLATES / "org_example.xlsx"))
    path = _sheet(
        tmp_path / "targets.csv",
        [
            ["机构", "环境就绪", "试运行"],
            ["一分公司", "2026-11-05", "2026-12-01"],
            ["三分公司", "2026-11-05", ""],  # row 3: no such institution
            ["二分公司", "明天", "2026-13-01"],  # row 4: two bad dates
            ["一分公司", "2026-11-06", ""],  # row 5: twice
        ],
    )
    done = run_ok(engine, "rollout", "targets", str(path), lang=lang, code=2)
    lines = done.output.strip().splitlines()
    if lang == "en":
        assert lines == [
            "Row 3, column 机构, value “三分公司”: no institution has this name",
            "Row 4, column 环境就绪, value “明天”: is not a date: write it as 2026-12-31",
            "Row 4, column 试运行, value “2026-13-01”: is not a date: write it as 2026-12-31",
            "Row 5, column 机构, value “一分公司”: the same institution is already in row 2",
            "Nothing was imported: 4 problems found.",
        ]
    else:
        assert lines[-1] == "未导入任何数据：发现 4 个问题。"
        assert "第 4 行，“试运行”列，值“2026-13-01”：不是日期：请写成 2026-12-31" in lines
    with Session() as s:
        assert s.scalar(select(func.count(StageTarget.id))) == 0
