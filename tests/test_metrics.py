"""Metric indicators and sections end to end: scheme workbook, `import metrics`, tasks
per section, the close check, results and their traces. SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.appraisal.pay import SchemeSpec
from bot.appraisal.periods import close_period
from bot.appraisal.results import compute_period
from bot.appraisal.sections import indicators_for
from bot.cli.main import app
from bot.importing import ImportRefused
from bot.importing.metrics import import_metrics
from bot.infra import i18n
from bot.infra.errors import Refused
from models import AuditEvent, MetricValue, Result, Scheme, ScoringTask
from tests.metrics_helpers import NOW, layered_world, score, write_csv


@pytest.fixture(autouse=True)
def _english():
    with i18n.using("en"):
        yield


GOOD = [
    # a position's targets, then each person's actuals (the head with their own targets)
    ["", "客户经理", "存款增量", "5,000,000", ""],
    ["", "客户经理", "客户投诉", "10", ""],
    ["1001", "", "deposit", "", "4600000"],
    ["1001", "客户经理", "complaints", "", "11"],
    ["1011", "", "存款增量", "", "4600000"],
    ["1011", "", "客户投诉", "", "0"],
    ["100", "", "存款增量", "¥8000000", "8000000"],
    ["100", "", "客户投诉", "5", "5"],
]


def test_scheme_with_sections_and_metrics_is_stored(session, tmp_path):
    period, _head, _staff = layered_world(session, tmp_path)
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    assert [(s.code, s.weight) for s in spec.sections] == [
        ("perf", 50),
        ("s360", 30),
        ("conduct", 20),
    ]
    assert [(r.code, r.weight) for r in spec.sections[1].roles] == [("manager", 60), ("head", 40)]
    deposit, complaints = spec.indicators[:2]
    assert deposit.rule == {"form": "linear", "direction": "higher", "floor": "60", "cap": "120"}
    assert complaints.rule["direction"] == "lower"
    # The most it can give: 50 × (60 × 120% + 40 × 100%) / 100 + 30 + 20 = 56 + 50 = 106
    assert spec.bounds() == (0, Decimal(106))


def test_tasks_per_section_and_forms_show_only_theirs(session, tmp_path):
    period, _head, staff = layered_world(session, tmp_path)
    roles = sorted(
        session.execute(
            select(ScoringTask.appraisee_id, ScoringTask.role_code).where(
                ScoringTask.period_id == period.id
            )
        ).tuples()
    )
    # Two staff, each a manager task (360 and 行为规范) and a head task (360 only); the
    # head has no scorer; nobody gets a task for the data section.
    assert roles == sorted((e.id, r) for e in staff for r in ("manager", "head"))
    scheme = session.get_one(Scheme, period.scheme_id)
    assert [i.code for i in indicators_for(scheme, "manager")] == ["peer", "conduct"]
    assert [i.code for i in indicators_for(scheme, "head")] == ["peer"]


def test_import_close_compute_and_trace(session, tmp_path):
    period, head, staff = layered_world(session, tmp_path)
    s0, s1 = staff
    score(session, period, s0, "manager", peer="85", conduct="78")
    score(session, period, s0, "head", peer="85")
    score(session, period, s1, "manager", peer="90", conduct="78")  # the head never scores s1
    with pytest.raises(Refused) as exc:
        close_period(session, NOW, period)
    text = str(exc.value)
    assert "6 metric values are missing" in text
    assert "100 东城支行行长: 存款增量" in text
    assert "1011 东城支行员工1: 客户投诉" in text

    report = import_metrics(session, NOW, write_csv(tmp_path / "m.csv", GOOD), period)
    assert (report.values, report.people, report.replaced) == (6, 3, 0)
    sources = dict(
        session.execute(
            select(MetricValue.actual, MetricValue.source).where(MetricValue.employee_id == s0.id)
        ).all()
    )
    assert sources == {Decimal(4600000): "position", Decimal(11): "position"}
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    totals = dict(
        session.execute(
            select(Result.employee_id, Result.total).where(Result.period_id == period.id)
        ).all()
    )
    # s0: deposit 4.6M/5M = 92% → 60 × 92% = 55.2; complaints 11 vs 10, lower is better:
    # (2 − 1.1) = 90% → step 80% of 40 = 32; perf = 87.2. 360 = 85, 行为规范 78.
    # 50 × 87.2 + 30 × 85 + 20 × 78 = 4360 + 2550 + 1560 = 8470 → 84.70
    assert totals[s0.id] == Decimal("84.70")
    # s1: complaints 0 → 200% → 40; perf = 55.2 + 40 = 95.2; 360 only the manager's 90,
    # re-weighted within 360: 50 × 95.2 + 30 × 90 + 20 × 78 = 4760 + 2700 + 1560 = 9020
    assert totals[s1.id] == Decimal("90.20")
    assert head.id not in totals  # nobody scores the head's 360 and 行为规范
    trace = session.scalar(
        select(Result.trace).where(Result.employee_id == s1.id, Result.period_id == period.id)
    )
    assert trace["rule"] == "reweight_present_roles_in_section"
    assert [s["reweighted"] for s in trace["sections"]] == [False, True, False]


def test_every_kind_of_bad_row_writes_nothing(session, tmp_path):
    period, _head, _staff = layered_world(session, tmp_path)
    import_metrics(session, NOW, write_csv(tmp_path / "ok.csv", GOOD), period)
    session.commit()
    before = session.scalar(select(func.count()).select_from(MetricValue))
    bad = [
        ["1001", "", "存款增量", "0", "100"],  # 3: target 0
        ["9999", "", "存款增量", "100", "100"],  # 4: no such employee
        ["1011", "", "360评价", "100", "90"],  # 5: scored by people
        ["1011", "", "nosuch", "100", "90"],  # 6: no such indicator
        ["1011", "", "存款增量", "100", ""],  # 7: no actual
        ["1011", "", "存款增量", "abc", "1"],  # 8: target not a number
        ["1011", "", "存款增量", "-5", "1"],  # 9: negative target; also a repeat of row 7
        ["", "柜员", "存款增量", "", ""],  # 10: a position row without its target
        ["", "", "存款增量", "100", "1"],  # 11: neither 工号 nor 岗位
        ["100", "", "客户投诉", "", "3"],  # 12: no target, and no 行长 row
        ["1001", "行长", "客户投诉", "5", "3"],  # 13: not their position
    ]
    with pytest.raises(ImportRefused) as exc:
        import_metrics(session, NOW, write_csv(tmp_path / "bad.csv", bad), period)
    lines = exc.value.lines()
    rows = sorted({p.row for p in exc.value.problems})
    assert rows == list(range(2, 13)), lines  # every row named (CSV line 2 is data row 1)
    joined = "\n".join(lines)
    assert "a target of 0 gives no completion rate" in joined
    assert "no employee with this 工号" in joined
    assert "is scored by people, not by data" in joined
    assert "is negative" in joined
    assert "no target: give 目标值, or a row for position 行长" in joined
    assert "the employee's position is 客户经理" in joined
    assert "Nothing was imported: " in lines[-1]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(MetricValue)) == before


def test_reimport_replaces_the_period_and_is_audited(session, tmp_path):
    period, _head, _staff = layered_world(session, tmp_path)
    import_metrics(session, NOW, write_csv(tmp_path / "a.csv", GOOD), period)
    fewer = GOOD[:4]
    report = import_metrics(session, NOW, write_csv(tmp_path / "b.csv", fewer), period)
    assert (report.values, report.replaced) == (2, 6)
    assert session.scalar(select(func.count()).select_from(MetricValue)) == 2
    events = session.execute(
        select(AuditEvent.before, AuditEvent.after, AuditEvent.note)
        .where(AuditEvent.action == "import.metrics")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.before, e.after["values"], e.note) for e in events] == [
        ({"values": 0}, 6, "a.csv"),
        ({"values": 6}, 2, "b.csv"),
    ]


def test_cli_import_metrics_xlsx_with_english_headers(Session, tmp_path, monkeypatch, engine):
    import openpyxl

    with Session() as s, s.begin():
        layered_world(s, tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["number", "position", "indicator", "target", "actual"])
    for row in GOOD:
        ws.append([None if v == "" else v for v in row])
    wb.save(tmp_path / "m.xlsx")
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(
        app, ["--lang", "en", "import", "metrics", "2026-11", str(tmp_path / "m.xlsx")]
    )
    assert result.exit_code == 0, result.output
    assert "6 metric values of 3 people for 2026-11" in result.output
    bad = write_csv(tmp_path / "bad.csv", [["1001", "", "存款增量", "0", "1"]])
    result = CliRunner().invoke(app, ["--lang", "en", "import", "metrics", "2026-11", str(bad)])
    assert result.exit_code == 2
    assert "a target of 0 gives no completion rate" in result.output


def test_the_layered_examples_import(session, tmp_path):
    """docs/templates: the layered scheme example and its metrics file, on the org example."""
    import datetime as dt
    from pathlib import Path

    from bot.appraisal.periods import find_group, open_period
    from bot.importing import import_org, import_scheme

    docs = Path(__file__).resolve().parent.parent / "docs" / "templates"
    import_org(session, NOW, docs / "org_example.xlsx")
    group = find_group(session, None)
    report = import_scheme(session, NOW, docs / "scheme_layered_example.xlsx", group)
    assert report.written
    period, tasks = open_period(
        session,
        NOW,
        group=group,
        label="2026-11",
        scheme_code="LAYER",
        deadline=dt.date(2026, 12, 7),
    )
    assert tasks > 0
    report = import_metrics(session, NOW, docs / "metrics_example.xlsx", period)
    assert (report.values, report.people) == (6, 3)
    sources = sorted(
        session.execute(select(MetricValue.source, func.count()).group_by(MetricValue.source)).all()
    )
    # 20006 周磊 (客户经理) takes the scheme's 岗位目标; the file's 柜员 rows beat the scheme's.
    assert sources == [("employee", 2), ("position", 2), ("scheme", 2)]


def test_plain_rows_after_the_first_are_checked_like_the_others(session, tmp_path):
    """Rows of plain text take a quicker path once their indicator has been read: a
    repeat, an inactive person or a bad target on that path is named all the same."""
    period, head, _staff = layered_world(session, tmp_path)
    head.active = False
    session.flush()
    rows = [
        ["1001", "", "deposit", "100", "90"],  # 2: read the general way, names `deposit`
        ["1011", "", "deposit", "100", "80"],  # 3: the quick path
        ["1011", "", "deposit", "100", "70"],  # 4: a repeat of row 3
        ["1011", "", "存款增量", "100", "60"],  # 5: the same indicator by name: a repeat
        ["100", "", "deposit", "1", "1"],  # 6: inactive
        ["1001", "", "complaints", "-1", "1"],  # 7: negative target
    ]
    with pytest.raises(ImportRefused) as exc:
        import_metrics(session, NOW, write_csv(tmp_path / "m.csv", rows), period)
    found = {p.row: p.reason for p in exc.value.problems}
    assert sorted(found) == [4, 5, 6, 7]
    assert "already in row 3" in found[4]
    assert "already in row 3" in found[5]
    assert "no longer active" in found[6]
    assert "is negative" in found[7]


def test_scores_import_fills_only_a_roles_own_sections(session, tmp_path):
    """HR entering scores on a scorer's behalf: the sheet has no column for the data
    section, and a role's row may not fill another section's indicator."""
    from bot.importing.scores import check_scores, columns, read_sheet, store_scores

    period, _head, _staff = layered_world(session, tmp_path)
    scheme = session.get_one(Scheme, period.scheme_id)
    assert {c.names[0] for c in columns(scheme)} >= {"360评价", "行为规范"}
    assert not {"存款增量", "客户投诉"} & {n for c in columns(scheme) for n in c.names}
    header = ("工号", "考核人工号", "角色", "360评价", "行为规范")
    bad = write_csv(
        tmp_path / "s.csv",
        [["1001", "100", "机构负责人", "85", "70"], ["1001", "100", "直接上级", "90", "78"]],
        header=header,
    )
    with pytest.raises(ImportRefused) as exc:
        check_scores(session, read_sheet(session, bad, period))
    [problem] = exc.value.problems
    assert problem.row == 2
    assert "机构负责人 does not score this indicator" in problem.reason
    good = write_csv(
        tmp_path / "g.csv",
        [["1001", "100", "机构负责人", "85", ""], ["1001", "100", "直接上级", "90", "78"]],
        header=header,
    )
    plan = check_scores(session, read_sheet(session, good, period))
    store_scores(session, NOW, plan)
    assert (
        session.scalar(
            select(func.count()).select_from(ScoringTask).where(ScoringTask.state == "submitted")
        )
        == 2
    )


def test_what_if_on_a_layered_result_keeps_its_business_figures(session, tmp_path):
    """What-if with the stored values gives the stored pay; raising a scored mark in one
    section moves the total by that section's share only."""
    from bot.appraisal.whatif import recompute

    period, _head, staff = layered_world(session, tmp_path)
    s0, _s1 = staff
    score(session, period, s0, "manager", peer="85", conduct="78")
    score(session, period, s0, "head", peer="85")
    score(session, period, _s1, "manager", peer="90", conduct="78")
    import_metrics(session, NOW, write_csv(tmp_path / "m.csv", GOOD), period)
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    result = session.scalar(
        select(Result).where(Result.employee_id == s0.id, Result.period_id == period.id)
    )
    from bot.appraisal.traces import expand

    trace = expand(session, result.trace)
    spec = SchemeSpec.of(session.get_one(Scheme, period.scheme_id))
    same = recompute(spec, trace, result.pay_base, {})
    assert (same.total, same.pay) == (result.total, result.pay)
    conduct = next(i for i in spec.indicators if i.code == "conduct")
    higher = recompute(spec, trace, result.pay_base, {conduct.id: Decimal(88)})
    # 行为规范 weighs 20: 10 more points there is 2.00 more in the total (84.70 → 86.70).
    assert higher.total == Decimal("86.70")
