"""Write the spreadsheet templates and examples HR starts from, into docs/templates/.

    .venv/bin/python scripts/make_templates.py

Blank templates mark required columns with *, and carry a 说明 (notes) sheet; the
examples import as they are (`jixiao import org docs/templates/org_example.xlsx`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from bot.importing import org as org_importer
from bot.importing import scheme as scheme_importer
from bot.importing.table import Column

OUT = Path(__file__).resolve().parent.parent / "docs" / "templates"

# What each column means and an example, in the template's column order; headers,
# aliases and which columns are required come from the importer itself.
ORG_HELP: dict[str, tuple[str, str]] = {
    "group": ("集团名称；全文件须一致。可改用命令行 --group 指定。", "示例集团"),
    "number": (
        "员工工号，集团内唯一，按表格显示的文本保存（007 不等于 7）。"
        "请把本列设为文本格式：仅前导零不同的工号（如 000123 与 123）导入时会被拒绝，"
        "以免同一人变成两人。",
        "20003",
    ),
    "name": ("员工姓名。", "陈静"),
    "institution": ("所属机构；不存在的机构会自动创建。", "一分公司"),
    "department": ("部门路径，用 / 分隔上下级；不存在的部门自动创建。", "零售部/柜面组"),
    "position": ("岗位名称。", "组长"),
    "manager_number": ("直接上级的工号：须在本文件中或已导入。", "20002"),
    "pay_base": ("元，不小于 0，最多两位小数；可写 4,000.00 或 ¥4000。", "5000"),
    "email": ("电子邮箱。", "chenjing@example.com"),
    "mobile": (
        "手机号码，11 位，可带 +86；一人一号。开启飞书按手机号绑定时，用它认出本人。",
        "13812345678",
    ),
    "language": ("提示语言：中文（zh_CN）或英文（en）；留空用默认语言。", "中文"),
    "pilot": ("机构是否为试点机构：是/否；同一机构各行不得矛盾。", "是"),
    "roles": (
        "多个用逗号分隔：一把手（机构负责人，每个机构一人）、人力（本机构人力）、集团人力（全集团人力）、集团领导。有此列时，文件中每位员工的角色以此为准。",
        "一把手",
    ),
}
ORG_NOTES = [
    "每行一名员工，按工号新增或更新；再次导入同一文件不会产生任何变化。",
    "导入是“全部或全不”：任何一行有误，一行也不写入，并逐行列出错误（行号同 Excel）。",
    "可选列整列不提供时，已有员工的该项保持不变；提供但留空则清空该项。",
    "文件中没有的在职员工保持在职，除非使用 --deactivate-missing。",
    "也可导入 .csv（UTF-8 或 Excel 另存的 GB18030）；表头中英文、简繁体均可。"
    "CSV 中出现“?”或“\ufffd”的姓名、机构、部门会被拒绝：说明保存时丢了字，请另存为“CSV UTF-8”。",
    "工号按表格显示的文本读取；仅前导零不同的两个工号（文件内，或文件与已导入的员工之间）"
    "会被拒绝并列出两行，请统一写法后再导入。日期格式的工号单元格也会被拒绝。",
    "工作簿中有多张含数据的表（如 11月、12月）时，须用 --sheet 指定要导入的表；"
    "本“说明”表、隐藏表和空表不计。",
    "“合计/总计/小计”行或 SUM 公式行会被跳过，并在结果中列出行号；"
    "与已知列名相近的未知列（如“直接上级”）会被拒绝，其他未知列在结果中列为已忽略。",
]
ORG_EXAMPLE = [
    # 集团, 工号, 姓名, 机构, 部门, 岗位, 上级, 基数, 邮箱, 手机, 语言, 试点, 角色
    (
        "示例集团",
        "10001",
        "王建国",
        "集团本部",
        "",
        "集团总经理",
        "",
        9000,
        "",
        "",
        "中文",
        "否",
        "集团领导",
    ),
    (
        "示例集团",
        "10002",
        "李红",
        "集团本部",
        "人力资源部",
        "本部负责人兼人力资源部经理",
        "10001",
        6000,
        "lihong@example.com",
        "",
        "中文",
        "",
        # Head of 集团本部 as well: the group's general manager, who has no manager,
        # is then scored by someone whose weight counts (本部负责人, 30%), not only by
        # himself (weight 0). Every appraisee of the example has a weighted scorer.
        "集团人力, 一把手",
    ),
    (
        "示例集团",
        "20001",
        "张伟",
        "一分公司",
        "",
        "总经理",
        "10001",
        8000,
        "",
        "",
        "",
        "是",
        "一把手",
    ),
    (
        "示例集团",
        "20002",
        "刘洋",
        "一分公司",
        "零售部",
        "部门经理",
        "20001",
        6000,
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "示例集团",
        "20003",
        "陈静",
        "一分公司",
        "零售部/柜面组",
        "组长",
        "20002",
        5000,
        "chenjing@example.com",
        "",
        "",
        "",
        "",
    ),
    (
        "示例集团",
        "20004",
        "杨帆",
        "一分公司",
        "零售部/柜面组",
        "柜员",
        "20003",
        4000,
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "示例集团",
        "20005",
        "赵敏",
        "一分公司",
        "零售部/柜面组",
        "柜员",
        "20003",
        4000.5,
        "",
        "",
        "英文",
        "",
        "",
    ),
    (
        "示例集团",
        "20006",
        "周磊",
        "一分公司",
        "公司业务部",
        "客户经理",
        "20001",
        4500,
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "示例集团",
        "20007",
        "吴芳",
        "一分公司",
        "综合部",
        "人事专员",
        "20001",
        4200,
        "",
        "",
        "",
        "",
        "人力",
    ),
    (
        "示例集团",
        "30001",
        "孙涛",
        "二分公司",
        "",
        "总经理",
        "10001",
        8000,
        "",
        "",
        "",
        "是",
        "一把手",
    ),
    (
        "示例集团",
        "30002",
        "徐丽",
        "二分公司",
        "营业部",
        "部门经理",
        "30001",
        6000,
        "",
        "",
        "",
        "",
        "",
    ),
    ("示例集团", "30003", "马超", "二分公司", "营业部", "柜员", "30002", 4000, "", "", "", "", ""),
]

# Per importer sheet: each column's meaning and an example, in the importer's order
# (sheet titles, headers and required flags come from the importer).
SCHEME_HELP: dict[str, dict[str, tuple[str, str]]] = {
    "scheme": {
        "code": ("方案代码；同一代码再次导入生成新版本（内容不变则不写入）。", "STD"),
        "name": ("方案名称。", "员工月度绩效考核方案"),
        "pay_mode": ("系数：基数×等级系数；得分：基数×总分/100。默认系数。", "系数"),
        "score_places": ("总分保留的小数位数，0–6，默认 2。", "2"),
        "pay_quantum": ("绩效工资舍入到的单位，默认 0.01 元。", "0.01"),
        "rounding": ("四舍五入（默认）、银行家舍入、去尾、进一。", "四舍五入"),
        "bonus_cap": ("所有加分项合计上限；留空不设上限。", "5"),
        "deduction_cap": ("所有扣分项合计上限；留空不设上限。", "10"),
        "institution": ("留空适用全集团；否则为已导入的机构名称。", ""),
        "objection_days": ("公布后的公示期（工作日），0–60，留空为 5。", ""),
    },
    "indicators": {
        "code": ("指标代码，方案内唯一。行序即考核人看到的顺序。", "perf"),
        "name": ("指标名称。", "工作业绩"),
        "kind": ("评分、评级、加分、扣分，或数据（取自业务数据，无人评分）。", "评分"),
        "weight": (
            "评分、评级与数据指标必填，合计须恰好为 100（分维度时每个维度内合计 100）；"
            "加分、扣分项留空。",
            "40",
        ),
        "min_score": ("评分指标的最低分，默认 0。", "0"),
        "max_score": ("评分指标的满分（默认 100）；加分、扣分项的单项上限（必填）。", "100"),
        "levels": ("评级指标必填：档次:分值，逗号分隔，如 优:100, 良:85。", ""),
        "criteria": ("给考核人看的评分说明。", "本月目标任务完成情况"),
        "comment_below": ("打分低于此值时须填写评语。", "60"),
        "comment_at_max": ("打满分时是否须填写评语：是/否。", "否"),
        "per_incident": (
            "加分、扣分项按次计时每次的分值，如 3（每次扣 3 分），合计不超过上限。",
            "",
        ),
        "rule": (
            "数据指标必填：线性 60-120（完成率低于 60% 得 0，按比例计至 120% 封顶），"
            "或 阶梯 100:100, 90:80, 80:60（完成率达 100% 得满分，达 90% 得 80% …）。",
            "",
        ),
        "direction": (
            "数据指标：正向（越高越好，默认）或反向（越低越好，如投诉、差错率；"
            "完成率 = 2 − 实际/目标）。",
            "",
        ),
        "section": ("分维度时必填：所属考核维度的编码；不分维度留空。", ""),
    },
    "sections": {
        "code": ("考核维度编码；可不要此表，则所有考核人评所有指标。", "perf"),
        "name": ("维度名称。", "业绩指标"),
        "weight": ("维度权重，各维度合计须恰好为 100。", "50"),
        "scorers": (
            "本维度的评分人及权重，如 直接上级:60, 机构负责人:40（合计 100）；"
            "数据维度留空（无人评分）。",
            "",
        ),
    },
    "roles": {
        "code": ("manager/直接上级、head/机构负责人、self/本人。", "直接上级"),
        "name": ("显示名称，默认同“考核人”列。", "直接上级"),
        "weight": ("各考核人权重合计须恰好为 100；自评通常为 0。", "70"),
    },
    "grades": {
        "grade": ("等级代码，如 A。", "A"),
        "label": ("如 优秀。", "优秀"),
        "min_score": ("达到此总分即为该等级；至少一个等级。", "90"),
        "coefficient": ("绩效系数；分数越高，系数不得越低。", "1.20"),
    },
    "targets": {
        "position": ("岗位名称，与组织架构中的岗位一致。", "客户经理"),
        "indicator": ("数据指标的编码或名称。", "deposit"),
        "target": (
            "该岗位的目标值，须大于 0；指标数据导入中本人或本岗位的目标值优先。",
            "1000000",
        ),
    },
    "quotas": {
        "grades": ("计入的等级，一个或多个，如 A 或 D,E；须为本方案的等级。", "A"),
        "bound": ("至多（上限）或至少（下限）。", "至多"),
        "ratio": ("占该范围人数的比例，如 30%；与人数二选一。", "30%"),
        "head_count": ("固定人数；与比例二选一。", ""),
        "scope": ("机构（默认，每个机构分别计）、部门或全周期（全部被考核人合计）。", "机构"),
        "rounding": (
            "留空为默认：至多向下取整但有人时不少于 1 人，至少向上取整；可写四舍五入。",
            "",
        ),
    },
}


def _columns(
    columns: Sequence[Column], help_: dict[str, tuple[str, str]]
) -> list[tuple[str, str, bool, str, str]]:
    """(header, English alias, required, what it means, example) per column, in the
    order of `help_`, which must cover exactly the importer's columns."""
    by_key = {c.key: c for c in columns}
    if set(by_key) != set(help_):
        raise SystemExit(f"template help and importer columns differ: {set(by_key) ^ set(help_)}")
    return [
        (by_key[k].title, k, by_key[k].required, note, example)
        for k, (note, example) in help_.items()
    ]


ORG_COLUMNS = _columns(org_importer.COLUMNS, ORG_HELP)
SCHEME_SHEETS = {
    scheme_importer.SHEETS[key][0][0]: _columns(scheme_importer.SHEETS[key][1], help_)
    for key, help_ in SCHEME_HELP.items()
}

SCHEME_NOTES = [
    "一个文件一个方案，四张表：方案、指标、考核人、等级（表名、表头中英文均可）；"
    "可另加“强制分布”表，每行一条等级比例规则，在计算结果和公示时检查。",
    "可另加“考核维度”表（如 业绩指标 50、360评价 30、行为规范 20），每个维度有自己的权重和"
    "评分人；评分人只评自己维度的指标，缺评的评分人在本维度内重新分配权重。",
    "可另加“岗位目标”表（岗位、指标、目标值）：数据指标按岗位的默认目标值，随方案版本保存；"
    "指标数据导入时，本人行的目标值优先，其次是导入文件中该岗位的行，最后才用本表。",
    "数据指标的目标值和实际值用 `jixiao import metrics 周期 文件` 导入（工号、指标、目标值、"
    "实际值），或由业务系统推送到 POST /api/metrics；数据指标不产生评分任务。",
    "导入是“全部或全不”：任何一处有误，一处也不写入，并逐条列出错误。",
    "评分与评级指标权重合计、考核人权重合计都须恰好为 100；可写 70、70% 或设为百分比格式的 0.7。",
    "其他含数据的表不会被读取，导入结果会列出其名称。",
]
SCHEME_EXAMPLE: dict[str, list[tuple[Any, ...]]] = {
    "方案": [("STD", "员工月度绩效考核方案", "系数", 2, 0.01, "四舍五入", 5, 10, "")],
    "指标": [
        ("perf", "工作业绩", "评分", 40, 0, 100, "", "本月目标任务完成情况、数量与效益", 60, "否"),
        (
            "quality",
            "工作质量",
            "评级",
            20,
            "",
            "",
            "优:100, 良:85, 中:70, 差:50",
            "准确性、规范性，差错与返工情况",
            "",
            "否",
        ),
        ("attitude", "工作态度", "评分", 10, 0, 100, "", "责任心、主动性、出勤", 60, "否"),
        ("teamwork", "团队协作", "评分", 10, 0, 100, "", "配合同事、跨部门协作", 60, "否"),
        ("growth", "学习成长", "评分", 10, 0, 100, "", "业务学习、技能提升", 60, "否"),
        ("compliance", "合规纪律", "评分", 10, 0, 100, "", "遵守制度与操作规程", 60, "否"),
        (
            "bonus",
            "加分项",
            "加分",
            "",
            "",
            5,
            "",
            "突出贡献、表彰，每次 1-3 分，合计不超过 5 分",
            "",
            "否",
        ),
        (
            "deduction",
            "扣分项",
            "扣分",
            "",
            "",
            10,
            "",
            "违规违纪、差错，每次 1-5 分，合计不超过 10 分",
            "",
            "否",
        ),
    ],
    "考核人": [
        ("直接上级", "直接上级", 70),
        ("机构负责人", "机构负责人", 30),
        ("本人", "本人自评", 0),
    ],
    "等级": [
        ("A", "优秀", 90, 1.2),
        ("B", "良好", 80, 1),
        ("C", "合格", 70, 0.9),
        ("D", "基本合格", 60, 0.8),
        ("E", "不合格", 0, 0.6),
    ],
    "考核维度": [],
    "岗位目标": [],
    # The example period meets both: A is at most 2 of 一分公司's 7 (30% of 7 = 2.1, down
    # to 2), 1 of 二分公司's 3 and of 集团本部's 2 (never below 1); D and E are 2 of 12 (5% of 12
    # = 0.6, up to 1).
    "强制分布": [
        ("A", "至多", "30%", "", "机构", ""),
        ("D,E", "至少", "5%", "", "全周期", ""),
    ],
}

BOLD = Font(bold=True)
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header(ws: Worksheet, columns: Sequence[tuple[str, str, bool, str, str]], mark: bool) -> None:
    for idx, (name, _alias, required, _note, _example) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=idx, value=f"{name}*" if mark and required else name)
        cell.font = BOLD
        cell.fill = REQUIRED_FILL if required else HEADER_FILL
        width = max(10, 2 * len(name) + 4)
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "A2"


def _rows(ws: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    for row in rows:
        # Empty strings stay empty cells; codes like 工号 stay text, as HR should keep them.
        ws.append([None if v == "" else v for v in row])


def _notes(
    wb: Workbook, sheets: dict[str, list[tuple[str, str, bool, str, str]]], notes: list[str]
) -> None:
    ws = wb.create_sheet("说明")
    for line in notes:
        ws.append([line])
    ws.append([])
    ws.append(["表", "列名", "English", "必填", "说明", "示例"])
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for sheet, columns in sheets.items():
        for name, alias, required, note, example in columns:
            ws.append([sheet, name, alias, "是" if required else "", note, example])
    for letter, width in zip("ABCDEF", (8, 16, 16, 6, 70, 24), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=len(notes) + 3):
        row[4].alignment = Alignment(wrap_text=True, vertical="top")


def _save(wb: Workbook, name: str) -> None:
    wb.properties.creator = "Jixiao"
    path = OUT / name
    wb.save(path)
    print("wrote", path.relative_to(OUT.parent.parent))


def org(example: bool) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "员工"
    _header(ws, ORG_COLUMNS, mark=not example)
    if example:
        _rows(ws, ORG_EXAMPLE)
    _notes(wb, {"员工": ORG_COLUMNS}, ORG_NOTES)
    _save(wb, "org_example.xlsx" if example else "org_template.xlsx")


def org_csv() -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c[0] for c in ORG_COLUMNS])
    writer.writerows(ORG_EXAMPLE)
    path = OUT / "org_example_gb18030.csv"
    # What Excel in China writes when saving as CSV: GB18030 (GBK), CRLF, no BOM.
    path.write_bytes(buf.getvalue().encode("gb18030"))
    print("wrote", path.relative_to(OUT.parent.parent))


# A layered scheme: 业绩 from business data (50), 360 评价 by the manager and the head
# (30), 行为规范 by the manager alone (20); its metrics file below.
LAYERED_EXAMPLE: dict[str, list[tuple[Any, ...]]] = {
    "方案": [("LAYER", "分层绩效考核方案（示例）", "系数", 2, 0.01, "四舍五入", 5, 10, "")],
    "指标": [
        (
            "deposit",
            "存款增量",
            "数据",
            60,
            "",
            "",
            "",
            "月末存款较上月末增量",
            "",
            "",
            "",
            "线性 60-120",
            "正向",
            "perf",
        ),
        (
            "complaints",
            "客户投诉",
            "数据",
            40,
            "",
            "",
            "",
            "有效投诉件数",
            "",
            "",
            "",
            "阶梯 100:100, 90:80, 80:60",
            "反向",
            "perf",
        ),
        (
            "peer",
            "360评价",
            "评分",
            100,
            0,
            100,
            "",
            "协作、沟通、服务",
            60,
            "否",
            "",
            "",
            "",
            "s360",
        ),
        (
            "conduct",
            "行为规范",
            "评分",
            100,
            0,
            100,
            "",
            "制度执行与纪律",
            60,
            "否",
            "",
            "",
            "",
            "conduct",
        ),
        ("bonus", "加分项", "加分", "", "", 5, "", "突出贡献", "", "否"),
    ],
    "考核维度": [
        ("perf", "业绩指标", 50, ""),
        ("s360", "360评价", 30, "直接上级:60, 机构负责人:40"),
        ("conduct", "行为规范", 20, "直接上级:100"),
    ],
    "考核人": [("直接上级", "直接上级", 70), ("机构负责人", "机构负责人", 30)],
    "等级": SCHEME_EXAMPLE["等级"],
    # Default targets per position: the metrics file's 柜员 rows come first for 柜员;
    # 客户经理 周磊 (20006) gets these, having no target of his own or his position's.
    "岗位目标": [
        ("柜员", "存款增量", 450000),
        ("柜员", "客户投诉", 2),
        ("客户经理", "存款增量", 1000000),
        ("客户经理", "客户投诉", 3),
    ],
}
METRICS_EXAMPLE = [
    ("", "", "柜员", "存款增量", 500000, ""),
    ("", "", "柜员", "客户投诉", 2, ""),
    ("20003", "陈静", "", "存款增量", 800000, 880000),
    ("20003", "陈静", "", "客户投诉", 2, 3),
    ("20004", "杨帆", "", "存款增量", "", 430000),
    ("20004", "杨帆", "", "客户投诉", "", 1),
    ("20006", "周磊", "", "存款增量", "", 1150000),
    ("20006", "周磊", "", "客户投诉", "", 2),
]


def layered_example() -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for title, columns in SCHEME_SHEETS.items():
        ws = wb.create_sheet(title)
        _header(ws, columns, mark=False)
        _rows(ws, LAYERED_EXAMPLE.get(title, []))
    _notes(wb, SCHEME_SHEETS, SCHEME_NOTES)
    _save(wb, "scheme_layered_example.xlsx")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "指标数据"
    ws.append(["工号", "姓名", "岗位", "指标", "目标值", "实际值"])
    _rows(ws, METRICS_EXAMPLE)
    notes = wb.create_sheet("说明")
    for line in (
        "一行一人一指标：工号、指标（编码或名称）、目标值、实际值；可加姓名核对。",
        "只填岗位、不填工号的行给出该岗位所有人的目标值；本人行目标值留空即用岗位目标值，"
        "本文件没有该岗位的行时用考核方案“岗位目标”表的目标值。",
        "目标值须大于 0。导入是“全部或全不”，并替换该周期已导入的全部数据。",
    ):
        notes.append([line])
    _save(wb, "metrics_example.xlsx")


def scheme(example: bool) -> None:
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for title, columns in SCHEME_SHEETS.items():
        ws = wb.create_sheet(title)
        _header(ws, columns, mark=not example)
        if example:
            _rows(ws, SCHEME_EXAMPLE[title])
    _notes(wb, SCHEME_SHEETS, SCHEME_NOTES)
    _save(wb, "scheme_example.xlsx" if example else "scheme_template.xlsx")


# The example period's scores, as HR would type them into `jixiao template scores`'s
# sheet: per (appraisee, role), one mark for every score indicator, one rating level,
# bonus, deduction and a comment on 工作业绩. The README's HR sequence imports them, and
# tests/test_readme_hr.py holds the pay sheet they give, worked out by hand.
SCORES_PERIOD = "2026-12"
SCORES_EXAMPLE: dict[tuple[str, str], tuple[int, str, int | None, int | None, str]] = {
    ("10001", "机构负责人"): (92, "优", None, None, ""),
    ("10002", "直接上级"): (88, "良", None, None, ""),
    ("20001", "直接上级"): (95, "优", 3, None, "超额完成全年存款任务"),
    ("20002", "直接上级"): (85, "良", None, None, ""),
    ("20002", "机构负责人"): (75, "中", None, None, ""),
    ("20003", "直接上级"): (70, "中", None, None, ""),
    ("20003", "机构负责人"): (65, "差", None, None, "柜面差错两次"),
    ("20004", "直接上级"): (90, "优", None, None, ""),
    ("20004", "机构负责人"): (90, "优", None, None, ""),
    ("20005", "直接上级"): (80, "良", None, None, ""),
    ("20005", "机构负责人"): (80, "良", None, None, ""),
    ("20006", "直接上级"): (60, "差", None, None, "本月业绩未达标"),
    ("20006", "机构负责人"): (60, "差", None, None, ""),
    ("20007", "直接上级"): (75, "良", 1, None, ""),
    ("20007", "机构负责人"): (85, "优", 1, None, ""),
    ("30001", "直接上级"): (83, "良", None, None, ""),
    ("30002", "直接上级"): (91, "优", None, None, ""),
    ("30002", "机构负责人"): (89, "优", None, None, ""),
    ("30003", "直接上级"): (78, "中", None, 3, ""),
    ("30003", "机构负责人"): (82, "良", None, 3, ""),
}
SELF_ASSESSMENT = (100, "优", None, None, "")


def scores_example() -> None:
    """Open the example period on a scratch database and fill in its own template."""
    import datetime as dt
    import tempfile

    from openpyxl import load_workbook

    from bot.appraisal.periods import find_group, open_period
    from bot.importing.org import import_org
    from bot.importing.scheme import import_scheme
    from bot.importing.scores import write_template
    from models.db import make_engine, sessions, upgrade

    at = dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/example.db")
        upgrade(engine)
        with sessions(engine)() as s, s.begin():
            import_org(s, at, OUT / "org_example.xlsx")
            group = find_group(s, None)
            import_scheme(s, at, OUT / "scheme_example.xlsx", group)
            period, _tasks = open_period(
                s,
                at,
                group=group,
                label=SCORES_PERIOD,
                scheme_code="STD",
                deadline=dt.date(2027, 1, 7),
            )
            blank = Path(tmp) / "blank.xlsx"
            write_template(s, period, blank)
        engine.dispose()
        wb = load_workbook(blank)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        number, role = row[0].value, row[4].value
        if not number:
            continue
        mark, level, bonus, deduction, comment = SCORES_EXAMPLE.get(
            (str(number), str(role)), SELF_ASSESSMENT
        )
        for cell, title in zip(row, header, strict=False):
            name = str(title or "").rstrip("*")
            if name == "工作质量":
                cell.value = level
            elif name == "加分项":
                cell.value = bonus
            elif name == "扣分项":
                cell.value = deduction
            elif name == "工作业绩评语":
                cell.value = comment or None
            elif name.endswith("评语") or cell.column <= 5:
                continue
            else:
                cell.value = mark
    _save(wb, "scores_example.xlsx")


# What payroll paid for the README's example period (2026-12): the pay sheet's amounts,
# except one deliberate mismatch, 20005 赵敏 paid 4,000.00 instead of 4,000.50, so that
# `jixiao acceptance check 2026-12 --payroll docs/templates/payroll_example.xlsx` fails
# 一分公司 and names her (see docs/acceptance.md).
PAYROLL_EXAMPLE = [
    ("10001", "王建国", "集团本部", "10800.00"),
    ("10002", "李红", "集团本部", "6000.00"),
    ("20001", "张伟", "一分公司", "9600.00"),
    ("20002", "刘洋", "一分公司", "6000.00"),
    ("20003", "陈静", "一分公司", "4000.00"),
    ("20004", "杨帆", "一分公司", "4800.00"),
    ("20005", "赵敏", "一分公司", "4000.00"),  # the system says 4000.50
    ("20006", "周磊", "一分公司", "2700.00"),
    ("20007", "吴芳", "一分公司", "4200.00"),
    ("30001", "孙涛", "二分公司", "8000.00"),
    ("30002", "徐丽", "二分公司", "7200.00"),
    ("30003", "马超", "二分公司", "3600.00"),
]
PAYROLL_NOTES = [
    "薪酬部门实际发放的绩效工资，用于验收：jixiao acceptance check 2026-12 --payroll 本文件。",
    "至少需要“工号”和“绩效工资”（或“实发绩效工资”）两列；“姓名”如有，须与工号一致。",
    "金额可写 4,000.00、¥4000 或全角数字；金额留空表示未发放。",
    "本示例故意有一处不符：20005 赵敏 实发 4000.00，系统结果为 4000.50。",
]


def payroll_example() -> None:
    from decimal import Decimal

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "发放"
    ws.append(["工号", "姓名", "机构", "实发绩效工资"])
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
    for number, name, inst, amount in PAYROLL_EXAMPLE:
        ws.append([number, name, inst, Decimal(amount)])
    for row in ws.iter_rows(min_row=2):
        row[0].number_format = "@"
        row[3].number_format = "#,##0.00"
    for letter, width in zip("ABCD", (10, 10, 12, 16), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    for line in PAYROLL_NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    _save(wb, "payroll_example.xlsx")


# The old (outsourced) system's results for the same period, for the parallel run
# (`jixiao legacy import 2026-12 docs/templates/legacy_example.xlsx`): six people differ
# in grade or pay (tests/test_legacy.py works the sums out by hand).
LEGACY_EXAMPLE = [
    ("10001", "王建国", "93.60", "A", "10800"),
    ("10002", "李红", "87.40", "B", "6000"),
    ("20001", "张伟", "99.00", "A", "9600"),
    ("20002", "刘洋", "90.50", "A", "7200"),
    ("20003", "陈静", "72.00", "C", "4500"),
    ("20004", "杨帆", "92.00", "A", "4800"),
    ("20005", "赵敏", "81.00", "B", "4000"),
    ("20006", "周磊", "62.00", "D", "3600"),
    ("20007", "吴芳", "81.30", "B", "4200"),
    ("30001", "孙涛", "83.40", "B", "8000"),
    ("30002", "徐丽", "85.00", "B", "6000"),
    ("30003", "马超", "80.00", "B", "4000"),
]
# The pilots' target letters (目标责任书), for
# `jixiao rollout targets docs/templates/targets_example.xlsx`.
TARGETS_EXAMPLE = [
    (
        "一分公司",
        "2026-11-05",
        "2026-11-15",
        "2026-11-25",
        "2026-12-01",
        "2026-12-31",
        "2027-01-01",
    ),
    (
        "二分公司",
        "2026-11-05",
        "2026-11-20",
        "2026-11-30",
        "2026-12-01",
        "2026-12-31",
        "2027-01-01",
    ),
]


def legacy_example() -> None:
    import datetime as dt
    from decimal import Decimal

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "旧系统结果"
    ws.append(["工号", "姓名", "总分", "等级", "绩效工资"])
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
    for number, name, total, grade, pay in LEGACY_EXAMPLE:
        ws.append([number, name, Decimal(total), grade, Decimal(pay)])
    for row in ws.iter_rows(min_row=2):
        row[0].number_format = "@"
        row[2].number_format = "0.00"
        row[4].number_format = "#,##0.00"
    ws.freeze_panes = "A2"
    _save(wb, "legacy_example.xlsx")

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "目标责任书"
    ws.append(
        ["机构", "环境就绪", "数据采集完成", "人员培训完成", "试运行", "验收通过", "正式运行"]
    )
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
    for inst, *days in TARGETS_EXAMPLE:
        ws.append([inst, *(dt.date.fromisoformat(d) for d in days)])
    for row in ws.iter_rows(min_row=2):
        for cell in row[1:]:
            cell.number_format = "yyyy-mm-dd"
    for letter in "ABCDEFG":
        ws.column_dimensions[letter].width = 14
    ws.freeze_panes = "B2"
    _save(wb, "targets_example.xlsx")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    org(example=False)
    org(example=True)
    org_csv()
    scheme(example=False)
    scheme(example=True)
    layered_example()
    scores_example()
    payroll_example()
    legacy_example()


if __name__ == "__main__":
    main()
