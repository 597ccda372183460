"""`import scheme`: a workbook of four sheets becomes a scheme version, all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.appraisal.pay import SchemeSpec
from bot.cli.main import app
from bot.importing import ImportRefused, import_scheme
from bot.infra import i18n
from models import (
    AuditEvent,
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    PayMode,
    QuotaBound,
    QuotaRounding,
    QuotaScope,
    Scheme,
    ScorerRole,
)

NOW = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)

SCHEME = (
    [
        "方案编码",
        "方案名称",
        "计薪方式",
        "得分小数位",
        "舍入方式",
        "加分上限",
        "扣分上限",
        "适用机构",
    ],
    [["STD", "员工月度绩效考核方案", "系数", 2, "四舍五入", 5, 10, ""]],
)
INDICATORS = (
    [
        "指标编码",
        "指标名称",
        "类型",
        "权重",
        "最低分",
        "最高分",
        "评级档次",
        "评分标准",
        "低于此分须说明",
    ],
    [
        ["perf", "工作业绩", "评分", 60, 0, 100, "", "目标完成情况", 60],
        ["quality", "工作质量", "评级", "40%", "", "", "良:85，优:100、中:70", "", ""],
        ["bonus", "加分项", "加分", "", "", 5, "", "", ""],
        ["deduction", "扣分项", "扣分", 0, "", 10, "", "", ""],
    ],
)
ROLES = (
    ["考核人", "名称", "权重"],
    [["直接上级", "", 70], ["head", "机构负责人", 30], ["本人", "本人自评", 0]],
)
GRADES = (
    ["等级", "等级名称", "最低分", "系数"],
    [
        ["A", "优秀", 90, 1.2],
        ["B", "良好", 80, "1.00"],
        ["C", "合格", 60, 0.9],
        ["D", "不合格", 0, 0.6],
    ],
)


@pytest.fixture(autouse=True)
def _english():
    """Reports are asserted in English, the source language."""
    with i18n.using("en"):
        yield


@pytest.fixture
def group(session):
    grp = Group(name="示例集团")
    session.add(grp)
    session.flush()
    session.add(Institution(group_id=grp.id, name="一分公司"))
    session.commit()
    return grp


def workbook(tmp_path: Path, name="scheme.xlsx", skip=(), **sheets) -> Path:
    """The valid scheme above, with any sheet replaced: `指标=(headers, rows)`."""
    tables = {"方案": SCHEME, "指标": INDICATORS, "考核人": ROLES, "等级": GRADES}
    tables.update(sheets)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, (headers, rows) in tables.items():
        if title in skip:
            continue
        ws = wb.create_sheet(title)
        ws.append(headers)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
    path = tmp_path / name
    wb.save(path)
    return path


def counts(session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Scheme, Indicator, ScorerRole, GradeBand, AuditEvent)
    }


def refused(session, group, path) -> list[str]:
    before = counts(session)
    with pytest.raises(ImportRefused) as exc:
        import_scheme(session, NOW, path, group)
    assert counts(session) == before
    session.rollback()
    assert counts(session) == before
    return exc.value.lines()


def with_row(table, index, **changes):
    headers, rows = table
    rows = [list(r) for r in rows]
    for key, value in changes.items():
        rows[index][headers.index(key)] = value
    return headers, rows


def test_a_scheme_workbook_imports(session, group, tmp_path):
    report = import_scheme(session, NOW, workbook(tmp_path), group)
    session.commit()

    assert (report.code, report.version, report.written) == ("STD", 1, True)
    scheme = session.scalar(select(Scheme))
    assert (scheme.name, scheme.pay_mode, scheme.rounding) == (
        "员工月度绩效考核方案",
        PayMode.COEFFICIENT,
        "ROUND_HALF_UP",
    )
    assert (scheme.bonus_cap, scheme.deduction_cap, scheme.institution_id) == (5, 10, None)
    assert [(i.code, i.kind, i.weight) for i in scheme.indicators] == [
        ("perf", IndicatorKind.SCORE, 60),
        ("quality", IndicatorKind.RATING, 40),
        ("bonus", IndicatorKind.BONUS, 0),
        ("deduction", IndicatorKind.DEDUCTION, 0),
    ]
    quality = scheme.indicators[1]
    assert quality.levels == [["优", "100"], ["良", "85"], ["中", "70"]]
    assert (quality.min_score, quality.max_score) == (0, 100)
    assert scheme.indicators[0].comment_below == 60
    assert scheme.indicators[2].max_score == 5
    assert [(r.code, r.name, r.weight) for r in scheme.roles] == [
        ("manager", "直接上级", 70),
        ("head", "机构负责人", 30),
        ("self", "本人自评", 0),
    ]
    bands = sorted(scheme.grades, key=lambda g: g.min_score, reverse=True)
    assert [(g.grade, g.min_score, g.coefficient) for g in bands] == [
        ("A", 90, Decimal("1.2")),
        ("B", 80, Decimal("1.00")),
        ("C", 60, Decimal("0.9")),
        ("D", 0, Decimal("0.6")),
    ]
    spec = SchemeSpec.of(scheme)  # the pay engine reads it as it is
    assert spec.grade_for(Decimal("85"))[0].grade == "B"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "import.scheme"))
    assert (event.entity_id, event.actor_label, event.after["version"]) == (scheme.id, "import", 1)


def test_the_example_in_the_docs_imports(session, group):
    example = Path(__file__).resolve().parent.parent / "docs/templates/scheme_example.xlsx"
    report = import_scheme(session, NOW, example, group)
    assert (report.code, report.indicators, report.roles, report.grades) == ("STD", 8, 3, 5)
    assert report.quotas == 2


def test_reimporting_an_identical_scheme_writes_nothing(session, group, tmp_path):
    import_scheme(session, NOW, workbook(tmp_path), group)
    session.commit()
    before = counts(session)

    report = import_scheme(session, NOW, workbook(tmp_path, name="again.xlsx"), group)
    session.commit()

    assert (report.version, report.written) == (1, False)
    assert counts(session) == before
    assert report.lines() == ["Scheme STD is identical to its version 1: nothing written."]


def test_a_changed_scheme_becomes_a_new_version(session, group, tmp_path):
    import_scheme(session, NOW, workbook(tmp_path), group)
    session.commit()
    changed = with_row(GRADES, 0, 系数=1.3)

    report = import_scheme(session, NOW, workbook(tmp_path, "v2.xlsx", 等级=changed), group)
    session.commit()

    assert (report.version, report.written) == (2, True)
    versions = session.execute(select(Scheme.version).order_by(Scheme.version)).scalars().all()
    assert versions == [1, 2]
    again = import_scheme(session, NOW, workbook(tmp_path, "v2b.xlsx", 等级=changed), group)
    assert (again.version, again.written) == (2, False)


def test_english_sheet_names_and_headers_import(session, group, tmp_path):
    path = workbook(
        tmp_path,
        skip=("方案", "指标", "考核人", "等级"),
        scheme=(["code", "name", "pay_mode"], [["EN", "English scheme", "score"]]),
        indicators=(["code", "name", "kind", "weight"], [["perf", "Performance", "score", 100]]),
        roles=(["code", "name", "weight"], [["manager", "Manager", 100]]),
        grades=(["grade", "label", "min_score", "coefficient"], [["A", "Good", 0, 1]]),
    )
    report = import_scheme(session, NOW, path, group)
    assert (report.code, report.written) == ("EN", True)
    assert session.scalar(select(Scheme.pay_mode)) == PayMode.SCORE


def test_a_scheme_may_apply_to_one_institution(session, group, tmp_path):
    path = workbook(tmp_path, 方案=with_row(SCHEME, 0, 适用机构="一分公司"))
    import_scheme(session, NOW, path, group)
    inst = session.scalar(select(Institution))
    assert session.scalar(select(Scheme.institution_id)) == inst.id


def with_column(table, header, value):
    headers, rows = table
    return [*headers, header], [[*rows[0], value], *rows[1:]]


def test_a_scheme_may_set_its_objection_window(session, group, tmp_path):
    path = workbook(tmp_path, 方案=with_column(SCHEME, "公示期工作日", 3))
    import_scheme(session, NOW, path, group)
    assert session.scalar(select(Scheme.objection_days)) == 3


def test_it_refuses_an_objection_window_that_is_not_whole_workdays(session, group, tmp_path):
    path = workbook(tmp_path, 方案=with_column(SCHEME, "公示期工作日", "2.5"))
    lines = refused(session, group, path)
    assert any("公示期工作日" in line and "whole number of workdays" in line for line in lines), (
        lines
    )


# Every refusal below writes nothing: `refused` counts the rows before and after.


def test_it_refuses_indicator_weights_that_do_not_add_up_to_100(session, group, tmp_path):
    path = workbook(tmp_path, 指标=with_row(INDICATORS, 0, 权重=50))
    lines = refused(session, group, path)
    assert lines[0] == (
        "Sheet 指标, column 权重: the weights of score and rating indicators add up to 90, not 100"
    )


def test_it_refuses_role_weights_that_do_not_add_up_to_100(session, group, tmp_path):
    path = workbook(tmp_path, 考核人=with_row(ROLES, 2, 权重=10))
    lines = refused(session, group, path)
    assert lines[0] == (
        "Sheet 考核人, column 权重: the weights of the scorer roles add up to 110, not 100"
    )


def test_it_refuses_a_scheme_without_grades(session, group, tmp_path):
    path = workbook(tmp_path, 等级=(GRADES[0], []))
    assert refused(session, group, path)[0] == "Sheet 等级: there must be at least one grade"


def test_it_refuses_coefficients_that_fall_as_scores_rise(session, group, tmp_path):
    path = workbook(tmp_path, 等级=with_row(GRADES, 0, 系数=0.95))
    lines = refused(session, group, path)
    assert lines[0] == (
        "Sheet 等级, row 2, column 系数, value “0.95”: the coefficient falls as the score "
        "rises: grade A has a lower coefficient than grade B"
    )


def test_it_refuses_a_minimum_not_below_the_maximum(session, group, tmp_path):
    path = workbook(tmp_path, 指标=with_row(INDICATORS, 0, 最低分=100))
    lines = refused(session, group, path)
    assert lines[0] == (
        "Sheet 指标, row 2, column 最高分, value “100”: must be more than the lowest score 100"
    )


def test_it_refuses_a_rating_without_levels(session, group, tmp_path):
    path = workbook(tmp_path, 指标=with_row(INDICATORS, 1, 评级档次=""))
    lines = refused(session, group, path)
    assert lines[0] == (
        "Sheet 指标, row 3, column 评级档次: a rating indicator needs levels, such as 优:100, 良:85"
    )


def test_it_refuses_unreadable_levels(session, group, tmp_path):
    path = workbook(tmp_path, 指标=with_row(INDICATORS, 1, 评级档次="优 100"))
    assert "write levels as label:points" in refused(session, group, path)[0]


def test_it_refuses_duplicate_codes(session, group, tmp_path):
    path = workbook(
        tmp_path,
        指标=with_row(INDICATORS, 3, 指标编码="bonus"),
        考核人=with_row(ROLES, 1, 考核人="manager"),
        等级=with_row(GRADES, 1, 等级="A"),
    )
    lines = refused(session, group, path)
    assert lines[:-1] == [
        "Sheet 指标, row 5, column 指标编码, value “bonus”: the same code is already in row 4",
        "Sheet 考核人, row 3, column 考核人, value “manager”: this role is already in row 2",
        "Sheet 等级, row 3, column 等级, value “A”: the same grade is already in row 2",
    ]


def test_it_refuses_unknown_role_codes(session, group, tmp_path):
    path = workbook(tmp_path, 考核人=with_row(ROLES, 1, 考核人="peer"))
    assert "is not a scorer role" in refused(session, group, path)[0]


def test_it_refuses_an_unknown_indicator_type_and_a_weight_on_a_bonus(session, group, tmp_path):
    table = with_row(with_row(INDICATORS, 0, 类型="分数"), 2, 权重=5)
    lines = refused(session, group, workbook(tmp_path, 指标=table))
    assert lines[:-1] == [
        "Sheet 指标, row 2, column 类型, value “分数”: "
        "is not an indicator type: use 评分, 评级, 加分 or 扣分",
        "Sheet 指标, row 4, column 权重, value “5”: "
        "must be empty or 0 for a bonus or deduction item",
    ]


def test_it_refuses_an_unknown_institution(session, group, tmp_path):
    path = workbook(tmp_path, 方案=with_row(SCHEME, 0, 适用机构="九分公司"))
    assert refused(session, group, path)[0] == (
        "Sheet 方案, row 2, column 适用机构, value “九分公司”: "
        "no institution of this name in group 示例集团"
    )


def test_it_refuses_a_missing_sheet_and_a_missing_column(session, group, tmp_path):
    path = workbook(tmp_path, skip=("等级",), 考核人=(["考核人", "名称"], [["manager", "上级"]]))
    assert refused(session, group, path)[:-1] == [
        "Sheet 考核人: required column 权重 is missing",
        "Sheet 等级 is missing (the workbook has: 方案, 指标, 考核人)",
    ]


def test_it_refuses_a_non_numeric_weight(session, group, tmp_path):
    path = workbook(tmp_path, 指标=with_row(INDICATORS, 0, 权重="六十"))
    assert refused(session, group, path)[0] == (
        "Sheet 指标, row 2, column 权重, value “六十”: is not a number"
    )


def test_it_refuses_two_scheme_rows(session, group, tmp_path):
    path = workbook(tmp_path, 方案=(SCHEME[0], SCHEME[1] * 2))
    assert "exactly one scheme row, it has 2" in refused(session, group, path)[0]


def test_it_refuses_a_csv_scheme(session, group, tmp_path):
    (tmp_path / "scheme.csv").write_text("方案编码\nSTD\n", encoding="utf-8")
    assert "from an .xlsx workbook" in refused(session, group, tmp_path / "scheme.csv")[0]


def _run(engine, *args: str):
    url = engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(app, ["--database-url", url, "--lang", "en", "import", *args])


def test_the_scheme_cli_reports_problems_and_exits_2(engine, session, group, tmp_path):
    path = workbook(
        tmp_path,
        指标=with_row(INDICATORS, 0, 权重=50),
        考核人=with_row(ROLES, 1, 考核人="peer"),
    )
    result = _run(engine, "scheme", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Sheet 指标, column 权重: the weights")
    assert lines[1].startswith("Sheet 考核人, row 3, column 考核人, value “peer”")
    assert lines[2] == "Nothing was imported: 2 problems found."
    assert counts(session)["Scheme"] == 0

    result = _run(engine, "scheme", str(workbook(tmp_path, name="ok.xlsx")))
    assert result.exit_code == 0, result.output
    assert "scheme STD version 1" in result.stdout


# Grade quotas (强制分布): an optional fifth sheet.

QUOTAS = (
    ["等级", "方向", "比例", "人数", "范围", "取整"],
    [
        ["A", "至多", "20%", "", "机构", ""],
        ["D", "至少", 5, "", "全周期", "四舍五入"],
        ["A、B", "at most", "", 3, "department", ""],
    ],
)


def test_quota_rules_are_stored_with_the_scheme_version(session, group, tmp_path):
    report = import_scheme(session, NOW, workbook(tmp_path, 强制分布=QUOTAS), group)
    session.commit()
    assert report.quotas == 3
    assert "3 grade quota rules." in report.lines()
    scheme = session.scalar(select(Scheme))
    assert [
        (q.row, q.grades, q.bound, q.ratio, q.head_count, q.scope, q.rounding)
        for q in scheme.quotas
    ] == [
        (2, ["A"], QuotaBound.AT_MOST, 20, None, QuotaScope.INSTITUTION, QuotaRounding.DEFAULT),
        (3, ["D"], QuotaBound.AT_LEAST, 5, None, QuotaScope.PERIOD, QuotaRounding.HALF_UP),
        (4, ["A", "B"], QuotaBound.AT_MOST, None, 3, QuotaScope.DEPARTMENT, QuotaRounding.DEFAULT),
    ]
    # The same rules again: identical, nothing written; a changed rule: a new version.
    again = import_scheme(session, NOW, workbook(tmp_path, "b.xlsx", 强制分布=QUOTAS), group)
    assert again.written is False
    changed = with_row(QUOTAS, 0, 比例="25%")
    assert (
        import_scheme(session, NOW, workbook(tmp_path, "c.xlsx", 强制分布=changed), group).version
        == 2
    )
    # Without the sheet: a scheme without rules (a new version, since the rules differ).
    plain = import_scheme(session, NOW, workbook(tmp_path, "d.xlsx"), group)
    assert (plain.version, plain.quotas) == (3, 0)


def test_quota_rows_that_cannot_be_met_or_make_no_sense_are_refused_by_row(
    session, group, tmp_path
):
    bad = (
        QUOTAS[0],
        [
            ["A", "至少", "120%", "", "", ""],
            ["Z", "至多", "20%", "", "", ""],
            ["A", "至多", "20%", 2, "", ""],
            ["A", "至多", "", "", "", ""],
            ["A", "偶尔", "20%", "", "", ""],
            ["A", "至多", "20%", "", "全省", ""],
            ["A,B,C,D", "至多", "50%", "", "", ""],
            ["A", "至少", "", 1.5, "", ""],
            ["B", "至多", "-5", "", "", ""],
        ],
    )
    lines = refused(session, group, workbook(tmp_path, 强制分布=bad))
    text = "\n".join(lines)
    for row, column, reason in (
        (2, "比例", "is more than 100%: no group can meet it"),
        (3, "等级", "no such grade in this scheme: Z (the scheme has A, B, C, D)"),
        (4, "人数", "give a ratio or a head count, not both"),
        (5, "比例", "give a ratio (such as 20%) or a head count"),
        (6, "方向", "is not a bound"),
        (7, "范围", "is not a scope"),
        (8, "等级", "this rule cannot be met: it counts every grade of the scheme"),
        (9, "人数", "is not a whole number of people"),
        (10, "比例", "is negative"),
    ):
        assert any(f"row {row}" in line and column in line and reason in line for line in lines), (
            row,
            text,
        )
