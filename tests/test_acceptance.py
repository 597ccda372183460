"""The acceptance check (验收) end to end on the README's example: finalize, export, check
what payroll paid; the shipped example payroll file fails naming the one person, the
corrected file passes; hostile files are refused whole with every bad row named."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import AcceptanceCheck, AuditEvent, Employee
from tests.chat_helpers import Chat, bind
from tests.paysheet_helpers import cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "docs" / "templates"
# A day inside the example period, before its deadline (2027-01-07).
MOMENT = dt.datetime(2026, 12, 21, 2, tzinfo=dt.UTC)
# After the objection window of a period published at MOMENT (five workdays: to 12-28).
AFTER_WINDOW = dt.datetime(2026, 12, 29, 2, tzinfo=dt.UTC)
# The command line's clock: MOMENT, until a test moves it past the window.
CLOCK = [MOMENT]


@pytest.fixture
def clock(monkeypatch, tmp_path):
    """The command line's clock pinned inside the example period; files by default in
    the test's own export folder."""
    from bot.infra.settings import get_settings

    CLOCK[0] = MOMENT
    monkeypatch.setattr("bot.cli.common.utc_now", lambda: CLOCK[0])
    monkeypatch.setattr("bot.infra.workdays.utc_now", lambda: CLOCK[0])
    monkeypatch.setenv("EXPORT_DIR", str(tmp_path / "exports"))
    get_settings.cache_clear()
    yield MOMENT
    get_settings.cache_clear()


def run_ok(engine, *args, lang="zh_CN", code=0):
    done = cli(engine, *args, lang=lang)
    assert done.exit_code == code, (args, done.output)
    return done


def example_published(engine, *publish: str) -> None:
    """The README's For HR sequence up to publication."""
    run_ok(engine, "import", "org", str(TEMPLATES / "org_example.xlsx"))
    run_ok(engine, "import", "scheme", str(TEMPLATES / "scheme_example.xlsx"))
    run_ok(engine, "period", "open", "2026-12", "--scheme", "STD", "--deadline", "2027-01-07")
    run_ok(engine, "import", "scores", "2026-12", str(TEMPLATES / "scores_example.xlsx"))
    run_ok(engine, "period", "close", "2026-12")
    run_ok(engine, "results", "compute", "2026-12")
    run_ok(engine, "period", "publish", "2026-12", *publish)


def example_final(engine) -> None:
    example_published(engine)
    CLOCK[0] = AFTER_WINDOW  # finalize once the objection window has closed
    run_ok(engine, "period", "finalize", "2026-12")


def corrected(tmp_path: Path) -> Path:
    """The example payroll file with 赵敏's amount put right."""
    wb = load_workbook(TEMPLATES / "payroll_example.xlsx")
    ws = wb.worksheets[0]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "20005":
            row[3].value = Decimal("4000.50")
    path = tmp_path / "payroll_fixed.xlsx"
    wb.save(path)
    return path


def test_the_example_payroll_fails_naming_the_one_person_and_the_corrected_one_passes(
    engine, Session, tmp_path, clock
):
    example_final(engine)
    sheet = tmp_path / "pay.xlsx"
    run_ok(engine, "export", "pay", "2026-12", "--output", str(sheet))
    report = tmp_path / "report.xlsx"
    failed = run_ok(
        engine,
        "acceptance",
        "check",
        "2026-12",
        "--payroll",
        str(TEMPLATES / "payroll_example.xlsx"),
        "--xlsx",
        str(report),
        lang="en",
        code=1,
    )
    out = failed.stdout
    assert "2026-12" in out
    assert ": FAIL" in out
    assert "一分公司 · FAIL · 7 · 7 · 1 · 0 · 0 · CN¥35,300.50 · CN¥35,300.00" in out
    assert "二分公司 · PASS · 3 · 3 · 0 · 0 · 0 · CN¥18,800.00 · CN¥18,800.00" in out
    assert "集团本部 · PASS · 2 · 2 · 0 · 0 · 0 · CN¥16,800.00 · CN¥16,800.00" in out
    assert "mismatch: 20005 赵敏, system CN¥4,000.50, paid CN¥4,000.00, difference -CN¥0.50" in out
    # Only she is named among the people.
    for number in ("10001", "20001", "20004", "30003"):
        assert number not in out
    summary, differences = load_workbook(report).worksheets
    rows = list(summary.iter_rows(values_only=True))
    assert rows[0][:2] == ("Institution", "Result")
    assert [r[:2] for r in rows[1:]] == [
        ("一分公司", "FAIL"),
        ("二分公司", "PASS"),
        ("集团本部", "PASS"),
    ]
    (line,) = list(differences.iter_rows(min_row=2, values_only=True))
    assert line[:4] == ("一分公司", "mismatch", "20005", "赵敏")
    assert [Decimal(str(x)) for x in line[4:]] == [
        Decimal("4000.5"),
        Decimal(4000),
        Decimal("-0.5"),
    ]
    assert summary.freeze_panes == "A2"

    fixed = run_ok(engine, "acceptance", "check", "2026-12", "--payroll", str(corrected(tmp_path)))
    assert "通过" in fixed.stdout
    assert "未通过" not in fixed.stdout
    # The exported pay sheet itself, handed back by payroll, passes too, checksum intact.
    again = run_ok(engine, "acceptance", "check", "2026-12", "--payroll", str(sheet), lang="en")
    assert "Warning" not in again.stdout

    with Session() as s:
        checks = s.scalars(select(AcceptanceCheck).order_by(AcceptanceCheck.id)).all()
        assert [c.passed for c in checks] == [False, True, True]
        assert [c.checksum_intact for c in checks] == [None, None, True]
        first = {r.institution_name: (r.passed, r.mismatched) for r in checks[0].institutions}
        assert first == {"一分公司": (False, 1), "二分公司": (True, 0), "集团本部": (True, 0)}
        assert all(len(c.file_sha256) == 64 and c.actor_label for c in checks)
        audited = s.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "acceptance.check")
        )
        assert audited == 3
    history = run_ok(engine, "acceptance", "history", "2026-12", lang="en").stdout.splitlines()
    assert len(history) == 3
    assert "payroll_example.xlsx · FAIL · 一分公司 FAIL" in history[0]
    assert "payroll_fixed.xlsx · PASS" in history[1]


def test_a_period_that_is_not_final_is_refused_for_acceptance_and_export(
    engine, Session, tmp_path, clock
):
    example_published(engine)
    refused = run_ok(
        engine,
        "acceptance",
        "check",
        "2026-12",
        "--payroll",
        str(TEMPLATES / "payroll_example.xlsx"),
        code=2,
    )
    assert "验收核对的是已终结周期" in refused.output
    assert "jixiao period finalize 2026-12" in refused.output
    with Session() as s:
        assert s.scalar(select(func.count(AcceptanceCheck.id))) == 0
    export = run_ok(
        engine, "export", "pay", "2026-12", "--output", str(tmp_path / "p.xlsx"), code=2
    )
    assert "--draft" in export.output
    assert not (tmp_path / "p.xlsx").exists()
    # A draft: every row and the file name say so.
    draft = run_ok(engine, "export", "pay", "2026-12", "--draft", "--format", "csv", lang="en")
    assert "This is a draft" in draft.stdout
    (path,) = (tmp_path / "exports").iterdir()
    assert path.name == "pay_2026-12_draft.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert "draft" in rows[0][0]
    people = rows[2:-2]
    assert len(people) == 12
    assert all(r[-1].startswith("DRAFT · ") for r in people)
    assert rows[-1][:1] == ["Checksum"]
    assert rows[-1][3] == "draft"
    checked = run_ok(engine, "export", "verify", str(path), lang="en")
    assert "checksum matches, the sheet of 2026-12 is as exported (a draft)." in checked.stdout
    # HR asking in chat is told the command with --draft until the period is final.
    with Session() as s:
        hr = s.scalar(select(Employee).where(Employee.number == "10002"))  # 集团人力
        user = bind(s, hr, language="zh_CN")
        said = Chat(s, user, now=MOMENT).say("导出工资表")
        assert "jixiao export pay 2026-12 --format xlsx --draft" in said
        s.commit()
    CLOCK[0] = AFTER_WINDOW
    run_ok(engine, "period", "finalize", "2026-12")
    with Session() as s:
        said = Chat(s, user, now=AFTER_WINDOW).say("导出工资表")
        assert "jixiao export pay 2026-12 --format xlsx" in said
        assert "--draft" not in said


@pytest.fixture
def exported(engine, tmp_path, clock):
    example_final(engine)
    path = tmp_path / "pay.csv"
    run_ok(engine, "export", "pay", "2026-12", "--format", "csv", "--output", str(path))
    return path


def test_verify_tells_an_edited_pay_sheet(engine, exported, tmp_path):
    ok = run_ok(engine, "export", "verify", str(exported))
    assert "校验码一致" in ok.stdout
    text = exported.read_text(encoding="utf-8-sig")
    assert text.count(",4000.50,4000.50,已计算") == 1  # 赵敏's base and pay
    edited = tmp_path / "edited.csv"
    edited.write_text(text.replace(",4000.50,4000.50,", ",4000.50,4000.00,"), encoding="utf-8-sig")
    bad = run_ok(engine, "export", "verify", str(edited), lang="en", code=1)
    assert "was edited after it was exported" in bad.stdout
    # The acceptance check warns when a file claims a checksum its rows do not give.
    check = run_ok(
        engine, "acceptance", "check", "2026-12", "--payroll", str(edited), lang="en", code=1
    )
    assert "Warning: edited.csv: the checksum in row 15 does not match" in check.stdout


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


PAID = [
    ["10001", "王建国", "10800.00"],
    ["10002", "李红", "6000"],
    ["20001", "张伟", "9,600.00"],
    ["20002", "刘洋", "¥6000"],
    ["20003", "陈静", "４０００"],  # full-width digits
    ["20004", "杨帆", "4800元"],
    ["20005", "赵敏", "4,000.50"],
    ["20006", "周磊", "2700.0"],
    ["20007", "吴芳", "￥4,200.00"],
    ["30001", "孙涛", "8000"],
    ["30002", "徐丽", "7200"],
    ["30003", "马超", "3600"],
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_amounts_as_hr_writes_them_pass_in_utf8_and_gb18030(engine, exported, tmp_path, encoding):
    path = _write_csv(
        tmp_path / "paid.csv", [["员工编号", "姓名", "实发绩效工资"], *PAID], encoding
    )
    done = run_ok(engine, "acceptance", "check", "2026-12", "--payroll", str(path), lang="en")
    assert "2026-12" in done.stdout
    assert ": PASS" in done.stdout


def test_excel_number_cells_are_read_as_the_org_import_reads_them(engine, exported, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Employee No.", "Performance pay"])
    for number, _name, amount in PAID:
        # 工号 typed as numbers, amounts as floats (4000.5), as Excel stores them.
        value = float(str(Decimal(amount.replace(",", "").strip("¥￥元")).normalize()))
        ws.append([int(number), value if number != "20003" else 4000.0])
    path = tmp_path / "paid.xlsx"
    wb.save(path)
    done = run_ok(engine, "acceptance", "check", "2026-12", "--payroll", str(path), lang="en")
    assert ": PASS" in done.stdout


def test_unpaid_strangers_and_blanks_are_each_named(engine, exported, tmp_path, Session):
    rows = [r for r in PAID if r[0] not in ("30002", "20006")]  # 徐丽 and 周磊 missing
    rows.append(["20006", "周磊", ""])  # a blank amount: not paid
    rows.append(["99999", "外人", "100"])  # nobody in the group
    path = _write_csv(tmp_path / "paid.csv", [["工号", "姓名", "绩效工资"], *rows], "utf-8")
    done = run_ok(
        engine, "acceptance", "check", "2026-12", "--payroll", str(path), lang="en", code=1
    )
    out = done.stdout
    assert "in the results but not paid: 30002 徐丽, system CN¥7,200.00, paid —" in out
    assert "in the results but not paid: 20006 周磊, system CN¥2,700.00, paid —" in out
    assert "paid but not in the results: 99999 外人, system —, paid CN¥100.00" in out
    assert "— · FAIL · 0 · 1 · 0 · 1 · 0 · CN¥0.00 · CN¥100.00" in out
    assert "二分公司 · FAIL · 3 · 2 · 0 · 0 · 1 · CN¥18,800.00 · CN¥11,600.00" in out


HOSTILE = [
    ["工号", "姓名", "绩效工资"],
    ["10001", "王建国", "10800"],
    ["10001", "王建国", "10800"],  # row 3: the same 工号 again
    ["10002", "李红", "abc"],  # row 4: not a number
    ["20001", "张伟", "-5"],  # row 5: negative
    ["20002", "刘洋", "6000.001"],  # row 6: three decimals
    ["20003", "李四", "4000"],  # row 7: not her name
    ["020004", "杨帆", "4800"],  # row 8: a zero too many
    ["", "赵敏", "4000.50"],  # row 9: no 工号
    ["20006", "周磊", "#REF!"],  # row 10: a formula's error
]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_hostile_payroll_file_is_refused_whole_every_bad_row_named(
    engine, exported, tmp_path, Session, lang
):
    path = _write_csv(tmp_path / "hostile.csv", HOSTILE, "gb18030")
    done = run_ok(
        engine, "acceptance", "check", "2026-12", "--payroll", str(path), lang=lang, code=2
    )
    lines = done.output.strip().splitlines()
    rows = [int(x.split()[1].rstrip(",，")) for x in lines[:-1] if x.split()[0] in ("Row", "第")]
    if lang == "en":
        assert lines[-1] == "Nothing was imported: 8 problems found."
        assert rows == [3, 4, 5, 6, 7, 8, 9, 10]
        assert "Row 3, column 工号, value “10001”: the same 工号 is already in row 2" in lines
        assert "Row 4, column 绩效工资, value “abc”: is not a number" in lines
        assert any("Row 7, column 姓名" in x and "王" not in x and "陈静" in x for x in lines)
        assert any(
            "Row 8" in x and "20004 differs from it only in leading zeros" in x for x in lines
        )
    else:
        assert lines[-1] == "未导入任何数据：发现 8 个问题。"
        assert "第 3 行" in done.output
        assert "第 10 行" in done.output
        assert "相同工号已出现在第 2 行" in done.output
    with Session() as s:
        assert s.scalar(select(func.count(AcceptanceCheck.id))) == 0
