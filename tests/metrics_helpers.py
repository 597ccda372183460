"""A layered scheme (业绩 from data 50, 360 评价 30, 行为规范 20) on a small org, for the
metric and section tests."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import select

from bot.appraisal.periods import open_period
from bot.importing import import_scheme
from models import Indicator, Period, ScoreEntry, ScoringTask, TaskState
from tests.factories import small_org

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)

SHEETS = {
    "方案": (["方案编码", "方案名称"], [["LAYER", "分层考核方案"]]),
    "指标": (
        ["指标编码", "指标名称", "类型", "权重", "计分规则", "方向", "考核维度"],
        [
            ["deposit", "存款增量", "数据", 60, "线性 60-120", "", "perf"],
            [
                "complaints",
                "客户投诉",
                "指标数据",
                40,
                "阶梯 100:100, 90:80, 80:60",
                "反向",
                "perf",
            ],
            ["peer", "360评价", "评分", 100, "", "", "s360"],
            ["conduct", "行为规范", "评分", 100, "", "", "conduct"],
        ],
    ),
    "考核维度": (
        ["维度编码", "维度名称", "权重", "考核人"],
        [
            ["perf", "业绩指标", 50, ""],
            ["s360", "360评价", 30, "直接上级:60, 机构负责人:40"],
            ["conduct", "行为规范", 20, "manager:100"],
        ],
    ),
    "考核人": (["考核人", "名称", "权重"], [["直接上级", "", 70], ["head", "机构负责人", 30]]),
    "等级": (
        ["等级", "等级名称", "最低分", "系数"],
        [["A", "优秀", 90, 1.2], ["B", "良好", 75, 1], ["C", "合格", 0, 0.8]],
    ),
}


def workbook(path: Path, **sheets) -> Path:
    tables = dict(SHEETS)
    tables.update(sheets)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, (headers, rows) in tables.items():
        ws = wb.create_sheet(title)
        ws.append(headers)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
    wb.save(path)
    return path


def layered_world(session, tmp_path: Path, **sheets) -> tuple[Period, object, list]:
    """A head (100) and two staff (1001, 1011, position 客户经理) in 东城支行, the layered
    scheme (with `sheets` in place of its own) imported and period 2026-11 open."""
    group, people = small_org(session, (("东城支行", 2),))
    _inst, head, staff = people["东城支行"]
    for e in staff:
        e.position = "客户经理"
    head.position = "行长"
    import_scheme(session, NOW, workbook(tmp_path / "layer.xlsx", **sheets), group)
    period, _count = open_period(
        session,
        NOW,
        group=group,
        label="2026-11",
        scheme_code="LAYER",
        deadline=dt.date(2026, 12, 7),
    )
    session.flush()
    return period, head, staff


def write_csv(
    path: Path, rows: list[list[object]], header=("工号", "岗位", "指标", "目标值", "实际值")
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def score(session, period: Period, appraisee, role: str, submit: bool = True, **marks: str) -> None:
    """Enter the marks of `appraisee`'s task in `role` (by indicator code) and submit."""
    task = session.scalar(
        select(ScoringTask).where(
            ScoringTask.period_id == period.id,
            ScoringTask.appraisee_id == appraisee.id,
            ScoringTask.role_code == role,
        )
    )
    ids = dict(
        session.execute(
            select(Indicator.code, Indicator.id).where(Indicator.scheme_id == period.scheme_id)
        )
        .tuples()
        .all()
    )
    for code, value in marks.items():
        session.add(
            ScoreEntry(
                task_id=task.id,
                indicator_id=ids[code],
                value=Decimal(value),
                entered_by=task.scorer_id,
                entered_at=NOW,
            )
        )
    if submit:
        task.state = TaskState.SUBMITTED
        task.submitted_at = NOW
    session.flush()
