"""The pay sheet: stored results only, a totals row in Decimal, Excel-friendly files."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.appraisal import export
from bot.appraisal.periods import find_group, find_institution, find_period
from bot.cli import demo_data as demo
from bot.infra.errors import Refused
from models import Employee, Institution, Period, Result

NOW = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)
ZH_HEADERS = [
    "工号",
    "姓名",
    "机构",
    "部门",
    "总分",
    "等级",
    "系数",
    "绩效工资基数",
    "绩效工资",
    "状态",
]


@pytest.fixture
def group(engine, session):
    demo.prepare(engine, NOW, employees=30, institutions=2)
    return find_group(session, None)


def stored(session, label):
    period = session.scalar(select(Period).where(Period.label == label))
    return period, session.scalars(select(Result).where(Result.period_id == period.id)).all()


def test_the_sheet_holds_the_stored_results_and_their_sums(group, session):
    period, results = stored(session, "2026-10")
    sheet = export.pay_sheet(session, period)
    assert len(sheet.rows) == len(results) == 30
    assert sheet.pay_sum == sum((r.pay for r in results), Decimal(0))
    assert sheet.base_sum == sum((r.pay_base for r in results), Decimal(0))
    assert not sheet.preview


def test_one_institution_only(group, session):
    period, _results = stored(session, "2026-10")
    inst = find_institution(session, group, "北京分公司")
    sheet = export.pay_sheet(session, period, inst)
    assert {r.institution for r in sheet.rows} == {"北京分公司"}
    assert sheet.default_name("csv") == "pay_2026-10_北京分公司.csv"


def test_a_past_sheet_shows_where_people_were_paid_not_where_they_are_now(group, session):
    period, _results = stored(session, "2026-10")
    beijing = find_institution(session, group, "北京分公司")
    before = export.pay_sheet(session, period, beijing).rows[0]
    moved = session.scalar(select(Employee).where(Employee.number == before.number))
    other = session.scalar(
        select(Institution).where(Institution.group_id == group.id, Institution.id != beijing.id)
    )
    moved.institution_id = other.id
    moved.department_id = None
    session.flush()
    again = [r for r in export.pay_sheet(session, period).rows if r.number == before.number]
    assert again == [before]
    assert before in export.pay_sheet(session, period, beijing).rows
    assert all(r.number != before.number for r in export.pay_sheet(session, period, other).rows)


def test_a_period_still_open_for_scoring_is_refused(group, session):
    period = find_period(session, group, "2026-11")
    with pytest.raises(Refused, match="2026-11"):
        export.pay_sheet(session, period)


def test_a_closed_period_without_results_is_refused(group, session):
    period = find_period(session, group, "2026-11")
    from bot.appraisal.periods import close_period

    close_period(session, NOW, period)
    with pytest.raises(Refused, match="results compute"):
        export.pay_sheet(session, period)


def test_a_closed_period_with_results_exports_as_a_marked_preview(group, session, tmp_path):
    from bot.appraisal.periods import close_period
    from bot.appraisal.results import compute_period

    period = find_period(session, group, "2026-11")
    close_period(session, NOW, period)
    compute_period(session, NOW, period)
    sheet = export.pay_sheet(session, period)
    assert sheet.preview
    assert "预览" in sheet.title
    assert sheet.default_name("xlsx").endswith("_preview.xlsx")
    path = tmp_path / "p.xlsx"
    export.write_xlsx(sheet, path)
    ws = load_workbook(path).active
    assert "预览" in ws["A1"].value
    assert [c.value for c in ws[2]] == ZH_HEADERS
    assert ws.freeze_panes == "A3"


def test_the_xlsx_has_chinese_headers_number_formats_and_a_totals_row(group, session, tmp_path):
    period, results = stored(session, "2026-10")
    sheet = export.pay_sheet(session, period)
    path = tmp_path / "pay.xlsx"
    export.write_xlsx(sheet, path)
    ws = load_workbook(path).active
    assert [c.value for c in ws[1]] == ZH_HEADERS
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 33  # header, 30 people, totals, checksum
    first = ws[2]
    assert first[4].number_format == "0.00"
    assert first[8].number_format == "#,##0.00"
    by_number = {r.employee.number: r for r in results}
    for row in ws.iter_rows(min_row=2, max_row=31, values_only=True):
        r = by_number[row[0]]
        assert Decimal(str(row[8])) == r.pay
        assert Decimal(str(row[4])) == r.total
        assert row[5] == r.grade
    total = ws[32]
    assert total[0].value == "合计"
    assert Decimal(str(total[7].value)) == sum((r.pay_base for r in results), Decimal(0))
    assert Decimal(str(total[8].value)) == sum((r.pay for r in results), Decimal(0))


def test_the_csv_is_utf8_with_a_bom_and_exact_decimals(group, session, tmp_path):
    period, results = stored(session, "2026-10")
    path = tmp_path / "pay.csv"
    export.write_csv(export.pay_sheet(session, period), path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ZH_HEADERS
    assert len(rows) == 33
    *body, totals, checksum = rows[1:]
    assert sum((Decimal(r[8]) for r in body), Decimal(0)) == Decimal(totals[8])
    assert Decimal(totals[8]) == sum((r.pay for r in results), Decimal(0))
    assert all(len(r[8].split(".")[1]) == 2 for r in [*body, totals])
    assert checksum[0] == "校验码"
    assert checksum[1].startswith("sha256:")


def test_the_export_command_writes_csv_with_english_headers(tmp_path):
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["--database-url", url, "demo-data", "--employees", "20"]).exit_code == 0
    )
    out = tmp_path / "out.csv"
    prev = demo.month_labels(dt.datetime.now(dt.UTC))[0]
    result = runner.invoke(
        app,
        [
            "--database-url",
            url,
            "--lang",
            "en",
            "export",
            "pay",
            prev,
            "--format",
            "csv",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "20 employees" in result.output
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("Employee No.,Name,Institution")


def test_the_export_command_refuses_an_open_period_on_one_line(tmp_path):
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["--database-url", url, "demo-data", "--employees", "20"]).exit_code == 0
    )
    cur = demo.month_labels(dt.datetime.now(dt.UTC))[1]
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "export", "pay", cur])
    assert result.exit_code == 2
    assert "scoring" in result.output
    assert len(result.output.strip().splitlines()) == 1
    bad = runner.invoke(app, ["--database-url", url, "export", "pay", cur, "--format", "pdf"])
    assert bad.exit_code == 2
