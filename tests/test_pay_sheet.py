"""The pay sheet never drops anyone: everyone of the period has a row, those without a
result marked with the reason and no amount; decimals with two places; rows by 工号;
工号 kept as text."""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.appraisal import export, gaps
from bot.appraisal.periods import close_period, finalize_period, publish_period
from bot.appraisal.results import compute_period
from models import Employee, Result, Scheme
from tests.paysheet_helpers import LATER, cli, heads_managed, join, open_, org, period_of, score


def published_with_gaps(session):
    """Heads incomplete (self-assessment only), one late joiner without a task."""
    group, people = org(session)
    period = open_(session, group)
    score(session, period)
    join(session, group, people)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    publish_period(session, LATER, period, allow_missing=True)
    return group, people, period


def read_csv(path):
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_everyone_is_in_the_sheet_and_those_without_a_result_have_no_amount(session, tmp_path):
    _group, _people, period = published_with_gaps(session)
    sheet = export.pay_sheet(session, period)
    active = session.scalars(select(Employee.number).where(Employee.active.is_(True))).all()
    assert sorted(r.number for r in sheet.rows) == sorted(active)
    assert len(sheet.rows) == 10  # 9 in the org, 1 who joined after opening
    by_number = {r.number: r for r in sheet.rows}
    for head in ("100", "200"):
        row = by_number[head]
        assert row.status.startswith("未完成 — ")
        assert "没有计入权重的考核人" in row.status
        assert "本人" in row.status
        assert (row.total, row.grade, row.coefficient, row.pay_base, row.pay) == (None,) * 5
    late = by_number["3001"]
    assert late.status == "未参加考核 — 本周期没有评分任务"
    assert late.pay is None
    assert by_number["1001"].status == "已计算"
    assert (len(sheet.computed), sheet.incomplete, sheet.not_appraised) == (7, 2, 1)
    results = session.scalars(select(Result).where(Result.period_id == period.id)).all()
    assert sheet.pay_sum == sum((r.pay for r in results), Decimal(0))

    path = tmp_path / "pay.csv"
    export.write_csv(sheet, path)
    title, *rows = read_csv(path)
    assert "草稿" in title[0]  # published, not final
    assert rows[0][-1] == "状态"
    assert all(r[-1].startswith("草稿 · ") for r in rows[1:-2])
    head = next(r for r in rows if r[0] == "100")
    assert head[4:9] == ["", "", "", "", ""]  # empty, never 0
    total = rows[-2]
    assert total[0] == "合计"
    assert total[1] == "7 人已计算"
    assert total[-1] == "3 人无金额，2 人未完成，1 人未参加考核"

    xlsx = tmp_path / "pay.xlsx"
    export.write_xlsx(sheet, xlsx)
    ws = load_workbook(xlsx).active
    assert ws.max_row == 1 + 1 + 10 + 1 + 1  # title, header, people, totals, checksum
    cells = {row[0].value: row for row in ws.iter_rows(min_row=3, max_row=12)}
    assert [c.value for c in cells["200"][4:9]] == [None] * 5
    assert cells["200"][9].value.startswith("草稿 · 未完成")


def test_the_csv_writes_every_decimal_with_two_places(session, tmp_path):
    group, people = org(session)
    heads_managed(people)
    scheme = session.scalar(select(Scheme).where(Scheme.group_id == group.id))
    scheme.grades[0].coefficient = Decimal("0.5")
    _inst, _head, staff = people["东城支行"]
    staff[0].pay_base = Decimal("8001")  # × 0.5 = 4000.5
    staff[1].pay_base = Decimal("8000")
    session.flush()
    period = open_(session, group)
    score(session, period, Decimal(88))
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    publish_period(session, LATER, period, window=0)
    path = tmp_path / "pay.csv"
    finalize_period(session, LATER + dt.timedelta(minutes=1), period)
    export.write_csv(export.pay_sheet(session, period), path)
    rows = read_csv(path)[:-1]  # the checksum row aside
    by_number = {r[0]: r for r in rows[1:-1]}
    assert by_number[staff[0].number][7:9] == ["8001.00", "4000.50"]
    assert by_number[staff[1].number][7:9] == ["8000.00", "4000.00"]
    two = re.compile(r"^-?\d+\.\d\d$")
    for r in rows[1:]:
        for cell in (r[4], r[6], r[7], r[8]):
            assert cell == "" or two.match(cell), r


def test_more_places_than_two_are_kept_not_rounded_away():
    assert export.two_places(Decimal("87.125")) == "87.125"
    assert export.two_places(Decimal("1.2")) == "1.20"
    assert export.two_places(Decimal("8000")) == "8000.00"
    assert export.two_places(None) == ""


def test_rows_are_in_natural_employee_number_order_not_by_department(session):
    group, people = org(session)
    heads_managed(people)
    # A 工号 of each width, spread over both institutions and departments.
    _i1, h1, s1 = people["东城支行"]
    _i2, h2, s2 = people["西城支行"]
    s2[0].number = "9"
    s1[0].number = "10"
    h2.number = "A10"
    h1.number = "A9"
    session.flush()
    period = open_(session, group)
    score(session, period)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    numbers = [r.number for r in export.pay_sheet(session, period).rows]
    assert numbers[:2] == ["9", "10"]
    assert numbers[-2:] == ["A9", "A10"]
    assert numbers == sorted(numbers, key=gaps.number_key)
    assert numbers.index("1011") < numbers.index("2011") < numbers.index("A9")


def test_number_key_orders_digits_as_numbers_and_keeps_zero_padded_apart():
    numbers = ["10", "9", "007", "7", "A10", "A9", "100", "B1"]
    assert sorted(numbers, key=gaps.number_key) == ["7", "007", "9", "10", "100", "A9", "A10", "B1"]


def test_the_xlsx_keeps_leading_zeros_as_text(session, tmp_path):
    group, people = org(session)
    heads_managed(people)
    _inst, _head, staff = people["东城支行"]
    staff[0].number = "007"
    session.flush()
    period = open_(session, group)
    score(session, period)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    path = tmp_path / "pay.xlsx"
    export.write_xlsx(export.pay_sheet(session, period), path)
    ws = load_workbook(path).active
    cell = next(row[0] for row in ws.iter_rows(min_row=2) if row[1].value == staff[0].name)
    assert cell.value == "007"
    assert cell.data_type == "s"
    assert cell.number_format == "@"
    money = next(row for row in ws.iter_rows(min_row=2) if row[1].value == staff[0].name)
    assert money[8].data_type == "n"
    assert money[8].number_format == "#,##0.00"
    assert money[4].data_type == "n"
    assert money[4].number_format == "0.00"


def test_a_preview_is_marked_and_lists_who_is_still_missing(session, tmp_path):
    group, _people = org(session)
    period = open_(session, group)
    score(session, period)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    sheet = export.pay_sheet(session, period)
    assert sheet.preview
    assert sheet.incomplete == 2
    path = tmp_path / "p.csv"
    export.write_csv(sheet, path)
    rows = read_csv(path)
    assert "预览" in rows[0][0]
    assert rows[1][0] == "工号"


def test_one_institution_lists_its_own_people_without_a_result(session):
    _group, people = published_with_gaps(session)[:2]
    period = period_of(session)
    inst = people["西城支行"][0]
    sheet = export.pay_sheet(session, period, inst)
    assert {r.institution for r in sheet.rows} == {"西城支行"}
    assert [g.number for g in sheet.gaps] == ["200"]


def test_named_caps_the_list_and_counts_the_rest(session):
    group, _people = org(session)
    period = open_(session, group)
    missing = gaps.without_result(session, period)
    assert len(missing) == 9
    text = gaps.named(missing, 3)
    assert text == "100 东城支行行长，200 西城支行行长，1001 东城支行员工0，另有 6 人"


# The command line


def test_export_after_finalize_lists_everyone_says_who_is_missing_and_exits_3(
    engine, Session, tmp_path
):
    with Session() as session, session.begin():
        published_with_gaps(session)
    out = tmp_path / "pay.csv"
    early = cli(engine, "export", "pay", "2026-11", "--format", "csv", "--output", str(out))
    assert early.exit_code == 2, early.output
    assert "不是终结状态" in early.output
    assert "--draft" in early.output
    assert not out.exists()
    with Session() as session, session.begin():
        # Final once the objection window (five workdays) has closed.
        finalize_period(session, LATER + dt.timedelta(days=14), period_of(session))
    out = tmp_path / "pay.csv"
    result = cli(engine, "export", "pay", "2026-11", "--format", "csv", "--output", str(out))
    assert result.exit_code == 3, result.output
    said = result.stdout
    assert "7 名员工有结果" in said
    assert "另有 3 人列在表中但没有金额：" in said
    assert "100 东城支行行长（没有计入权重的考核人：只有本人" in said
    assert "3001 新员工（本周期没有评分任务）" in said
    rows = read_csv(out)
    assert len(rows) == 1 + 10 + 1 + 1  # header, people, totals, checksum
    with Session() as session:
        active = session.scalars(select(Employee.number).where(Employee.active.is_(True))).all()
    assert sorted(r[0] for r in rows[1:-2]) == sorted(active)


def test_export_exits_0_when_everyone_has_an_amount_and_warns_of_excel_and_zeros(
    engine, Session, tmp_path
):
    with Session() as session, session.begin():
        group, people = org(session)
        heads_managed(people)
        people["东城支行"][2][0].number = "0042"
        session.flush()
        period = open_(session, group)
        score(session, period)
        close_period(session, LATER, period)
        compute_period(session, LATER, period)
        publish_period(session, LATER, period, window=0)
        finalize_period(session, LATER + dt.timedelta(minutes=1), period)
    out = tmp_path / "pay.csv"
    result = cli(
        engine, "export", "pay", "2026-11", "--format", "csv", "--output", str(out), lang="en"
    )
    assert result.exit_code == 0, result.output
    assert "9 employees with a result" in result.stdout
    assert "without an amount" not in result.stdout
    assert "Excel changes employee numbers such as 0042" in result.stdout
    assert "0042" in out.read_text(encoding="utf-8-sig")
    xlsx = cli(engine, "export", "pay", "2026-11", "--output", str(tmp_path / "p.xlsx"))
    assert xlsx.exit_code == 0, xlsx.output
    assert "Excel" not in xlsx.stdout


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_writing_reports_progress_for_every_row(session, tmp_path, fmt):
    _group, _people, period = published_with_gaps(session)
    sheet = export.pay_sheet(session, period)
    done: list[int] = []
    export.write(sheet, tmp_path / f"p.{fmt}", fmt, progress=done.append)
    assert sum(done) == len(sheet.rows) == 10
