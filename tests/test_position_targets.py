"""Targets per position in the scheme workbook (岗位目标): stored with the scheme version,
all or nothing with every bad row named, the default under `jixiao import metrics`'s own
and position targets, and named in the trace and the explanation. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.appraisal.periods import close_period, open_period
from bot.appraisal.results import compute_period
from bot.appraisal.traces import expand
from bot.chat import explain
from bot.cli.main import app
from bot.importing import ImportRefused, import_scheme
from bot.importing.metrics import import_metrics
from bot.infra import i18n
from models import Group, MetricValue, PositionTarget, Result, Scheme
from tests.factories import small_org
from tests.metrics_helpers import NOW, layered_world, score, workbook, write_csv

TARGETS = (
    ["岗位", "指标", "目标值"],
    [
        ["客户经理", "存款增量", 4000000],
        ["客户经理", "complaints", 8],
        ["行长", "deposit", 9000000],
    ],
)


def _targets(session, scheme_id):
    return session.execute(
        select(PositionTarget.position, PositionTarget.target)
        .where(PositionTarget.scheme_id == scheme_id)
        .order_by(PositionTarget.seq)
    ).all()


def test_the_sheet_is_stored_with_the_scheme_version(session, tmp_path):
    period, _head, _staff = layered_world(session, tmp_path, 岗位目标=TARGETS)
    assert _targets(session, period.scheme_id) == [
        ("客户经理", Decimal(4000000)),
        ("客户经理", Decimal(8)),
        ("行长", Decimal(9000000)),
    ]
    group = session.get(Group, period.group_id)
    # The same workbook again: nothing written. A changed target: a new version, and the
    # open period keeps its own.
    same = import_scheme(session, NOW, workbook(tmp_path / "same.xlsx", 岗位目标=TARGETS), group)
    assert not same.written
    changed = (TARGETS[0], [["客户经理", "存款增量", 4500000]])
    report = import_scheme(session, NOW, workbook(tmp_path / "v2.xlsx", 岗位目标=changed), group)
    assert (report.written, report.version, report.targets) == (True, 2, 1)
    with i18n.using("en"):
        assert "1 position targets of metric indicators." in report.lines()
    assert len(_targets(session, period.scheme_id)) == 3


def test_english_sheet_and_headers_through_the_cli(Session, engine, tmp_path, monkeypatch):
    with Session() as s, s.begin():
        small_org(s, (("东城支行", 2),))
    english = (["position", "indicator", "target"], [["客户经理", "deposit", "4,000,000"]])
    path = workbook(tmp_path / "s.xlsx", position_targets=english)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["--lang", "en", "import", "scheme", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 position targets of metric indicators." in result.output
    with Session() as s:
        assert s.execute(select(PositionTarget.position, PositionTarget.target)).all() == [
            ("客户经理", Decimal(4000000))
        ]


def test_every_bad_row_is_named_and_nothing_written(session, tmp_path):
    group, _people = small_org(session, (("东城支行", 2),))
    bad = (
        ["岗位", "指标", "目标值"],
        [
            ["客户经理", "存款增量", 4000000],  # 2: good
            ["客户经理", "nosuch", 10],  # 3: no such indicator
            ["客户经理", "360评价", 10],  # 4: scored by people
            ["客户经理", "客户投诉", 0],  # 5: target 0
            ["柜员", "客户投诉", -5],  # 6: negative
            ["柜员", "存款增量", "abc"],  # 7: not a number
            ["客户经理", "deposit", 5000000],  # 8: 存款增量 again for 客户经理
            [None, "存款增量", 1],  # 9: no position
        ],
    )
    with i18n.using("en"), pytest.raises(ImportRefused) as exc:
        import_scheme(session, NOW, workbook(tmp_path / "bad.xlsx", 岗位目标=bad), group)
    lines = exc.value.lines()
    assert sorted({p.row for p in exc.value.problems}) == list(range(3, 10)), lines
    joined = "\n".join(lines)
    assert "is not a metric indicator of this scheme: use 存款增量 (deposit)" in joined
    assert "is scored by people, not by data: metric indicators are" in joined
    assert "the target of 客户投诉 for position 客户经理 is 0" in joined
    assert "the target of 客户投诉 for position 柜员 is negative" in joined
    assert "this position's target of 存款增量 is already in row 2" in joined
    assert all("岗位目标" in line for line in lines[:-1]), lines
    assert session.scalar(select(func.count()).select_from(Scheme)) == 1  # small_org's own
    assert session.scalar(select(func.count()).select_from(PositionTarget)) == 0


ROWS = [
    ["", "客户经理", "客户投诉", "10", ""],  # the file's position row beats the scheme's 8
    ["1001", "", "deposit", "5000000", "4600000"],  # their own target beats the scheme's
    ["1001", "", "complaints", "", "11"],
    ["1011", "", "deposit", "", "4600000"],  # the scheme's 4,000,000
    ["1011", "", "complaints", "", "0"],
    ["100", "", "deposit", "", "9000000"],  # the scheme's 9,000,000 for 行长
    ["100", "", "complaints", "1", "1"],
]


def test_metric_import_takes_the_schemes_target_last_and_the_trace_says_so(session, tmp_path):
    period, _head, (s0, s1) = layered_world(session, tmp_path, 岗位目标=TARGETS)
    import_metrics(session, NOW, write_csv(tmp_path / "m.csv", ROWS), period)
    sources = {
        (e, str(t)): src
        for e, t, src in session.execute(
            select(MetricValue.employee_id, MetricValue.target, MetricValue.source)
        ).tuples()
    }
    assert sources[(s0.id, "5000000")] == "employee"
    assert sources[(s0.id, "10")] == "position"
    assert sources[(s1.id, "4000000")] == "scheme"
    assert sources[(s1.id, "10")] == "position"
    assert sorted(sources.values()) == [
        "employee",
        "employee",
        "position",
        "position",
        "scheme",
        "scheme",
    ]

    score(session, period, s1, "manager", peer="90", conduct="78")
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    stored = session.scalar(
        select(Result.trace).where(Result.employee_id == s1.id, Result.period_id == period.id)
    )
    t = expand(session, stored)
    deposit = next(i for i in t["indicators"] if i["code"] == "deposit")
    assert (deposit["target"], deposit["target_from"]) == ("4000000", "scheme")
    # 4.6M / 4M = 115% → 60 × 115% = 69; complaints 0 vs 10 → 200% → 40: perf 109
    assert deposit["points"] == "69"
    with i18n.using("en"):
        en = "\n".join(explain.indicators(t))
    with i18n.using("zh_CN"):
        zh = "\n".join(explain.indicators(t))
    assert "• 存款增量: target 4,000,000 (their position's target in the scheme), actual" in en
    assert "• 客户投诉: target 10 (their position's target), actual 0" in en
    assert "• 存款增量: 目标 400万（考核方案的岗位目标值）, 实际 460万" in zh


def test_without_any_target_the_row_is_named(session, tmp_path):
    period, _head, _staff = layered_world(session, tmp_path, 岗位目标=TARGETS)
    rows = [*ROWS[:6], ["100", "", "complaints", "", "1"]]  # no 行长 target of 客户投诉
    with i18n.using("en"), pytest.raises(ImportRefused) as exc:
        import_metrics(session, NOW, write_csv(tmp_path / "m.csv", rows), period)
    (problem,) = exc.value.problems
    assert problem.row == 8
    assert problem.reason == (
        "no target: give 目标值, or a row for position 行长 (here or on the scheme "
        "workbook's 岗位目标 sheet)"
    )


def test_a_later_scheme_version_does_not_change_an_open_periods_targets(session, tmp_path):
    period, _head, (_s0, s1) = layered_world(session, tmp_path, 岗位目标=TARGETS)
    group = session.get(Group, period.group_id)
    changed = (TARGETS[0], [["客户经理", "存款增量", 1], *TARGETS[1][1:]])
    import_scheme(session, NOW, workbook(tmp_path / "v2.xlsx", 岗位目标=changed), group)
    import_metrics(session, NOW, write_csv(tmp_path / "m.csv", ROWS), period)
    target = session.scalar(
        select(MetricValue.target).where(
            MetricValue.employee_id == s1.id, MetricValue.source == "scheme"
        )
    )
    assert target == Decimal(4000000)  # version 1's, the period's own
    # A period opened now takes version 2's.
    later, _n = open_period(
        session,
        NOW,
        group=group,
        label="2026-12",
        scheme_code="LAYER",
        deadline=dt.date(2027, 1, 7),
    )
    import_metrics(session, NOW, write_csv(tmp_path / "m2.csv", ROWS), later)
    target = session.scalar(
        select(MetricValue.target).where(
            MetricValue.period_id == later.id,
            MetricValue.employee_id == s1.id,
            MetricValue.source == "scheme",
        )
    )
    assert target == Decimal(1)
