"""Spreadsheets as HR really keeps them: every one is read correctly or refused, naming
where; none is stored wrong. Each test checks what reached the database, or that nothing
did."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.importing import ImportRefused, import_org, import_scheme
from bot.importing import org as org_importer
from bot.importing import scheme as scheme_importer
from bot.importing.table import _SIMPLIFIED, canonical
from bot.infra import i18n
from models import Employee, Group, Indicator, Institution, Scheme, ScorerRole
from tests.test_import_org import (
    HEADERS,
    NOW,
    STAFF,
    counts,
    csv_file,
    employee,
    imported,
    refused,
    xlsx,
)
from tests.test_import_scheme import GRADES, INDICATORS, ROLES, SCHEME, workbook


@pytest.fixture(autouse=True)
def _english():
    with i18n.using("en"):
        yield


# Excel's dates carry no time zone, and openpyxl writes only naive ones.
EXCEL_DAY = dt.datetime(2026, 1, 12)  # noqa: DTZ001


def numbers(session) -> list[str]:
    return sorted(session.scalars(select(Employee.number)))


def scheme_refused(session, group, path) -> list[str]:
    before = session.scalar(select(func.count()).select_from(Scheme))
    with pytest.raises(ImportRefused) as exc:
        import_scheme(session, NOW, path, group)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Scheme)) == before
    return exc.value.lines()


@pytest.fixture
def group(session):
    grp = Group(name="示例集团")
    session.add(grp)
    session.flush()
    session.add(Institution(group_id=grp.id, name="一分公司"))
    session.commit()
    return grp


# 1. A header that nearly names one of ours is refused; others are named as ignored.


def test_a_near_miss_manager_header_is_refused_naming_the_column_meant(session, tmp_path):
    headers = [*HEADERS[:5], "直接上级", HEADERS[6]]
    lines = refused(session, xlsx(tmp_path, STAFF, headers))
    assert lines[0] == (
        "Row 1, column 直接上级 (F): this is not a column we know; did you mean 直接上级工号? "
        "Name it 直接上级工号 (or remove the column) and import again"
    )
    assert counts(session)["Employee"] == 0


@pytest.mark.parametrize(
    ("header", "meant"),
    [("manager_id", "直接上级工号"), ("Manager No", "直接上级工号"), ("e-mail地址", "邮箱")],
)
def test_english_near_misses_are_refused_too(session, tmp_path, header, meant):
    headers = ["number", "name", "institution", "pay_base", header]
    rows = [["1001", "张伟", "一分公司", "9000", "x"]]
    lines = refused(session, csv_file(tmp_path, rows, headers, encoding="utf-8"))
    assert f"did you mean {meant}?" in lines[0]


def test_unrelated_extra_columns_are_named_as_ignored(session, tmp_path):
    headers = ["序号", *HEADERS, "备注", "入职日期"]
    rows = [[i, *r, "", dt.date(2020, 1, 1)] for i, r in enumerate(STAFF, start=1)]
    report = imported(session, xlsx(tmp_path, rows, headers))
    assert report.created == 4
    assert "Columns ignored (not ours): 序号 (A), 备注 (I), 入职日期 (J)." in report.lines()
    assert employee(session, "1003").manager.number == "1002"


def test_a_known_column_present_makes_its_lookalikes_plain_extras(session, tmp_path):
    # 直接上级工号 is there: a 直接上级姓名 beside it is HR's own, not a misspelling.
    headers = [*HEADERS, "直接上级姓名"]
    report = imported(session, xlsx(tmp_path, [[*r, ""] for r in STAFF], headers))
    assert report.created == 4
    assert "Columns ignored (not ours): 直接上级姓名 (H)." in report.lines()


def test_a_notes_column_in_the_indicator_sheet_is_no_near_miss(session, group, tmp_path):
    headers, rows = INDICATORS
    path = workbook(tmp_path, 指标=([*headers, "说明"], [[*r, "备注"] for r in rows]))
    report = import_scheme(session, NOW, path, group)
    assert "Sheet 指标: Columns ignored (not ours): 说明 (J)." in report.lines()


# 2. Traditional characters in headers and sheet names.


def traditional(text: str) -> str:
    back = {chr(s): chr(t) for t, s in _SIMPLIFIED.items()}
    return "".join(back.get(c, c) for c in text)


ALL_COLUMNS = [
    *org_importer.COLUMNS,
    *(c for _names, cols in scheme_importer.SHEETS.values() for c in cols),
]


def test_every_chinese_header_reads_in_traditional_characters():
    changed = 0
    for column in ALL_COLUMNS:
        for name in column.names:
            changed += traditional(name) != name
            assert canonical(traditional(name)) == canonical(name), name
    for _key, (names, _cols) in scheme_importer.SHEETS.items():
        assert canonical(traditional(names[0])) == canonical(names[0])
    assert changed > 40  # most headers do change


def test_traditional_characters_change_the_headers_they_are_tested_on():
    # Guard for the test above: the mapping really produces Traditional headers.
    assert traditional("员工编号") == "員工編號"
    assert traditional("直接上级工号") == "直接上級工號"
    assert traditional("绩效工资基数") == "績效工資基數"
    assert traditional("指标") == "指標"


def test_an_org_sheet_with_traditional_headers_imports_every_column(session, tmp_path):
    headers = ["員工編號", "姓名", "機構", "部門", "崗位", "直接上級工號", "績效工資基數"]
    headers += ["電子郵箱", "語言", "是否試點", "角色"]
    rows = [[*r, "", "", "", ""] for r in STAFF]
    rows[0][7:] = ["zw@example.com", "英文", "是", "一把手"]
    report = imported(session, xlsx(tmp_path, rows, headers))
    assert report.created == 4
    teller = employee(session, "1003")
    assert (teller.department.path, teller.position, teller.manager.number) == (
        "零售部/柜面组",
        "柜员",
        "1002",
    )
    head = employee(session, "1001")
    assert (head.email, head.language, head.pay_base) == ("zw@example.com", "en", Decimal(9000))
    assert head.institution.pilot is True
    assert head.institution.head_id == head.id


def test_a_scheme_with_traditional_sheet_names_and_headers_imports(session, group, tmp_path):
    sheets = {
        traditional(title): ([traditional(h) for h in headers], rows)
        for title, (headers, rows) in {
            "方案": SCHEME,
            "指标": INDICATORS,
            "考核人": ROLES,
            "等级": GRADES,
        }.items()
    }
    assert "指標" in sheets
    assert "等級" in sheets
    path = workbook(tmp_path, skip=("指标", "等级"), **sheets)
    report = import_scheme(session, NOW, path, group)
    assert (report.indicators, report.roles, report.grades) == (4, 3, 4)


# 3. Several sheets with data.


def months(tmp_path: Path, *, extra=None) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in (("11月", STAFF[:2]), ("12月", STAFF)):
        ws = wb.create_sheet(title)
        ws.append(HEADERS)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
    if extra:
        extra(wb)
    path = tmp_path / "months.xlsx"
    wb.save(path)
    return path


def test_several_sheets_with_data_are_refused_naming_them(session, tmp_path):
    lines = refused(session, months(tmp_path))
    assert lines[0] == (
        "Several sheets hold data: 11月, 12月. Say which one to read with --sheet, "
        "such as --sheet 11月"
    )


def test_the_sheet_named_is_read_and_the_report_says_which(session, tmp_path):
    report = imported(session, months(tmp_path), sheet="12月")
    assert numbers(session) == ["1001", "1002", "1003", "2001"]
    assert "Read sheet 12月." in report.lines()
    assert "Sheets not read: 11月." in report.lines()


def test_an_unknown_sheet_name_is_refused_listing_the_sheets(session, tmp_path):
    lines = refused(session, months(tmp_path), sheet="1月")
    assert lines[0] == "There is no sheet 1月; the sheets are: 11月, 12月"


def test_hidden_empty_and_notes_sheets_do_not_count_as_data(session, tmp_path):
    def extra(wb):
        wb["11月"].sheet_state = "hidden"
        wb.create_sheet("Sheet2")
        notes = wb.create_sheet("说明")
        notes.append(["表", "列名"])
        notes.append(["员工", "工号"])  # names our columns, yet is no data

    report = imported(session, months(tmp_path, extra=extra))
    assert numbers(session) == ["1001", "1002", "1003", "2001"]
    assert "Read sheet 12月." in report.lines()
    assert "Sheets not read: 11月 (hidden)." in report.lines()


def test_the_cli_takes_a_sheet(engine, session, tmp_path):
    from tests.test_import_org import _run

    path = months(tmp_path)
    result = _run(engine, "org", str(path), "--group", "示例集团")
    assert result.exit_code == 2
    assert "--sheet" in result.output
    result = _run(engine, "org", str(path), "--group", "示例集团", "--sheet", "11月")
    assert result.exit_code == 0, result.output
    assert "Read sheet 11月." in result.output
    session.expire_all()
    assert numbers(session) == ["1001", "1002"]


def test_an_extra_data_sheet_in_a_scheme_workbook_is_named_as_not_read(session, group, tmp_path):
    path = workbook(tmp_path, 旧指标=(INDICATORS[0], INDICATORS[1][:1]))
    report = import_scheme(session, NOW, path, group)
    assert "Sheets not read: 旧指标." in report.lines()


# 4. 工号 is text exactly as shown; leading zeros never make a second person silently.


def test_text_and_number_differing_in_leading_zeros_in_one_file_are_refused(session, tmp_path):
    rows = [
        ["000123", "张伟", "一分公司", "", "", "", 9000],
        [123, "刘洋", "一分公司", "", "", "", 6000],
    ]
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0].startswith(
        "Row 3, column 工号, value “123”: 工号 123 and 工号 000123 in row 2 differ only in "
        "leading zeros."
    )


@pytest.mark.parametrize(("first", "second"), [("000123", 123), (123, "000123")])
def test_a_reimport_differing_in_leading_zeros_is_refused(session, tmp_path, first, second):
    imported(session, xlsx(tmp_path, [[first, "张伟", "一分公司", "", "", "", 9000]]))
    stored = numbers(session)
    lines = refused(
        session, xlsx(tmp_path, [[second, "张伟", "一分公司", "", "", "", 9000]], name="b.xlsx")
    )
    assert f"stored employee {stored[0]} (张伟) has the same 工号 but for leading zeros" in lines[0]
    assert numbers(session) == stored


def test_a_zero_padded_number_format_reads_as_the_number_shown(session, tmp_path):
    imported(session, xlsx(tmp_path, [["000123", "张伟", "一分公司", "", "", "", 9000]]))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append([123, "张伟", "一分公司", None, None, None, 9500])
    ws["A2"].number_format = "000000"  # Excel shows 000123
    path = tmp_path / "padded.xlsx"
    wb.save(path)
    report = imported(session, path)
    assert (report.created, report.updated) == (0, 1)
    assert numbers(session) == ["000123"]
    assert employee(session, "000123").pay_base == Decimal(9500)


def test_a_manager_differing_in_leading_zeros_is_named_so(session, tmp_path):
    rows = [
        ["000123", "张伟", "一分公司", "", "", "", 9000],
        ["2", "刘洋", "一分公司", "", "", 123, 6000],
    ]
    lines = refused(session, xlsx(tmp_path, rows))
    assert "(but 000123 differs only in leading zeros)" in lines[0]


# 5. Date, time and yes/no cells where text belongs.


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        (0, EXCEL_DAY),
        (0, dt.time(8, 30)),
        (0, True),
        (1, EXCEL_DAY),
        (2, dt.date(2026, 1, 12)),
        (5, EXCEL_DAY),
        (6, EXCEL_DAY),
    ],
)
def test_a_date_or_boolean_cell_where_text_belongs_is_refused(session, tmp_path, column, cell):
    rows = [list(r) for r in STAFF]
    rows[2][column] = cell
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0].startswith(f"Row 4, column {HEADERS[column]}")
    assert ("date or time" in lines[0]) or ("TRUE/FALSE" in lines[0]) or "not a number" in lines[0]
    assert "00:00:00" not in "".join(numbers(session))


# 6. Totals rows.


def test_a_typed_totals_row_is_skipped_and_reported(session, tmp_path):
    rows = [*STAFF, ["", "合计", "", "", "", "", 27000]]
    report = imported(session, xlsx(tmp_path, rows))
    assert report.created == 4
    assert "Totals rows skipped: 6." in report.lines()
    assert numbers(session) == ["1001", "1002", "1003", "2001"]


def test_a_sum_formula_row_is_skipped_and_reported(session, tmp_path):
    rows = [*STAFF, ["", "", "", "", "", "", "=SUM(G2:G5)"], ["", "总 计", "", "", "", "", ""]]
    report = imported(session, xlsx(tmp_path, rows))
    assert report.created == 4
    assert "Totals rows skipped: 6, 7." in report.lines()


def as_saved_by_excel(path: Path, results: dict[str, str]) -> None:
    """Give formula cells the result Excel would have stored with them (openpyxl stores
    none): `results` maps a cell (G6) to its value."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in results.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*>(<f>[^<]*</f>))<v ?/>', rf"\1<v>{value}</v>", xml)
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_a_sum_row_saved_by_excel_with_its_result_is_skipped(session, tmp_path):
    rows = [*STAFF, ["", "", "", "", "", "", "=SUM(G2:G5)"]]
    path = xlsx(tmp_path, rows)
    as_saved_by_excel(path, {"G6": "27000"})
    report = imported(session, path)
    assert report.created == 4
    assert "Totals rows skipped: 6." in report.lines()


def test_a_persons_amount_computed_by_excel_is_read(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][6] = "=SUM(1000,2000)"
    path = xlsx(tmp_path, rows)
    as_saved_by_excel(path, {"G3": "3000"})
    imported(session, path)
    assert employee(session, "1002").pay_base == Decimal(3000)


def test_a_persons_row_with_a_sum_is_no_totals_row(session, tmp_path):
    # Skipping it would drop a person: the formula is read (here: never calculated).
    rows = [list(r) for r in STAFF]
    rows[1][6] = "=SUM(1000,2000)"
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0].startswith("Row 3, column 绩效工资基数")
    assert "never calculated" in lines[0]


def test_a_totals_word_beside_a_number_is_no_totals_row(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][4] = "合计"  # a position, however odd, on a row with a 工号
    report = imported(session, xlsx(tmp_path, rows))
    assert report.created == 4
    assert employee(session, "1002").position == "合计"


def test_a_totals_row_of_weights_in_a_scheme_is_skipped(session, group, tmp_path):
    headers, rows = INDICATORS
    total = ["", "合计", "", "=SUM(D2:D5)", "", "", "", "", ""]
    path = workbook(tmp_path, 指标=(headers, [*rows, total]))
    report = import_scheme(session, NOW, path, group)
    assert report.indicators == 4
    assert "Sheet 指标: Totals rows skipped: 6." in report.lines()


# 7. A duplicate column, hidden or not.


def test_a_hidden_duplicate_column_is_named_with_both_letters(session, tmp_path):
    path = xlsx(tmp_path, [[*r, r[6]] for r in STAFF], [*HEADERS, "绩效基数"])
    wb = openpyxl.load_workbook(path)
    wb.active.column_dimensions["H"].hidden = True
    wb.save(path)
    lines = refused(session, path)
    assert lines[0] == (
        "Row 1, column 绩效基数: this column appears twice: columns G and H (hidden: H)"
    )


# 9. File names keep their case.


def test_messages_keep_the_file_name_as_written(session, tmp_path):
    (tmp_path / "b15a_org.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    lines = refused(session, tmp_path / "b15a_org.xls")
    assert "b15a_org.xls" in lines[0]
    assert "B15a" not in "\n".join(lines)
    (tmp_path / "b15a_bad.xlsx").write_bytes(b"not a zip")
    assert "B15a" not in "\n".join(refused(session, tmp_path / "b15a_bad.xlsx"))


# 10. A CSV that has already lost characters.


@pytest.mark.parametrize(("column", "value"), [(1, "王?明"), (2, "一分公司\ufffd"), (3, "零售?部")])
def test_a_csv_that_lost_characters_is_refused_naming_the_row(session, tmp_path, column, value):
    rows = [[*r[:6], str(r[6])] for r in STAFF]
    rows[1][column] = value
    lines = refused(session, csv_file(tmp_path, rows, encoding="utf-8"))
    assert lines[0].startswith(f"Row 3, column {HEADERS[column]}")
    assert "character was lost" in lines[0]
    assert "CSV UTF-8" in lines[0]


# 11. Excel percentages for weights.


def percent_workbook(tmp_path: Path, fmt: str | None) -> Path:
    headers, rows = INDICATORS
    rows = [list(r) for r in rows]
    rows[0][3], rows[1][3] = 0.6, 0.4
    role_headers, role_rows = ROLES
    role_rows = [[r[0], r[1], w] for r, w in zip(role_rows, (0.7, 0.3, 0), strict=True)]
    path = workbook(tmp_path, 指标=(headers, rows), 考核人=(role_headers, role_rows))
    if fmt:
        wb = openpyxl.load_workbook(path)
        for ref in ("D2", "D3"):
            wb["指标"][ref].number_format = fmt
        for ref in ("C2", "C3", "C4"):
            wb["考核人"][ref].number_format = fmt
        wb.save(path)
    return path


@pytest.mark.parametrize("fmt", ["0%", "0.00%"])
def test_excel_percentage_weights_read_as_the_percent_shown(session, group, tmp_path, fmt):
    import_scheme(session, NOW, percent_workbook(tmp_path, fmt), group)
    weights = dict(session.execute(select(Indicator.code, Indicator.weight)).tuples().all())
    assert weights["perf"] == Decimal(60)
    assert weights["quality"] == Decimal(40)
    roles = dict(session.execute(select(ScorerRole.code, ScorerRole.weight)).tuples().all())
    assert roles == {"manager": Decimal(70), "head": Decimal(30), "self": Decimal(0)}


def test_fraction_weights_without_a_percent_format_are_refused_with_a_hint(
    session, group, tmp_path
):
    lines = scheme_refused(session, group, percent_workbook(tmp_path, None))
    assert "add up to 1.0, not 100 (weights look like fractions" in lines[0]
    assert "add up to 1.0, not 100 (weights look like fractions" in lines[1]


# 12. Progress while reading.


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_progress_is_told_of_every_row_read(session, tmp_path, kind):
    rows = [[str(1000 + i), f"员工{i}", "一分公司", "", "", "", 4000] for i in range(1203)]
    path = xlsx(tmp_path, rows) if kind == "xlsx" else csv_file(tmp_path, rows)
    told: list[int] = []
    import_org(session, NOW, path, group="示例集团", progress=told.append)
    assert sum(told) == 1204  # the header row too
    assert len(told) >= 3  # in steps, not once at the end


# Of the same kind: formula errors, uncalculated formulas, blank-looking cells, hidden rows.


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_formula_error_is_refused_naming_the_cell(session, tmp_path, kind):
    rows = [list(r) for r in STAFF]
    rows[1][6] = "#REF!"
    lines = refused(session, xlsx(tmp_path, rows) if kind == "xlsx" else csv_file(tmp_path, rows))
    assert lines[0].startswith("Row 3, column 绩效工资基数, value “#REF!”: shows the error #REF!")


def test_an_uncalculated_formula_is_refused(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][6] = "=F2*2"
    lines = refused(session, xlsx(tmp_path, rows))
    assert "never calculated" in lines[0]
    assert lines[0].startswith("Row 3, column 绩效工资基数")


def test_a_whitespace_only_name_is_empty(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][1] = "\u3000 \u00a0"
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0].startswith("Row 3, column 姓名")
    assert lines[0].endswith(": is required but empty")


def test_full_width_digits_in_a_number_match_the_stored_employee(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    rows = [list(r) for r in STAFF]
    rows[0][0] = "１００１"
    rows[0][6] = 9100
    report = imported(session, xlsx(tmp_path, rows, name="b.xlsx"))
    assert (report.created, report.updated) == (0, 1)
    assert employee(session, "1001").pay_base == Decimal(9100)


def test_a_hidden_column_of_ours_is_read_and_named(session, tmp_path):
    path = xlsx(tmp_path, STAFF)
    wb = openpyxl.load_workbook(path)
    wb.active.column_dimensions["F"].hidden = True
    wb.save(path)
    report = imported(session, path)
    assert "Hidden columns were read like the others: 直接上级工号 (F)." in report.lines()
    assert employee(session, "1003").manager.number == "1002"


def test_hidden_rows_are_read_and_named(session, tmp_path):
    path = xlsx(tmp_path, STAFF)
    wb = openpyxl.load_workbook(path)
    wb.active.row_dimensions[3].hidden = True
    wb.save(path)
    report = imported(session, path)
    assert report.created == 4
    assert "Hidden rows were read like the others: 3." in report.lines()


def test_a_merged_title_above_the_header_is_passed_over(session, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年11月员工花名册"])
    ws.merge_cells("A1:G1")
    ws.append(HEADERS)
    for row in STAFF:
        ws.append([None if v == "" else v for v in row])
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    report = imported(session, path)
    assert report.created == 4
    assert employee(session, "1003").department.path == "零售部/柜面组"


def test_the_cli_shows_rows_read_when_output_is_a_log(engine, session, tmp_path, monkeypatch):
    import functools
    import io

    from bot.cli import imports as cli_imports
    from bot.cli.meter import meter
    from tests.test_import_org import _run

    log = io.StringIO()
    monkeypatch.setattr(cli_imports, "meter", functools.partial(meter, stream=log, every=0))
    rows = [[str(1000 + i), f"员工{i}", "一分公司", "", "", "", 4000] for i in range(1200)]
    result = _run(engine, "org", str(csv_file(tmp_path, rows)), "--group", "示例集团")
    assert result.exit_code == 0, result.output
    lines = log.getvalue().splitlines()
    assert lines[:3] == [
        "Reading rows: 1 of 1201",
        "Reading rows: 501 of 1201",
        "Reading rows: 1001 of 1201",
    ]
    assert lines[-1] == "Reading rows: 1201 of 1201"


def test_the_row_count_for_the_bar_is_the_sheet_read(tmp_path):
    from bot.importing.table import row_count

    templates = Path(__file__).resolve().parent.parent / "docs" / "templates"
    assert row_count(templates / "org_example.xlsx") == 13  # 说明 aside
    assert row_count(templates / "org_example_gb18030.csv") == 13
    assert row_count(months(tmp_path), "11月") == 3
    assert row_count(tmp_path / "missing.xlsx") is None


def test_a_date_in_the_group_column_is_refused(session, tmp_path):
    rows = [[EXCEL_DAY, *r] for r in STAFF]
    lines = refused(session, xlsx(tmp_path, rows, ["集团", *HEADERS]), group=None)
    assert lines[0].startswith("Row 2, column 集团")
    assert "date or time" in lines[0]
    assert counts(session)["Group"] == 0


def test_a_date_as_an_indicator_name_is_refused(session, group, tmp_path):
    headers, rows = INDICATORS
    rows = [list(r) for r in rows]
    rows[0][1] = EXCEL_DAY
    lines = scheme_refused(session, group, workbook(tmp_path, 指标=(headers, rows)))
    assert lines[0].startswith("Sheet 指标, row 2, column 指标名称")
    assert "date or time" in lines[0]


def test_an_institution_merged_down_its_rows_reads_on_every_row(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][2] = rows[2][2] = ""  # Excel keeps a merged value in its first cell only
    path = xlsx(tmp_path, rows)
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("C2:C4")
    wb.save(path)
    report = imported(session, path)
    assert report.created == 4
    assert {employee(session, n).institution.name for n in ("1001", "1002", "1003")} == {"一分公司"}
    assert employee(session, "2001").institution.name == "二分公司"


def test_a_number_too_long_for_excel_is_refused(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][0] = 110101199001011234  # an 18-digit number Excel has rounded
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0].startswith("Row 3, column 工号")
    assert "too long for Excel" in lines[0]


def test_a_number_with_a_space_inside_is_refused(session, tmp_path):
    rows = [list(r) for r in STAFF]
    rows[1][0] = "10 02"
    lines = refused(session, xlsx(tmp_path, rows))
    assert (
        lines[0]
        == "Row 3, column 工号, value “10 02”: has a space inside: a code is written without spaces"
    )


def test_a_utf16_csv_as_excel_saves_unicode_text_imports(session, tmp_path):
    rows = [[*r[:6], str(r[6])] for r in STAFF]
    report = imported(session, csv_file(tmp_path, rows, encoding="utf-16"))
    assert report.created == 4
    assert employee(session, "1003").name == "陈静"
