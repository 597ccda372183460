"""`import org`: the org spreadsheet becomes institutions, departments, employees and
roles, all or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.importing import ImportRefused, import_org
from bot.infra import i18n
from models import AuditEvent, Department, Employee, Group, Institution, Role, RoleGrant

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HEADERS = ["工号", "姓名", "机构", "部门", "岗位", "直接上级工号", "绩效工资基数"]
STAFF = [
    ["1001", "张伟", "一分公司", "", "总经理", "", 9000],
    ["1002", "刘洋", "一分公司", "零售部", "部门经理", "1001", 6000],
    ["1003", "陈静", "一分公司", "零售部/柜面组", "柜员", "1002", 4000],
    ["2001", "孙涛", "二分公司", "营业部", "总经理", "", 8000],
]


@pytest.fixture(autouse=True)
def _english():
    """Reports are asserted in English, the source language."""
    with i18n.using("en"):
        yield


def xlsx(tmp_path: Path, rows, headers=HEADERS, name="org.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([None if v == "" else v for v in row])
    path = tmp_path / name
    wb.save(path)
    return path


def csv_file(tmp_path: Path, rows, headers=HEADERS, encoding="gb18030", name="org.csv") -> Path:
    path = tmp_path / name
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def counts(session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Group, Institution, Department, Employee, RoleGrant, AuditEvent)
    }


def imported(session, path, **options):
    report = import_org(session, NOW, path, group=options.pop("group", "示例集团"), **options)
    session.commit()
    return report


def refused(session, path, **options) -> list[str]:
    """Import `path` expecting a refusal; nothing may have been written, not even flushed."""
    before = counts(session)
    with pytest.raises(ImportRefused) as exc:
        import_org(session, NOW, path, group=options.pop("group", "示例集团"), **options)
    assert counts(session) == before
    session.rollback()
    assert counts(session) == before
    return exc.value.lines()


def employee(session, number: str) -> Employee:
    return session.scalar(select(Employee).where(Employee.number == number))


def test_an_xlsx_with_the_chinese_headers_imports(session, tmp_path):
    headers = [*HEADERS, "邮箱", "语言", "是否试点", "角色"]
    rows = [
        [*STAFF[0], "zw@example.com", "中文", "是", "一把手"],
        [*STAFF[1], "", "英文", "", "人力"],
        [*STAFF[2], "", "", "", ""],
        [*STAFF[3], "", "", "否", "一把手, 集团领导"],
    ]
    report = imported(session, xlsx(tmp_path, rows, headers))

    assert (report.created, report.updated, report.unchanged, report.deactivated) == (4, 0, 0, 0)
    assert report.institutions_created == 2
    assert report.departments_created == 3
    one = session.scalar(select(Institution).where(Institution.name == "一分公司"))
    two = session.scalar(select(Institution).where(Institution.name == "二分公司"))
    assert one.pilot is True
    assert two.pilot is False
    head, manager, teller = (employee(session, n) for n in ("1001", "1002", "1003"))
    assert one.head_id == head.id
    assert two.head_id == employee(session, "2001").id
    assert teller.manager_id == manager.id
    assert manager.manager_id == head.id
    assert head.manager_id is None
    assert teller.pay_base == Decimal(4000)
    assert teller.department.path == "零售部/柜面组"
    assert teller.department.name == "柜面组"
    assert teller.department.parent.path == "零售部"
    assert head.department_id is None
    assert head.email == "zw@example.com"
    assert manager.language == "en"
    assert head.language == "zh_CN"
    grants = {
        (g.employee.number, Role(g.role), g.institution_id)
        for g in session.scalars(select(RoleGrant))
    }
    assert grants == {
        ("1001", Role.HEAD, one.id),
        ("1002", Role.HR, one.id),
        ("2001", Role.HEAD, two.id),
        ("2001", Role.LEADERSHIP, None),
    }
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import.org"))
    assert event.actor_label == "import"
    assert event.after["created"] == 4
    assert event.after["updated"] == 0


def test_a_gb18030_csv_with_the_chinese_headers_imports(session, tmp_path):
    rows = [[*r[:6], str(r[6])] for r in STAFF]
    rows[2][1] = "陈喆"  # outside GB2312: GB18030 (and GBK) carry it
    path = csv_file(tmp_path, rows, encoding="gb18030")
    assert path.read_bytes().decode("gb18030")  # written as Excel in China writes it
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    report = imported(session, path)

    assert report.created == 4
    assert employee(session, "1003").name == "陈喆"
    assert employee(session, "1003").department.path == "零售部/柜面组"


def test_a_utf8_csv_with_a_bom_and_english_headers_imports(session, tmp_path):
    headers = ["number", "name", "institution", "department", "position", "manager_number"]
    headers.append("Pay Base")
    path = csv_file(tmp_path, STAFF, headers=headers, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = imported(session, path)

    assert report.created == 4
    assert employee(session, "1001").name == "张伟"


def test_a_utf8_csv_without_a_bom_imports(session, tmp_path):
    report = imported(session, csv_file(tmp_path, STAFF, encoding="utf-8"))
    assert report.created == 4


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("  4000  ", Decimal("4000")),
        ("４０００", Decimal("4000")),
        ("4,000.00", Decimal("4000.00")),
        ("¥4000", Decimal("4000")),
        ("￥4,000", Decimal("4000")),
        (4000.5, Decimal("4000.5")),
        (4000.1, Decimal("4000.1")),
    ],
)
def test_pay_base_cells_read_as_exact_amounts(session, tmp_path, cell, expected):
    rows = [["1001", "张伟", "一分公司", "", "", "", cell]]
    imported(session, xlsx(tmp_path, rows))
    assert employee(session, "1001").pay_base == expected
    assert str(employee(session, "1001").pay_base) == str(expected)


@pytest.mark.parametrize("cell", [10023, 10023.0, "10023", " 10023 ", "１００２３", "10023.0"])
def test_a_number_as_excel_stores_it_is_the_same_number(session, tmp_path, cell):
    rows = [
        [cell, "张伟", "一分公司", "", "", "", 5000],
        ["1002", "刘洋", "一分公司", "", "", cell, 1],
    ]
    imported(session, xlsx(tmp_path, rows))
    boss = employee(session, "10023")
    assert boss is not None
    assert employee(session, "1002").manager_id == boss.id


def test_surrounding_spaces_are_trimmed(session, tmp_path):
    rows = [[" 1001 ", "\u3000张伟 ", " 一分公司", " 零售部 / 柜面组 ", " 柜员 ", "", " 5000 "]]
    imported(session, xlsx(tmp_path, rows))
    e = employee(session, "1001")
    assert (e.name, e.institution.name, e.department.path, e.position) == (
        "张伟",
        "一分公司",
        "零售部/柜面组",
        "柜员",
    )


def test_empty_rows_are_skipped_and_rows_keep_the_numbers_excel_shows(session, tmp_path):
    path = xlsx(tmp_path, [STAFF[0], ["", "", "", "", "", "", ""], STAFF[1]])
    assert imported(session, path).created == 2

    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["G5"] = "lots"  # row 4 stays empty; this is row 5 in Excel
    ws["A5"] = "1009"
    ws["B5"] = "某人"
    ws["C5"] = "一分公司"
    wb.save(path)
    lines = refused(session, path)
    assert lines[0] == "Row 5, column 绩效工资基数, value “lots”: is not a number"


def test_a_header_row_may_sit_below_a_title(session, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["员工信息表（2026 年 11 月）"])
    ws.append(HEADERS)
    ws.append(STAFF[0])
    wb.save(tmp_path / "titled.xlsx")
    assert imported(session, tmp_path / "titled.xlsx").created == 1


def test_reimporting_the_same_file_changes_nothing(session, tmp_path):
    headers = [*HEADERS, "是否试点", "角色"]
    rows = [[*STAFF[0], "是", "一把手"], [*STAFF[1], "", "人力"], STAFF[2] + ["", ""]]
    path = xlsx(tmp_path, rows, headers)
    imported(session, path)
    before = counts(session)

    report = imported(session, path)

    assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 0, 3, 0)
    after = counts(session)
    assert after.pop("AuditEvent") == before.pop("AuditEvent") + 1  # the import itself
    assert after == before
    assert "0 created, 0 updated, 3 unchanged, 0 deactivated" in report.lines()[0]


def test_reimport_updates_by_number_and_audits_what_changed(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    changed = [list(r) for r in STAFF]
    changed[2][6] = "4,500.00"
    changed[2][3] = "零售部/大堂组"
    changed[3][5] = "1001"
    report = imported(session, xlsx(tmp_path, changed, name="changed.xlsx"))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    teller = employee(session, "1003")
    assert teller.pay_base == Decimal("4500.00")
    assert teller.department.path == "零售部/大堂组"
    assert employee(session, "2001").manager_id == employee(session, "1001").id
    event = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "employee.update", AuditEvent.entity_id == teller.id
        )
    )
    assert event.before == {"department_id": "零售部/柜面组", "pay_base": "4000"}
    assert event.after == {"department_id": "零售部/大堂组", "pay_base": "4500.00"}
    moved = session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "employee.update",
            AuditEvent.entity_id == employee(session, "2001").id,
        )
    )
    assert moved.before == {"manager_id": None}
    assert moved.after == {"manager_id": "1001"}


def test_missing_employees_stay_active_without_deactivate_missing(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    report = imported(session, xlsx(tmp_path, STAFF[:3], name="fewer.xlsx"))
    assert (report.deactivated, report.missing) == (0, 1)
    assert employee(session, "2001").active is True
    assert "--deactivate-missing" in report.lines()[-1]


def test_deactivate_missing_deactivates_those_not_in_the_file(session, tmp_path):
    headers = [*HEADERS, "角色"]
    imported(
        session, xlsx(tmp_path, [[*r, "一把手" if r[0] == "2001" else ""] for r in STAFF], headers)
    )
    report = imported(
        session, xlsx(tmp_path, STAFF[:3], name="fewer.xlsx"), deactivate_missing=True
    )
    assert (report.created, report.updated, report.unchanged, report.deactivated) == (0, 0, 3, 1)
    gone = employee(session, "2001")
    assert gone.active is False
    assert session.scalar(select(Institution.head_id).where(Institution.name == "二分公司")) is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "employee.deactivate"))
    assert event.entity_id == gone.id

    report = imported(session, xlsx(tmp_path, STAFF, name="all.xlsx"))
    assert (report.updated, employee(session, "2001").active) == (1, True)


def test_roles_in_the_file_replace_the_stored_ones(session, tmp_path):
    headers = [*HEADERS, "角色"]
    imported(session, xlsx(tmp_path, [[*STAFF[0], "一把手"], [*STAFF[1], "人力"]], headers))
    report = imported(
        session, xlsx(tmp_path, [[*STAFF[0], ""], [*STAFF[1], "一把手"]], headers, "new.xlsx")
    )
    assert report.updated == 2
    one = session.scalar(select(Institution).where(Institution.name == "一分公司"))
    assert one.head_id == employee(session, "1002").id
    grants = {(g.employee.number, Role(g.role)) for g in session.scalars(select(RoleGrant))}
    assert grants == {("1002", Role.HEAD)}


def test_a_file_without_a_group_needs_one_named(session, tmp_path):
    with pytest.raises(ImportRefused) as exc:
        import_org(session, NOW, xlsx(tmp_path, STAFF))
    assert exc.value.lines()[0].startswith("No group yet")
    report = import_org(session, NOW, xlsx(tmp_path, [["示例集团", *STAFF[0]]], ["集团", *HEADERS]))
    assert (report.group, report.group_created) == ("示例集团", True)


# Every refusal below writes nothing: `refused` counts the rows before and after.


def test_it_refuses_missing_columns(session, tmp_path):
    headers = ["工号", "机构", "部门"]
    lines = refused(session, xlsx(tmp_path, [["1001", "一分公司", ""]], headers))
    assert lines[:-1] == [
        "Required column 姓名 is missing",
        "Required column 绩效工资基数 is missing",
    ]
    assert lines[-1] == "Nothing was imported: 2 problems found."


def test_it_refuses_duplicate_numbers(session, tmp_path):
    rows = [STAFF[0], STAFF[1], [*STAFF[2][:0], "1001", *STAFF[2][1:]]]
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0] == "Row 4, column 工号, value “1001”: the same 工号 is already in row 2"


def test_it_refuses_duplicate_numbers_written_differently(session, tmp_path):
    rows = [STAFF[0], ["１００１", *STAFF[1][1:]]]
    lines = refused(session, xlsx(tmp_path, rows))
    assert "the same 工号 is already in row 2" in lines[0]


def test_it_refuses_unknown_managers(session, tmp_path):
    rows = [STAFF[0], [*STAFF[1][:5], "9999", 6000]]
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[0] == (
        "Row 3, column 直接上级工号, value “9999”: "
        "no employee has this 工号, in the file or already stored"
    )


def test_a_manager_already_stored_need_not_be_in_the_file(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    report = imported(
        session, xlsx(tmp_path, [["3001", "新人", "二分公司", "", "", "2001", 1]], name="b.xlsx")
    )
    assert employee(session, "3001").manager_id == employee(session, "2001").id
    assert report.created == 1


def test_it_refuses_a_stored_manager_about_to_be_deactivated(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    rows = [["3001", "新人", "二分公司", "", "", "2001", 1]]
    lines = refused(session, xlsx(tmp_path, rows, name="b.xlsx"), deactivate_missing=True)
    assert "would be deactivated" in lines[0]


def test_it_refuses_cyclic_managers(session, tmp_path):
    rows = [
        ["1001", "甲", "一分公司", "", "", "1002", 1],
        ["1002", "乙", "一分公司", "", "", "1001", 1],
        ["1003", "丙", "一分公司", "", "", "1001", 1],
    ]
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines[:-1] == [
        "Row 2, column 直接上级工号, value “1002”: "
        "managers go round in a circle: 1001 → 1002 → 1001",
        "Row 3, column 直接上级工号, value “1001”: "
        "managers go round in a circle: 1001 → 1002 → 1001",
    ]


def test_it_refuses_a_cycle_closed_through_a_stored_employee(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))  # 1003 → 1002 → 1001
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:5], "1003", 9000]], name="b.xlsx"))
    assert "managers go round in a circle: 1001 → 1003 → 1002 → 1001" in lines[0]


def test_it_refuses_an_employee_managing_themself(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:5], "1001", 1]]))
    assert lines[0].endswith("an employee cannot be their own manager")


def test_it_refuses_a_negative_pay_base(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:6], -100]]))
    assert lines[0] == (
        "Row 2, column 绩效工资基数, value “-100”: is negative: a pay base is zero or more"
    )


def test_it_refuses_a_non_numeric_pay_base(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:6], "四千"]]))
    assert lines[0] == "Row 2, column 绩效工资基数, value “四千”: is not a number"


def test_it_refuses_an_empty_pay_base(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:6], ""]]))
    assert lines[0] == "Row 2, column 绩效工资基数: is required but empty"


def test_it_refuses_a_pay_base_in_fractions_of_a_fen(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:6], "4000.005"]]))
    assert "more than two decimal places" in lines[0]


def test_it_refuses_an_unreadable_department_path(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0][:3], "零售部//柜面组", "", "", 1]]))
    assert lines[0].startswith("Row 2, column 部门, value “零售部//柜面组”: has an empty level")


def test_it_refuses_two_heads_for_one_institution(session, tmp_path):
    headers = [*HEADERS, "角色"]
    rows = [[*STAFF[0], "一把手"], [*STAFF[1], "head"]]
    lines = refused(session, xlsx(tmp_path, rows, headers))
    assert lines[0] == "Row 3, column 角色: institution 一分公司 already has its head in row 2"


def test_it_refuses_unknown_roles(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0], "老板"]], [*HEADERS, "角色"]))
    assert "“老板” is not a role" in lines[0]


def test_it_refuses_conflicting_pilot_flags(session, tmp_path):
    rows = [[*STAFF[0], "是"], [*STAFF[1], "否"]]
    lines = refused(session, xlsx(tmp_path, rows, [*HEADERS, "是否试点"]))
    assert (
        lines[0]
        == "Row 3, column 是否试点, value “否”: row 2 says otherwise for institution 一分公司"
    )


def test_it_refuses_an_unknown_language(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, [[*STAFF[0], "法语"]], [*HEADERS, "语言"]))
    assert "is not a language we speak" in lines[0]


def test_it_refuses_an_empty_file(session, tmp_path):
    lines = refused(session, xlsx(tmp_path, []), deactivate_missing=True)
    assert lines == [
        "Sheet Sheet: the file has no employee rows below its header (row 1)",
        "Nothing was imported: 1 problem found.",
    ]


def test_a_header_only_file_without_a_group_says_only_that_it_has_no_rows(session, tmp_path):
    # The 集团 column is there: "no group yet" would send HR after the wrong problem.
    path = csv_file(tmp_path, [], headers=["集团", *HEADERS])
    lines = refused(session, path, group=None)
    assert lines == [
        "The file has no employee rows below its header (row 1)",
        "Nothing was imported: 1 problem found.",
    ]


def test_it_refuses_a_file_it_cannot_read(session, tmp_path):
    (tmp_path / "org.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert "only .xlsx and .csv" in refused(session, tmp_path / "org.xls")[0]
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    assert "is not an .xlsx workbook" in refused(session, tmp_path / "bad.xlsx")[0]
    assert "does not exist" in refused(session, tmp_path / "none.csv")[0]


def test_it_lists_every_bad_row_and_writes_none(session, tmp_path):
    rows = [
        STAFF[0],
        ["1002", "", "一分公司", "", "", "", "abc"],
        STAFF[1],
        ["", "某人", "一分公司", "", "", "", -1],
    ]
    lines = refused(session, xlsx(tmp_path, rows))
    assert lines == [
        "Row 3, column 姓名: is required but empty",
        "Row 3, column 绩效工资基数, value “abc”: is not a number",
        "Row 5, column 工号: is required but empty",
        "Row 5, column 绩效工资基数, value “-1”: is negative: a pay base is zero or more",
        "Nothing was imported: 4 problems found.",
    ]


def test_a_refused_import_into_an_existing_org_changes_nothing(session, tmp_path):
    imported(session, xlsx(tmp_path, STAFF))
    rows = [[*STAFF[0][:6], 1], STAFF[1], ["1009", "新人", "三分公司", "新部门", "", "1001", "x"]]
    refused(session, xlsx(tmp_path, rows, name="b.xlsx"), deactivate_missing=True)
    assert employee(session, "1001").pay_base == Decimal(9000)
    assert employee(session, "2001").active is True


# The command line: one line per problem on stderr, exit status 2.


def _run(engine, *args: str):
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, "--lang", "en", "import", *args])


def test_the_cli_imports_and_reports_the_counts(engine, session, tmp_path):
    result = _run(engine, "org", str(xlsx(tmp_path, STAFF)), "--group", "示例集团")
    assert result.exit_code == 0, result.output
    assert "4 created, 0 updated, 0 unchanged, 0 deactivated" in result.stdout
    assert counts(session)["Employee"] == 4

    result = _run(engine, "org", str(xlsx(tmp_path, STAFF)))
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 4 unchanged, 0 deactivated" in result.stdout


def test_the_cli_prints_one_line_per_problem_and_exits_2(engine, session, tmp_path):
    rows = [STAFF[0], [*STAFF[1][:6], "abc"], [*STAFF[2][:6], -5]]
    result = _run(engine, "org", str(xlsx(tmp_path, rows)), "--group", "示例集团")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Row 3, column 绩效工资基数, value “abc”: is not a number",
        "Row 4, column 绩效工资基数, value “-5”: is negative: a pay base is zero or more",
        "Nothing was imported: 2 problems found.",
    ]
    assert counts(session)["Employee"] == 0
    assert counts(session)["Group"] == 0


@pytest.mark.parametrize("name", ["org_example.xlsx", "org_example_gb18030.csv"])
def test_the_examples_in_the_docs_import_alike(session, name):
    templates = Path(__file__).resolve().parent.parent / "docs" / "templates"
    report = import_org(session, NOW, templates / name)
    assert (report.group, report.created, report.institutions_created) == ("示例集团", 12, 3)
    one = session.scalar(select(Institution).where(Institution.name == "一分公司"))
    assert one.pilot is True
    assert one.head.number == "20001"
    assert employee(session, "20005").pay_base == Decimal("4000.5")
    assert employee(session, "20005").language == "en"
    with pytest.raises(ImportRefused):  # the blank template has no rows
        import_org(session, NOW, templates / "org_template.xlsx", group="示例集团")


@pytest.mark.parametrize("name", ["org_example.xlsx", "org_example_gb18030.csv"])
def test_the_examples_make_a_period_where_every_appraisee_has_a_weighted_scorer(session, name):
    from bot.appraisal.periods import open_period
    from bot.importing import import_scheme
    from models import ScorerRole, ScoringTask

    templates = Path(__file__).resolve().parent.parent / "docs" / "templates"
    import_org(session, NOW, templates / name)
    group = session.scalar(select(Group))
    import_scheme(session, NOW, templates / "scheme_example.xlsx", group)
    period, _count = open_period(session, NOW, group=group, label="2026-11", scheme_code="STD")
    weight = dict(
        session.execute(
            select(ScorerRole.code, ScorerRole.weight).where(
                ScorerRole.scheme_id == period.scheme_id
            )
        )
        .tuples()
        .all()
    )
    weighted: dict[int, int] = {}
    for appraisee, role in session.execute(
        select(ScoringTask.appraisee_id, ScoringTask.role_code).where(
            ScoringTask.period_id == period.id
        )
    ).tuples():
        weighted.setdefault(appraisee, 0)
        weighted[appraisee] += weight[role] > 0
    everyone = set(session.scalars(select(Employee.id).where(Employee.active.is_(True))))
    assert set(weighted) == everyone
    assert [n for n, k in weighted.items() if k == 0] == []


def test_the_org_template_notes_state_the_number_rule():
    templates = Path(__file__).resolve().parent.parent / "docs" / "templates"
    for name in ("org_template.xlsx", "org_example.xlsx"):
        notes = openpyxl.load_workbook(templates / name)["说明"]
        text = "\n".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)
        assert "000123 与 123" in text
        assert "--sheet" in text


def test_reports_listed_before_their_managers_get_them(session, tmp_path):
    # New people's ids are taken before the insert so each row carries its manager at
    # once: the order of the file must not matter, at any depth.
    chain = [
        ["4004", "赵四", "一分公司", "", "柜员", "4003", 4000],
        ["4003", "钱三", "一分公司", "", "组长", "4002", 5000],
        ["4002", "孙二", "一分公司", "", "经理", "4001", 6000],
        ["4001", "李一", "一分公司", "", "总经理", "", 9000],
    ]
    imported(session, xlsx(tmp_path, chain))
    for number, manager in (("4004", "4003"), ("4003", "4002"), ("4002", "4001")):
        assert employee(session, number).manager_id == employee(session, manager).id
    assert employee(session, "4001").manager_id is None

    # Later: new people beside the stored ones, their manager new too and listed last.
    more = [
        *chain,
        ["4006", "周六", "二分公司", "", "柜员", "4005", 4000],
        ["4007", "吴七", "一分公司", "", "柜员", "4004", 4000],
        ["4005", "郑五", "二分公司", "", "总经理", "4001", 9000],
    ]
    report = imported(session, xlsx(tmp_path, more, name="more.xlsx"))
    assert (report.created, report.unchanged) == (3, 4)
    assert employee(session, "4006").manager_id == employee(session, "4005").id
    assert employee(session, "4005").manager_id == employee(session, "4001").id
    assert employee(session, "4007").manager_id == employee(session, "4004").id
    ids = session.scalars(select(Employee.id)).all()
    assert len(ids) == len(set(ids)) == 7
    new = employee(session, "4006")
    assert (new.active, new.on_leave, new.pay_base) == (True, False, Decimal("4000"))


def test_an_import_that_changes_many_people_audits_each_and_keeps_the_chain(session, tmp_path):
    from bot.appraisal.audit_verify import verify

    imported(session, xlsx(tmp_path, STAFF))
    raised = [[*r[:6], int(r[6]) + 100] for r in STAFF]
    imported(session, xlsx(tmp_path, raised, name="raised.xlsx"))
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "employee.update").order_by(AuditEvent.id)
    ).all()
    assert [e.entity_id for e in events] == [employee(session, r[0]).id for r in STAFF]
    assert all(e.seq is not None and e.pending is None for e in events)
    last = session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert last.action == "import.org"  # after the people it speaks for
    verdict = verify(session)
    assert verdict.intact, verdict.chain + verdict.rows
