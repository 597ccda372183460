"""The parallel run: the old system's results imported, compared with ours per employee
and per institution (sums checked by hand), differences explained; hostile files refused
whole with every bad row named."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from models import AuditEvent, LegacyResult
from tests.test_acceptance import TEMPLATES, clock, example_final, run_ok  # noqa: F401 - fixture

# The old system's 2026-12 for the README example. Against ours (tests/test_readme_hr.py
# EXPECTED): 刘洋 A 7200 (ours B 6000: −1200, down), 陈静 C 4500 (D 4000: −500, down),
# 赵敏 B 4000 (B 4000.50: +0.50, same grade and score), 周磊 D 3600 (E 2700: −900, down),
# 徐丽 B 6000 (A 7200: +1200, up), 马超 B 4000 (C 3600: −400, down); the rest the same.
# 一分公司 old 9600 + 7200 + 4500 + 4800 + 4000 + 3600 + 4200 = 37900.00, ours 35300.50:
# −2599.50, 0 up, 3 down, 4 differences. 二分公司 old 8000 + 6000 + 4000 = 18000.00, ours
# 18800.00: +800.00, 1 up, 1 down, 2 differences. 集团本部 16800.00 both, none.
OLD = [
    ["工号", "姓名", "总分", "等级", "绩效工资"],
    ["10001", "王建国", "93.60", "A", "10800"],
    ["10002", "李红", "87.40", "B", "6000"],
    ["20001", "张伟", "99.00", "优秀", "9600"],
    ["20002", "刘洋", "90.5", "A", "7,200.00"],
    ["20003", "陈静", "72", "C", "4500"],
    ["20004", "杨帆", "92", "A", "4800"],
    ["20005", "赵敏", "81", "B", "¥4000"],
    ["20006", "周磊", "62", "D", "3600"],
    ["20007", "吴芳", "81.3", "良好", "4200"],
    ["30001", "孙涛", "83.4", "B", "8000"],
    ["30002", "徐丽", "85", "B", "６０００"],
    ["30003", "马超", "80", "B", "4000"],
]


def write(path: Path, rows, encoding="utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def imported(engine, tmp_path, clock):  # noqa: F811 - the fixture imported above
    example_final(engine)
    path = write(tmp_path / "old.csv", OLD, "gb18030")
    done = run_ok(engine, "legacy", "import", "2026-12", str(path), lang="en")
    assert "12 people (0 replaced, 0 no longer in the file removed)" in done.stdout
    return path


def test_compare_gives_per_institution_sums_worked_out_by_hand(engine, Session, imported, tmp_path):
    out = tmp_path / "compare.xlsx"
    done = run_ok(engine, "legacy", "compare", "2026-12", "--xlsx", str(out), lang="en")
    lines = done.stdout.splitlines()
    assert lines[0] == "Old and new system, 2026-12: 6 differences, 6 not explained."
    assert lines[2:5] == [
        "一分公司 · 7 · CN¥37,900.00 · CN¥35,300.50 · -CN¥2,599.50 · 0 · 3 · 4 · 4",
        "二分公司 · 3 · CN¥18,000.00 · CN¥18,800.00 · CN¥800.00 · 1 · 1 · 2 · 2",
        "集团本部 · 2 · CN¥16,800.00 · CN¥16,800.00 · CN¥0.00 · 0 · 0 · 0 · 0",
    ]
    # The shipped example holds the same figures, as an xlsx with number cells.
    run_ok(engine, "legacy", "import", "2026-12", str(TEMPLATES / "legacy_example.xlsx"))
    shipped = run_ok(engine, "legacy", "compare", "2026-12", lang="en").stdout.splitlines()
    assert shipped[:5] == lines[:5]
    # Largest first within each institution.
    first = [x.split()[0] for x in lines if x.startswith("  ")]
    assert first == ["20002", "20006", "20003", "20005", "30002", "30003"]
    assert (
        "  20005 赵敏: old B CN¥4,000.00, new B CN¥4,000.50, difference CN¥0.50; "
        "same grade and score, but a different pay base or coefficient" in lines
    )
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "一分公司", "二分公司", "集团本部"]
    summary = list(wb["Summary"].iter_rows(values_only=True))
    assert [(r[0], Decimal(str(r[4])), r[5], r[6]) for r in summary[1:]] == [
        ("一分公司", Decimal("-2599.5"), 0, 3),
        ("二分公司", Decimal(800), 1, 1),
        ("集团本部", Decimal(0), 0, 0),
    ]
    first_sheet = wb["一分公司"]
    assert first_sheet.freeze_panes == "C2"
    assert first_sheet["G2"].number_format == "#,##0.00"
    assert [c.value for c in first_sheet["A"][1:]] == ["20002", "20006", "20003", "20005"]
    assert wb["Summary"]["E2"].number_format == "#,##0.00"

    # Explained one by one; the count left goes down, and survives a re-import of the
    # same figures, but not of changed ones.
    said = run_ok(engine, "legacy", "explain", "2026-12", "20005", "旧系统把金额取整到元")
    assert "还有 5 处差异尚未说明" in said.stdout
    run_ok(engine, "legacy", "explain", "2026-12", "30002", "新方案提高了业绩权重")
    changed = [r if r[0] != "30002" else ["30002", "徐丽", "86", "B", "6000"] for r in OLD]
    run_ok(engine, "legacy", "import", "2026-12", str(write(tmp_path / "again.csv", changed)))
    again = run_ok(engine, "legacy", "compare", "2026-12", lang="en").stdout
    assert "6 differences, 5 not explained" in again
    assert "(explained: 旧系统把金额取整到元)" in again
    with Session() as s:
        notes = s.scalars(select(LegacyResult.note).where(LegacyResult.note != "")).all()
        assert notes == ["旧系统把金额取整到元"]
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("legacy.%"))
        ).all()
        assert sorted(actions) == ["legacy.explain"] * 2 + ["legacy.import"] * 3
    unknown = run_ok(engine, "legacy", "explain", "2026-12", "99999", "x", code=2)
    assert "99999" in unknown.output
    # A file covering one institution leaves the others out of the comparison.
    second = [OLD[0], *(r for r in OLD[1:] if r[0].startswith("3"))]
    run_ok(engine, "legacy", "import", "2026-12", str(write(tmp_path / "second.csv", second)))
    only = run_ok(engine, "legacy", "compare", "2026-12", lang="en").stdout.splitlines()
    # (徐丽's note went with the changed figures of the import before.)
    assert only[0] == "Old and new system, 2026-12: 2 differences, 2 not explained."
    assert only[2:4] == [
        "二分公司 · 3 · CN¥18,000.00 · CN¥18,800.00 · CN¥800.00 · 1 · 1 · 2 · 2",
        "二分公司, largest differences first:",
    ]


HOSTILE = [
    ["工号", "姓名", "总分", "等级", "绩效工资"],
    ["10001", "王建国", "93.60", "A", "10800"],
    ["10001", "王建国", "93.60", "A", "10800"],  # row 3: twice
    ["10002", "李红", "87.40", "Z", "6000"],  # row 4: no such grade
    ["20001", "张伟", "-1", "A", "9600"],  # row 5: negative total
    ["020002", "刘洋", "90", "A", "7200"],  # row 6: a zero too many
    ["20003", "陈静", "", "", "4500"],  # row 7: neither total nor grade
    ["20004", "杨帆", "92", "A", "4800.123"],  # row 8: three decimals
    ["20005", "钱七", "81", "B", "4000"],  # row 9: not her name
    ["88888", "外人", "81", "B", "4000"],  # row 10: nobody
]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_hostile_legacy_file_is_refused_whole(engine, Session, tmp_path, clock, lang):  # noqa: F811
    example_final(engine)
    path = write(tmp_path / "hostile.csv", HOSTILE)
    done = run_ok(engine, "legacy", "import", "2026-12", str(path), lang=lang, code=2)
    lines = done.output.strip().splitlines()
    if lang == "en":
        assert lines[-1] == "Nothing was imported: 8 problems found."
        assert [x.split(",")[0] for x in lines[:-1]] == [f"Row {n}" for n in range(3, 11)]
        assert lines[1].startswith(
            "Row 4, column 等级, value “Z”: is not a grade of this scheme: use A (优秀)"
        )
        assert any(
            "Row 6" in x and "20002 differs from it only in leading zeros" in x for x in lines
        )
        assert any("Row 10" in x and "no employee has this 工号" in x for x in lines)
    else:
        assert lines[-1] == "未导入任何数据：发现 8 个问题。"
        assert any(x.startswith("第 7 行") and "请填写总分或等级" in x for x in lines)
    with Session() as s:
        assert s.scalar(select(func.count(LegacyResult.id))) == 0
