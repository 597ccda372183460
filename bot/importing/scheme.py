"""`import scheme`: one appraisal scheme from an .xlsx workbook, one sheet per table.

Sheets (Chinese or English name; headers likewise; * = required):

* 方案 / scheme, one row: 方案编码* code · 方案名称* name · 计薪方式 pay_mode (系数
  coefficient, 得分 score) · 得分小数位 score_places · 计薪精度 pay_quantum · 舍入方式
  rounding (四舍五入, 银行家舍入, 去尾, 进一 or ROUND_…) · 加分上限 bonus_cap · 扣分上限
  deduction_cap · 适用机构 institution (blank: the whole group; else a stored institution).
* 指标 / indicators, one row each, in the order scorers see them: 指标编码* code ·
  指标名称* name · 类型* kind (评分 score, 评级 rating, 加分 bonus, 扣分 deduction) · 权重
  weight · 最低分 min_score · 最高分 max_score · 评级档次 levels ("优:100, 良:85") ·
  评分标准 criteria · 低于此分须说明 comment_below · 满分须说明 comment_at_max · 每次分值
  per_incident · 计分规则 rule (metric kind: 线性 60-120 or 阶梯 100:100, 90:80) · 方向
  direction (metric kind: 正向/越高越好 higher (default), 反向/越低越好 lower) · 考核维度
  section (the section's code, in a scheme with sections).
  A metric (数据, 指标数据) indicator is scored from business data: its target and actual
  (`jixiao import metrics`) give a completion rate, its rule the points (bot/appraisal/metrics.py).
  A rating's scale comes from its levels (0 up to the best level's points); a bonus or
  deduction item's 最高分 is its cap. With 每次分值 (3: "−3 per incident"), the item is
  counted by incidents: scorers enter how many times, the total counts times × points,
  at most the cap.
* 考核人 / roles: 考核人* code (manager/直接上级, head/机构负责人, self/本人) · 名称 name
  (default: as written in 考核人) · 权重* weight.
* 考核维度 / sections (optional): 维度编码* code · 维度名称* name · 权重* weight (the
  sections add up to 100) · 考核人 scorers ("manager:60, head:40"; blank for a section
  of metric indicators). With sections, every weighted indicator names its section and
  the weights within each section add up to 100; each section's roles are re-weighted
  within it; the 考核人 sheet's weights still combine bonus and deduction items.
* 等级 / grades: 等级* grade · 等级名称* label · 最低分* min_score · 系数* coefficient.
* 强制分布 / quotas (optional), one grade quota rule a row: 等级* grades ("A" or "A,B") ·
  方向* bound (至多 at most, 至少 at least) · 比例 ratio (20%; a number is a percentage) or
  人数 head_count, exactly one · 范围 scope (机构 institution (default), 部门 department,
  全周期 period) · 取整 rounding (blank: the default; 四舍五入 half-up).
  See bot/appraisal/quotas.py.
* 岗位目标 / position_targets (optional), a target a row: 岗位* position · 指标* indicator
  (a metric indicator, by code or name) · 目标值* target (more than 0). Everyone in that
  position gets that target for the period unless `jixiao import metrics` gives one of
  their own or a row for their position (those come first). Part of the scheme version:
  a period keeps the targets of the version it was opened with.

A scheme whose code exists gets a new version, unless it is identical to the latest
version: then nothing is written.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal import audit, metrics
from bot.appraisal.pay import BandSpec, RoleSpec, levels_of
from bot.appraisal.periods import newest_scheme
from bot.appraisal.quotas import Rule
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import (
    Column,
    Progress,
    RowReader,
    Table,
    build_sheet,
    canonical,
    describe_sheet,
    holds_data,
    is_notes,
    open_workbook,
    simplified,
)
from bot.infra.i18n import _
from models import (
    GradeBand,
    Group,
    Indicator,
    IndicatorKind,
    Institution,
    PayMode,
    PositionTarget,
    QuotaBound,
    QuotaRounding,
    QuotaRule,
    QuotaScope,
    Scheme,
    ScorerRole,
    Section,
)
from models.scheme import KNOWN_ROLE_CODES

HUNDRED = Decimal(100)
CODE_MAX, NAME_MAX, GRADE_MAX = 64, 200, 16

SCHEME = (
    Column("code", ("方案编码", "编码", "code"), True),
    Column("name", ("方案名称", "名称", "name"), True),
    Column("pay_mode", ("计薪方式", "pay_mode")),
    Column("score_places", ("得分小数位", "score_places")),
    Column("pay_quantum", ("计薪精度", "pay_quantum")),
    Column("rounding", ("舍入方式", "rounding")),
    Column("bonus_cap", ("加分上限", "bonus_cap")),
    Column("deduction_cap", ("扣分上限", "deduction_cap")),
    Column("institution", ("适用机构", "机构", "institution")),
    # Workdays of the objection window after publication; blank: 5.
    Column("objection_days", ("公示期工作日", "公示期", "objection_days")),
)
INDICATORS = (
    Column("code", ("指标编码", "编码", "code"), True),
    Column("name", ("指标名称", "名称", "name"), True),
    Column("kind", ("类型", "指标类型", "kind"), True),
    Column("weight", ("权重", "weight")),
    Column("min_score", ("最低分", "min_score", "min")),
    Column("max_score", ("最高分", "满分", "max_score", "max")),
    Column("levels", ("评级档次", "档次", "levels")),
    Column("criteria", ("评分标准", "考核标准", "criteria")),
    Column("comment_below", ("低于此分须说明", "comment_below")),
    Column("comment_at_max", ("满分须说明", "comment_at_max")),
    Column("per_incident", ("每次分值", "每次扣分", "每次加分", "per_incident")),
    Column("rule", ("计分规则", "规则", "rule")),
    Column("direction", ("方向", "指标方向", "direction")),
    Column("section", ("考核维度", "维度", "section")),
)
SECTIONS = (
    Column("code", ("维度编码", "编码", "code"), True),
    Column("name", ("维度名称", "名称", "name"), True),
    Column("weight", ("权重", "weight"), True),
    Column("scorers", ("考核人", "评分人", "scorers", "roles")),
)
ROLES = (
    Column("code", ("考核人", "角色编码", "编码", "code", "role"), True),
    Column("name", ("名称", "角色名称", "name")),
    Column("weight", ("权重", "weight"), True),
)
GRADES = (
    Column("grade", ("等级", "等级代码", "grade"), True),
    Column("label", ("等级名称", "名称", "label", "name"), True),
    Column("min_score", ("最低分", "分数下限", "min_score"), True),
    Column("coefficient", ("系数", "绩效系数", "coefficient"), True),
)
QUOTAS = (
    Column("grades", ("等级", "考核等级", "grades", "grade"), True),
    Column("bound", ("方向", "限制", "上下限", "bound"), True),
    Column("ratio", ("比例", "ratio", "percent"), False),
    Column("head_count", ("人数", "head_count", "count"), False),
    Column("scope", ("范围", "适用范围", "scope"), False),
    Column("rounding", ("取整", "取整方式", "rounding"), False),
)
TARGETS = (
    Column("position", ("岗位", "职位", "position"), True),
    Column("indicator", ("指标", "指标编码", "指标名称", "indicator"), True),
    Column("target", ("目标值", "目标", "target"), True),
)
# Sheet → (names it goes by, its columns).
SHEETS: dict[str, tuple[tuple[str, ...], tuple[Column, ...]]] = {
    "scheme": (("方案", "scheme"), SCHEME),
    "indicators": (("指标", "indicators", "indicator"), INDICATORS),
    "roles": (("考核人", "roles", "scorers", "scorer_roles"), ROLES),
    "sections": (("考核维度", "维度", "sections"), SECTIONS),
    "grades": (("等级", "grades", "grade_bands", "bands"), GRADES),
    "quotas": (("强制分布", "等级配额", "quotas", "quota_rules"), QUOTAS),
    "targets": (("岗位目标", "岗位目标值", "position_targets", "targets"), TARGETS),
}
# Sheets a workbook may leave out (schemes written before quotas existed).
OPTIONAL = frozenset({"quotas", "sections", "targets"})
BOUND_WORDS = {
    "至多": QuotaBound.AT_MOST,
    "最多": QuotaBound.AT_MOST,
    "不超过": QuotaBound.AT_MOST,
    "上限": QuotaBound.AT_MOST,
    "atmost": QuotaBound.AT_MOST,
    "at_most": QuotaBound.AT_MOST,
    "max": QuotaBound.AT_MOST,
    "至少": QuotaBound.AT_LEAST,
    "最少": QuotaBound.AT_LEAST,
    "不少于": QuotaBound.AT_LEAST,
    "下限": QuotaBound.AT_LEAST,
    "atleast": QuotaBound.AT_LEAST,
    "at_least": QuotaBound.AT_LEAST,
    "min": QuotaBound.AT_LEAST,
}
SCOPE_WORDS = {
    "机构": QuotaScope.INSTITUTION,
    "分公司": QuotaScope.INSTITUTION,
    "institution": QuotaScope.INSTITUTION,
    "部门": QuotaScope.DEPARTMENT,
    "department": QuotaScope.DEPARTMENT,
    "全周期": QuotaScope.PERIOD,
    "整体": QuotaScope.PERIOD,
    "全部": QuotaScope.PERIOD,
    "全集团": QuotaScope.PERIOD,
    "period": QuotaScope.PERIOD,
    "wholeperiod": QuotaScope.PERIOD,
}
QUOTA_ROUNDING_WORDS = {
    "默认": QuotaRounding.DEFAULT,
    "default": QuotaRounding.DEFAULT,
    "四舍五入": QuotaRounding.HALF_UP,
    "halfup": QuotaRounding.HALF_UP,
    "half_up": QuotaRounding.HALF_UP,
    "half-up": QuotaRounding.HALF_UP,
    "round_half_up": QuotaRounding.HALF_UP,
}
_GRADE_SEPARATORS = re.compile(r"[,，、;；/\s]+")

KIND_WORDS = {
    "评分": IndicatorKind.SCORE,
    "打分": IndicatorKind.SCORE,
    "定量": IndicatorKind.SCORE,
    "score": IndicatorKind.SCORE,
    "评级": IndicatorKind.RATING,
    "定性": IndicatorKind.RATING,
    "rating": IndicatorKind.RATING,
    "加分": IndicatorKind.BONUS,
    "加分项": IndicatorKind.BONUS,
    "bonus": IndicatorKind.BONUS,
    "扣分": IndicatorKind.DEDUCTION,
    "扣分项": IndicatorKind.DEDUCTION,
    "deduction": IndicatorKind.DEDUCTION,
    "数据": IndicatorKind.METRIC,
    "指标数据": IndicatorKind.METRIC,
    "数据指标": IndicatorKind.METRIC,
    "业务数据": IndicatorKind.METRIC,
    "metric": IndicatorKind.METRIC,
}
PAY_MODE_WORDS = {
    "系数": PayMode.COEFFICIENT,
    "等级系数": PayMode.COEFFICIENT,
    "coefficient": PayMode.COEFFICIENT,
    "得分": PayMode.SCORE,
    "按得分": PayMode.SCORE,
    "score": PayMode.SCORE,
}
ROUNDING_WORDS = {
    "四舍五入": decimal.ROUND_HALF_UP,
    "银行家舍入": decimal.ROUND_HALF_EVEN,
    "四舍六入五成双": decimal.ROUND_HALF_EVEN,
    "去尾": decimal.ROUND_DOWN,
    "截尾": decimal.ROUND_DOWN,
    "进一": decimal.ROUND_UP,
    **{
        name.casefold(): name
        for name in (
            decimal.ROUND_HALF_UP,
            decimal.ROUND_HALF_EVEN,
            decimal.ROUND_HALF_DOWN,
            decimal.ROUND_DOWN,
            decimal.ROUND_UP,
            decimal.ROUND_FLOOR,
            decimal.ROUND_CEILING,
        )
    },
}
ROLE_WORDS = {
    **{code: code for code in KNOWN_ROLE_CODES},
    "直接上级": "manager",
    "上级": "manager",
    "主管": "manager",
    "机构负责人": "head",
    "一把手": "head",
    "负责人": "head",
    "本人": "self",
    "自评": "self",
    "本人自评": "self",
}
_LEVEL_SEPARATORS = re.compile(r"[,，、;；\n]+")
_LEVEL_PAIR = re.compile(r"^(.+?)\s*[:：=]\s*(.+)$")


@dataclass(frozen=True, slots=True)
class IndicatorDraft:
    code: str
    name: str
    kind: IndicatorKind
    weight: Decimal
    min_score: Decimal
    max_score: Decimal
    levels: tuple[tuple[str, Decimal], ...]
    criteria: str
    comment_below: Decimal | None
    comment_at_max: bool
    per_incident: Decimal | None = None
    rule: dict[str, Any] | None = None
    section: str | None = None


@dataclass(frozen=True, slots=True)
class SectionDraft:
    code: str
    name: str
    weight: Decimal
    roles: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class TargetDraft:
    """A metric indicator's target for everyone in a position (the 岗位目标 sheet)."""

    position: str
    indicator: str  # its code
    target: Decimal


# A checked role or band is exactly what the pay engine holds of one.
RoleDraft = RoleSpec
BandDraft = BandSpec


@dataclass(frozen=True, slots=True)
class SchemeDraft:
    """A checked scheme, not yet stored; equal drafts describe identical schemes."""

    code: str
    name: str
    institution_id: int | None
    pay_mode: PayMode
    score_places: int
    pay_quantum: Decimal
    rounding: str
    bonus_cap: Decimal | None
    deduction_cap: Decimal | None
    objection_days: int | None
    indicators: tuple[IndicatorDraft, ...]
    roles: tuple[RoleDraft, ...]
    bands: tuple[BandDraft, ...]  # highest min_score first
    quotas: tuple[Rule, ...] = ()
    sections: tuple[SectionDraft, ...] = ()
    targets: tuple[TargetDraft, ...] = ()

    @classmethod
    def of(cls, scheme: Scheme) -> SchemeDraft:
        return cls(
            code=scheme.code,
            name=scheme.name,
            institution_id=scheme.institution_id,
            pay_mode=PayMode(scheme.pay_mode),
            score_places=scheme.score_places,
            pay_quantum=scheme.pay_quantum,
            rounding=scheme.rounding,
            bonus_cap=scheme.bonus_cap,
            deduction_cap=scheme.deduction_cap,
            objection_days=scheme.objection_days,
            indicators=tuple(
                IndicatorDraft(
                    code=i.code,
                    name=i.name,
                    kind=IndicatorKind(i.kind),
                    weight=i.weight,
                    min_score=i.min_score,
                    max_score=i.max_score,
                    levels=levels_of(i.levels),
                    criteria=i.criteria,
                    comment_below=i.comment_below,
                    comment_at_max=i.comment_at_max,
                    per_incident=i.per_incident,
                    rule=i.rule,
                    section=i.section,
                )
                for i in sorted(scheme.indicators, key=lambda i: i.position)
            ),
            roles=tuple(
                RoleDraft(r.code, r.name, r.weight)
                for r in sorted(scheme.roles, key=lambda r: r.position)
            ),
            bands=tuple(
                BandDraft(g.grade, g.label, g.min_score, g.coefficient)
                for g in sorted(scheme.grades, key=lambda g: g.min_score, reverse=True)
            ),
            quotas=tuple(Rule.of(q) for q in sorted(scheme.quotas, key=lambda q: q.position)),
            sections=tuple(
                SectionDraft(s.code, s.name, s.weight, tuple((c, Decimal(w)) for c, w in s.roles))
                for s in sorted(scheme.sections, key=lambda s: s.position)
            ),
            targets=tuple(
                TargetDraft(t.position, t.indicator.code, t.target)
                for t in sorted(scheme.position_targets, key=lambda t: t.seq)
            ),
        )


@dataclass(slots=True)
class SchemeReport:
    source: str
    code: str
    version: int
    written: bool
    indicators: int = 0
    roles: int = 0
    grades: int = 0
    quotas: int = 0
    targets: int = 0
    # What the reading left aside: other sheets, and per sheet its ignored columns and
    # skipped totals rows.
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.written:
            return [
                _("Scheme {code} is identical to its version {version}: nothing written.").format(
                    code=self.code, version=self.version
                ),
                *self.notes,
            ]
        return [
            _(
                "Imported {source}: scheme {code} version {version}, {indicators} indicators, "
                "{roles} scorer roles, {grades} grades."
            ).format(
                source=self.source,
                code=self.code,
                version=self.version,
                indicators=self.indicators,
                roles=self.roles,
                grades=self.grades,
            ),
            *([_("{n} grade quota rules.").format(n=self.quotas)] if self.quotas else []),
            *(
                [_("{n} position targets of metric indicators.").format(n=self.targets)]
                if self.targets
                else []
            ),
            *self.notes,
        ]


def import_scheme(
    session: Session,
    now: dt.datetime,
    path: Path,
    group: Group,
    *,
    progress: Progress | None = None,
) -> SchemeReport:
    """Import the scheme workbook at `path` into `group`: a new version, or nothing when
    identical to the latest. Raises ImportRefused listing every problem, having written
    nothing. Never commits. `progress` is told of rows as they are read."""
    problems = Problems()
    others: list[str] = []
    tables = read_workbook(Path(path), problems, others=others, progress=progress)
    problems.raise_if_any()
    draft = check(session, group, tables, problems)
    problems.raise_if_any()
    assert draft is not None
    report = store(session, now, group, draft, source=Path(path).name)
    if others:
        report.notes.append(_("Sheets not read: {sheets}.").format(sheets=_(", ").join(others)))
    for table in tables.values():
        report.notes.extend(
            _("Sheet {sheet}: {note}").format(sheet=table.name, note=line)
            for line in table.lines()[1:]  # the first says which sheet was read
        )
    return report


def read_workbook(
    path: Path,
    problems: Problems,
    *,
    others: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Table]:
    """The sheets as tables (the quota sheet only if there is one); `others` receives the
    names of any other sheets that hold something (a notes sheet aside), which the report
    names as not read."""
    if path.suffix.casefold() not in (".xlsx", ".xlsm"):
        problems.add(
            _("file {path}: a scheme is imported from an .xlsx workbook").format(path=path.name)
        )
        return {}
    wb = open_workbook(path, problems)
    if wb is None:
        return {}
    tables: dict[str, Table] = {}
    try:
        by_name = {canonical(ws.title): ws for ws in wb.worksheets}
        used = []
        for key, (names, columns) in SHEETS.items():
            ws = next((by_name[canonical(n)] for n in names if canonical(n) in by_name), None)
            if ws is None:
                if key in OPTIONAL:
                    continue
                problems.add(
                    _("sheet {sheet} is missing (the workbook has: {sheets})").format(
                        sheet=names[0], sheets=_(", ").join(w.title for w in wb.worksheets)
                    )
                )
                continue
            used.append(ws)
            tables[key] = build_sheet(ws, columns, problems, sheet=ws.title, progress=progress)
        if others is not None:
            others.extend(
                describe_sheet(ws)
                for ws in wb.worksheets
                if ws not in used and not is_notes(ws.title) and _anything(ws)
            )
    finally:
        wb.close()
    return tables


def _anything(ws: Any) -> bool:
    if ws.sheet_state != "visible":
        return True  # a hidden sheet is named, whatever it holds
    return holds_data(ws)


def _weight(value: object) -> Decimal:
    # An Excel percentage cell (0.7 shown as 70%) arrives as "70%": 70 percent.
    weight = cells.decimal(value, percent=True)
    if weight < 0:
        raise BadCell(_("is negative: a weight is zero or more"))
    return weight


def _grade(value: object) -> str:
    cells.words(value)  # a date is no grade
    return cells.folded(value)


def _not_negative(value: object) -> Decimal:
    number = cells.decimal(value)
    if number < 0:
        raise BadCell(_("is negative"))
    return number


def _word(words: dict[str, Any], hint: str) -> Callable[[object], Any]:
    def read(value: object) -> Any:
        word = simplified(cells.folded(value)).casefold().replace(" ", "")
        if word not in words:
            raise BadCell(hint)
        return words[word]

    return read


def check(
    session: Session, group: Group, tables: dict[str, Table], problems: Problems
) -> SchemeDraft | None:
    """Every rule a scheme must meet, each broken one noted; the draft if all hold."""
    head = _scheme_row(session, group, tables["scheme"], problems)
    indicators = _indicators(tables["indicators"], problems)
    layered = "sections" in tables and bool(tables["sections"].rows)
    if indicators is not None and not layered:
        # Checked here, so the indicators sheet's problems come before the roles sheet's.
        _weights_add_up(tables["indicators"], indicators, (), problems)
    roles = _roles(tables["roles"], problems)
    bands = _bands(tables["grades"], problems)
    quotas: tuple[Rule, ...] | None = ()
    if "quotas" in tables and bands is not None:
        quotas = _quotas(tables["quotas"], bands, problems)
    sections: tuple[SectionDraft, ...] | None = ()
    if layered:
        sections = _sections(tables["sections"], roles or (), problems)
        if indicators is not None and sections is not None:
            _weights_add_up(tables["indicators"], indicators, sections, problems)
    targets: tuple[TargetDraft, ...] | None = ()
    if "targets" in tables:
        targets = _targets(tables["targets"], indicators, problems)
    if (
        head is None
        or indicators is None
        or roles is None
        or bands is None
        or quotas is None
        or sections is None
        or targets is None
        or problems
    ):
        return None
    return SchemeDraft(
        **head,
        indicators=indicators,
        roles=roles,
        bands=bands,
        quotas=quotas,
        sections=sections,
        targets=targets,
    )


def _targets(
    table: Table, indicators: tuple[IndicatorDraft, ...] | None, problems: Problems
) -> tuple[TargetDraft, ...] | None:
    """Targets per position of the scheme's metric indicators, each row checked on its
    own; a position's target of an indicator given once. With a broken indicators sheet
    the indicator column waits for it to be put right (its problems are named there)."""
    metric = {
        canonical(w): i
        for i in indicators or ()
        if i.kind == IndicatorKind.METRIC
        for w in (i.name, i.code)
    }
    others = {
        canonical(w)
        for i in indicators or ()
        if i.kind != IndicatorKind.METRIC
        for w in (i.code, i.name)
    }
    listed = _(", ").join(
        f"{i.name} ({i.code})" for i in indicators or () if i.kind == IndicatorKind.METRIC
    )

    def indicator_of(value: object) -> IndicatorDraft | None:
        word = canonical(cells.text(value))
        if indicators is None:
            return None
        found = metric.get(word)
        if found is not None:
            return found
        if not listed:
            raise BadCell(_("the scheme has no metric (数据) indicator to give a target to"))
        if word in others:
            raise BadCell(
                _("is scored by people, not by data: metric indicators are {names}").format(
                    names=listed
                )
            )
        raise BadCell(
            _("is not a metric indicator of this scheme: use {names}").format(names=listed)
        )

    found: list[TargetDraft] = []
    first_row: dict[tuple[str, str], int] = {}
    ok = True
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        position = r.get("position", cells.words, required=True, max_len=NAME_MAX)
        ind = r.get("indicator", indicator_of, required=True)
        target = r.get("target", functools.partial(cells.decimal, money=True), required=True)
        if position is not None and target is not None:
            shown = ind.name if ind is not None else cells.text(row.cells.get("indicator"))
            who = _("position {position}").format(position=position)
            if (why := metrics.target_problem(target, shown, who)) is not None:
                r.bad("target", why)
        if position is not None and ind is not None:
            key = (position, ind.code)
            if key in first_row:
                r.bad(
                    "position",
                    _("this position's target of {indicator} is already in row {row}").format(
                        indicator=ind.name, row=first_row[key]
                    ),
                )
            else:
                first_row[key] = row.number
        if not r.ok or ind is None or position is None or target is None:
            ok = False
            continue
        found.append(TargetDraft(position, ind.code, target))
    if not ok:
        return None
    return tuple(found)


def _scheme_row(
    session: Session, group: Group, table: Table, problems: Problems
) -> dict[str, Any] | None:
    if len(table.rows) != 1:
        problems.add(
            _("the sheet must have exactly one scheme row, it has {n}").format(n=len(table.rows)),
            sheet=table.name,
        )
        return None
    r = RowReader(table, table.rows[0], problems, sheet=table.name)
    code = r.get("code", cells.code, required=True, max_len=CODE_MAX)
    name = r.get("name", cells.words, required=True, max_len=NAME_MAX)
    pay_mode = r.get("pay_mode", _word(PAY_MODE_WORDS, _("is not a pay mode: use 系数 or 得分")))
    places = r.get("score_places", cells.decimal)
    if places is not None and (places != places.to_integral_value() or not 0 <= places <= 6):
        r.bad("score_places", _("is not a whole number from 0 to 6"))
    quantum = r.get("pay_quantum", cells.decimal)
    if quantum is not None and quantum <= 0:
        r.bad("pay_quantum", _("must be more than 0, such as 0.01 or 1"))
    rounding = r.get(
        "rounding",
        _word(ROUNDING_WORDS, _("is not a rounding: use 四舍五入, 银行家舍入, 去尾 or 进一")),
    )
    bonus_cap = r.get("bonus_cap", _not_negative)
    deduction_cap = r.get("deduction_cap", _not_negative)
    window = r.get("objection_days", cells.decimal)
    if window is not None and (window != window.to_integral_value() or not 0 <= window <= 60):
        r.bad("objection_days", _("is not a whole number of workdays from 0 to 60"))
    institution_id = None
    inst_name = r.get("institution", cells.words)
    if inst_name:
        institution_id = session.scalar(
            select(Institution.id).where(
                Institution.group_id == group.id, Institution.name == inst_name
            )
        )
        if institution_id is None:
            r.bad(
                "institution",
                _("no institution of this name in group {group}").format(group=group.name),
            )
    if not r.ok:
        return None
    return {
        "code": code,
        "name": name,
        "institution_id": institution_id,
        "pay_mode": pay_mode or PayMode.COEFFICIENT,
        "score_places": int(places) if places is not None else 2,
        "pay_quantum": quantum if quantum is not None else Decimal("0.01"),
        "rounding": rounding or decimal.ROUND_HALF_UP,
        "bonus_cap": bonus_cap,
        "deduction_cap": deduction_cap,
        "objection_days": int(window) if window is not None else None,
    }


def _levels(value: object) -> tuple[tuple[str, Decimal], ...]:
    levels: list[tuple[str, Decimal]] = []
    for item in _LEVEL_SEPARATORS.split(cells.text(value)):
        item = item.strip()
        if not item:
            continue
        match = _LEVEL_PAIR.match(item)
        if match is None:
            raise BadCell(_("write levels as label:points, such as 优:100, 良:85"))
        label = match.group(1).strip()
        try:
            points = cells.decimal(match.group(2))
        except BadCell:
            raise BadCell(
                _("the points of level {label} are not a number").format(label=label)
            ) from None
        if points < 0:
            raise BadCell(_("the points of level {label} are negative").format(label=label))
        if any(label == seen for seen, _pts in levels):
            raise BadCell(_("level {label} appears twice").format(label=label))
        levels.append((label, points))
    return tuple(sorted(levels, key=lambda lv: lv[1], reverse=True))


def _indicators(table: Table, problems: Problems) -> tuple[IndicatorDraft, ...] | None:
    found: list[IndicatorDraft] = []
    first_row: dict[str, int] = {}
    ok = True
    kind_of = _word(KIND_WORDS, _("is not an indicator type: use 评分, 评级, 加分 or 扣分"))
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        code = r.get("code", cells.code, required=True, max_len=CODE_MAX)
        name = r.get("name", cells.words, required=True, max_len=NAME_MAX)
        kind = r.get("kind", kind_of, required=True)
        weight = r.get("weight", _weight)
        low = r.get("min_score", cells.decimal)
        high = r.get("max_score", cells.decimal)
        levels = r.get("levels", _levels) or ()
        criteria = r.get("criteria", cells.words) or ""
        comment_below = r.get("comment_below", cells.decimal)
        comment_at_max = bool(r.get("comment_at_max", cells.flag))
        per_incident = r.get("per_incident", cells.decimal)
        direction = r.get(
            "direction",
            _word(metrics.DIRECTION_WORDS, _("is not a direction: use 正向 or 反向")),
        )
        rule = None
        if kind == IndicatorKind.METRIC:
            if r.blank("rule"):
                r.bad(
                    "rule", _("a metric indicator needs a rule: 线性 60-120 or 阶梯 100:100, 90:80")
                )
            else:
                rule = r.get("rule", functools.partial(_rule, direction=direction))
        elif kind is not None and not (r.blank("rule") and r.blank("direction")):
            r.bad("rule", _("is only for metric (数据) indicators: leave it empty"))
        section = r.get("section", cells.code, max_len=CODE_MAX)
        if code is not None:
            if code in first_row:
                r.bad(
                    "code", _("the same code is already in row {row}").format(row=first_row[code])
                )
            else:
                first_row[code] = row.number
        if kind in _WEIGHTED:
            if weight is None:
                r.bad("weight", _("is required for a score, rating or metric indicator"))
            elif weight == 0:
                r.bad("weight", _("must be more than 0 for a score, rating or metric indicator"))
        elif kind is not None and weight:
            r.bad("weight", _("must be empty or 0 for a bonus or deduction item"))
        if kind == IndicatorKind.SCORE:
            low = Decimal(0) if r.blank("min_score") else low
            high = HUNDRED if r.blank("max_score") else high
            if low is not None and high is not None and low >= high:
                r.bad("max_score", _("must be more than the lowest score {low}").format(low=low))
        elif kind == IndicatorKind.METRIC:
            low, high = Decimal(0), HUNDRED
        elif kind == IndicatorKind.RATING:
            if r.blank("levels"):
                r.bad("levels", _("a rating indicator needs levels, such as 优:100, 良:85"))
            elif levels and levels[0][1] <= 0:
                r.bad("levels", _("the best level must be worth more than 0 points"))
            low = Decimal(0)
            high = levels[0][1] if levels else None
        elif kind is not None:
            low = Decimal(0)
            if r.blank("max_score"):
                r.bad("max_score", _("is required: the most points this item can give or take"))
            elif high is not None and high <= 0:
                r.bad("max_score", _("must be more than 0"))
            if per_incident is not None and per_incident <= 0:
                r.bad("per_incident", _("must be more than 0"))
        if per_incident is not None and kind in _WEIGHTED:
            r.bad("per_incident", _("is only for bonus and deduction items: leave it empty"))
        if not r.ok:
            ok = False
            continue
        found.append(
            IndicatorDraft(
                code=code,
                name=name,
                kind=kind,
                weight=weight or Decimal(0),
                min_score=low,
                max_score=high,
                levels=levels if kind == IndicatorKind.RATING else (),
                criteria=criteria,
                comment_below=comment_below,
                comment_at_max=comment_at_max,
                per_incident=per_incident,
                rule=rule,
                section=section,
            )
        )
    if not table.rows:
        problems.add(_("there are no indicators"), sheet=table.name)
        return None
    if not ok:
        return None
    return tuple(found)


def _rule(value: object, direction: str | None) -> dict[str, Any]:
    try:
        return metrics.parse(cells.text(value), direction or metrics.HIGHER)
    except metrics.BadRule as exc:
        raise BadCell(str(exc)) from None


def _weights_add_up(
    table: Table,
    indicators: tuple[IndicatorDraft, ...],
    sections: tuple[SectionDraft, ...],
    problems: Problems,
) -> None:
    """Without sections the weighted indicators add up to 100; with them, each section's
    do, every weighted indicator names a known section and a section nobody scores holds
    metric indicators only."""
    if not sections:
        for n, ind in enumerate(indicators):
            if ind.section is not None:
                problems.add(
                    _("names a section, but the workbook has no 考核维度 (sections) sheet"),
                    sheet=table.name,
                    row=table.rows[n].number,
                    column=table.header("section"),
                    value=ind.section,
                )
        total = sum((i.weight for i in indicators if i.kind in _WEIGHTED), Decimal(0))
        if total != HUNDRED:
            said = (
                _("the weights of score, rating and metric indicators add up to {total}, not 100")
                if any(i.kind == IndicatorKind.METRIC for i in indicators)
                else _("the weights of score and rating indicators add up to {total}, not 100")
            )
            problems.add(
                said.format(total=total) + _fraction_hint(total),
                sheet=table.name,
                column=table.header("weight"),
            )
        return
    known = {s.code: s for s in sections}
    for n, ind in enumerate(indicators):
        where: dict[str, Any] = {
            "sheet": table.name,
            "row": table.rows[n].number,
            "column": table.header("section"),
            "value": ind.section or "",
        }
        if ind.kind not in _WEIGHTED:
            if ind.section is not None:
                problems.add(_("bonus and deduction items belong to no section"), **where)
        elif ind.section is None:
            problems.add(_("is required: the section this indicator belongs to"), **where)
        elif ind.section not in known:
            problems.add(
                _("no such section (the sheet 考核维度 has {codes})").format(
                    codes=_(", ").join(known)
                ),
                **where,
            )
        elif not known[ind.section].roles and ind.kind != IndicatorKind.METRIC:
            problems.add(
                _("section {code} has no scorer, so it can hold metric indicators only").format(
                    code=ind.section
                ),
                **where,
            )
    for section in sections:
        total = sum(
            (i.weight for i in indicators if i.kind in _WEIGHTED and i.section == section.code),
            Decimal(0),
        )
        if total != HUNDRED:
            problems.add(
                _(
                    "the weights of the indicators of section {code} add up to {total}, not 100"
                ).format(code=section.code, total=total),
                sheet=table.name,
                column=table.header("weight"),
            )


def _sections(
    table: Table, roles: tuple[RoleDraft, ...], problems: Problems
) -> tuple[SectionDraft, ...] | None:
    found: list[SectionDraft] = []
    first_row: dict[str, int] = {}
    known = {r.code for r in roles}
    ok = True
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        code = r.get("code", cells.code, required=True, max_len=CODE_MAX)
        name = r.get("name", cells.words, required=True, max_len=NAME_MAX)
        weight = r.get("weight", _weight, required=True)
        scorers = r.get("scorers", _scorers) or ()
        if code is not None:
            if code in first_row:
                r.bad(
                    "code", _("the same code is already in row {row}").format(row=first_row[code])
                )
            else:
                first_row[code] = row.number
        if weight is not None and weight == 0:
            r.bad("weight", _("must be more than 0"))
        unknown = [c for c, _w in scorers if c not in known]
        if unknown and roles:
            r.bad(
                "scorers",
                _("not in the 考核人 (roles) sheet: {roles}").format(roles=_(", ").join(unknown)),
            )
        share = sum((w for _c, w in scorers), Decimal(0))
        if scorers and share != HUNDRED:
            r.bad(
                "scorers",
                _("the scorers' weights add up to {total}, not 100").format(total=share),
            )
        if not r.ok:
            ok = False
            continue
        found.append(SectionDraft(code, name, weight, scorers))
    if not ok:
        return None
    total = sum((s.weight for s in found), Decimal(0))
    if total != HUNDRED:
        problems.add(
            _("the weights of the sections add up to {total}, not 100").format(total=total)
            + _fraction_hint(total),
            sheet=table.name,
            column=table.header("weight"),
        )
        return None
    return tuple(found)


def _scorers(value: object) -> tuple[tuple[str, Decimal], ...]:
    """ "manager:60, head:40" (or 直接上级:100): each role and its weight in the section."""
    found: list[tuple[str, Decimal]] = []
    for item in _LEVEL_SEPARATORS.split(cells.text(value)):
        item = item.strip()
        if not item:
            continue
        match = _LEVEL_PAIR.match(item)
        word = simplified(cells.folded(match.group(1) if match else item)).casefold()
        code = ROLE_WORDS.get(word.replace(" ", ""))
        if match is None or code is None:
            raise BadCell(
                _(
                    "write the scorers as role:weight, such as manager:60, head:40 (roles: {codes})"
                ).format(codes=", ".join(("manager/直接上级", "head/机构负责人", "self/本人")))
            )
        try:
            weight = cells.decimal(match.group(2), percent=True)
        except BadCell:
            raise BadCell(_("the weight of {role} is not a number").format(role=code)) from None
        if any(code == seen for seen, _w in found):
            raise BadCell(_("{role} appears twice").format(role=code))
        found.append((code, weight))
    return tuple(found)


_WEIGHTED = (IndicatorKind.SCORE, IndicatorKind.RATING, IndicatorKind.METRIC)


def _fraction_hint(total: Decimal) -> str:
    """Weights written as fractions (0.7) add up to 1: say how to write them."""
    if total == 1:
        return _(
            " (weights look like fractions: write {example} for seventy percent, not 0.7; "
            "a cell formatted as a percentage in Excel is read as it shows)"
        ).format(example="70 / 70%")
    return ""


def _roles(table: Table, problems: Problems) -> tuple[RoleDraft, ...] | None:
    found: list[RoleDraft] = []
    first_row: dict[str, int] = {}
    ok = True
    role_of = _word(
        ROLE_WORDS,
        _("is not a scorer role: use {codes}").format(
            codes=", ".join(("manager/直接上级", "head/机构负责人", "self/本人"))
        ),
    )
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        code = r.get("code", role_of, required=True)
        name = r.get("name", cells.words, max_len=NAME_MAX) or cells.text(row.cells.get("code"))
        weight = r.get("weight", _weight, required=True)
        if code is not None:
            if code in first_row:
                r.bad("code", _("this role is already in row {row}").format(row=first_row[code]))
            else:
                first_row[code] = row.number
        if not r.ok:
            ok = False
            continue
        found.append(RoleDraft(code, name[:NAME_MAX], weight))
    if not table.rows:
        problems.add(_("there are no scorer roles"), sheet=table.name)
        return None
    if not ok:
        return None
    total = sum((r.weight for r in found), Decimal(0))
    if total != HUNDRED:
        problems.add(
            _("the weights of the scorer roles add up to {total}, not 100").format(total=total)
            + _fraction_hint(total),
            sheet=table.name,
            column=table.header("weight"),
        )
        return None
    return tuple(found)


def _bands(table: Table, problems: Problems) -> tuple[BandDraft, ...] | None:
    found: list[tuple[int, BandDraft]] = []
    grade_row: dict[str, int] = {}
    min_row: dict[Decimal, int] = {}
    ok = True
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        grade = r.get("grade", _grade, required=True, max_len=GRADE_MAX)
        label = r.get("label", cells.words, required=True, max_len=NAME_MAX)
        low = r.get("min_score", cells.decimal, required=True)
        coefficient = r.get("coefficient", _not_negative, required=True)
        if grade is not None:
            if grade in grade_row:
                r.bad(
                    "grade",
                    _("the same grade is already in row {row}").format(row=grade_row[grade]),
                )
            else:
                grade_row[grade] = row.number
        if low is not None:
            if low in min_row:
                r.bad(
                    "min_score",
                    _("another grade starts at this score, in row {row}").format(row=min_row[low]),
                )
            else:
                min_row[low] = row.number
        if not r.ok:
            ok = False
            continue
        found.append((row.number, BandDraft(grade, label, low, coefficient)))
    if not table.rows:
        problems.add(_("there must be at least one grade"), sheet=table.name)
        return None
    if not ok:
        return None
    found.sort(key=lambda item: item[1].min_score)
    for (_below_row, below), (row_number, above) in itertools.pairwise(found):
        if above.coefficient < below.coefficient:
            problems.add(
                _(
                    "the coefficient falls as the score rises: grade {grade} has a lower "
                    "coefficient than grade {lower}"
                ).format(grade=above.grade, lower=below.grade),
                sheet=table.name,
                row=row_number,
                column=table.header("coefficient"),
                value=str(above.coefficient),
            )
            ok = False
    if not ok:
        return None
    return tuple(band for _row, band in reversed(found))


def _grades(value: object) -> tuple[str, ...]:
    found: list[str] = []
    for part in _GRADE_SEPARATORS.split(cells.folded(value)):
        if part and part not in found:
            found.append(part)
    if not found:
        raise BadCell(_("name one or more grades, such as A or A,B"))
    return tuple(found)


def _ratio(value: object) -> Decimal:
    # A percentage cell arrives as "20%": 20 percent; a plain 20 means the same.
    ratio = cells.decimal(value, percent=True)
    if ratio < 0:
        raise BadCell(_("is negative: a ratio is from 0% to 100%"))
    if ratio > HUNDRED:
        raise BadCell(_("is more than 100%: no group can meet it"))
    return ratio


def _head_count(value: object) -> int:
    count = cells.decimal(value)
    if count != count.to_integral_value() or count < 0:
        raise BadCell(_("is not a whole number of people, 0 or more"))
    return int(count)


def _quotas(
    table: Table, bands: tuple[BandDraft, ...], problems: Problems
) -> tuple[Rule, ...] | None:
    """Quota rules, each checked on its own against the scheme's grades. Whether a group
    can meet a rule (at least 2 of a group of 1) is known only once the period's people
    are: `jixiao results compute` says so, naming the rule's row."""
    order = [b.grade for b in bands]
    found: list[Rule] = []
    ok = True
    bound_of = _word(BOUND_WORDS, _("is not a bound: use 至多 (at most) or 至少 (at least)"))
    scope_of = _word(SCOPE_WORDS, _("is not a scope: use 机构, 部门 or 全周期"))
    rounding_of = _word(
        QUOTA_ROUNDING_WORDS, _("is not a quota rounding: leave it blank or use 四舍五入")
    )
    for row in table.rows:
        r = RowReader(table, row, problems, sheet=table.name)
        grades = r.get("grades", _grades, required=True)
        bound = r.get("bound", bound_of, required=True)
        ratio = r.get("ratio", _ratio)
        head_count = r.get("head_count", _head_count)
        scope = r.get("scope", scope_of) or QuotaScope.INSTITUTION
        rounding = r.get("rounding", rounding_of) or QuotaRounding.DEFAULT
        if grades is not None:
            unknown = [g for g in grades if g not in order]
            if unknown:
                r.bad(
                    "grades",
                    _("no such grade in this scheme: {grades} (the scheme has {known})").format(
                        grades=_(", ").join(unknown), known=_(", ").join(order)
                    ),
                )
        if r.blank("ratio") and r.blank("head_count"):
            r.bad("ratio", _("give a ratio (such as 20%) or a head count"))
        elif not r.blank("ratio") and not r.blank("head_count"):
            r.bad("head_count", _("give a ratio or a head count, not both"))
        if not r.ok:
            ok = False
            continue
        rule = Rule(row.number, grades, bound, ratio, head_count, scope, rounding)
        why = rule.alone_impossible(order)
        if why is not None:
            r.bad("grades", _("this rule cannot be met: {why}").format(why=why))
            ok = False
            continue
        found.append(rule)
    if not ok:
        return None
    return tuple(found)


def store(
    session: Session, now: dt.datetime, group: Group, draft: SchemeDraft, *, source: str = ""
) -> SchemeReport:
    """Add `draft` as the scheme's next version, unless the latest one is identical."""
    previous = newest_scheme(session, group, draft.code)
    if previous is not None and SchemeDraft.of(previous) == draft:
        return SchemeReport(source, draft.code, previous.version, written=False)
    version = previous.version + 1 if previous is not None else 1
    scheme = Scheme(
        group_id=group.id,
        code=draft.code,
        version=version,
        name=draft.name,
        institution_id=draft.institution_id,
        pay_mode=draft.pay_mode,
        score_places=draft.score_places,
        pay_quantum=draft.pay_quantum,
        rounding=draft.rounding,
        bonus_cap=draft.bonus_cap,
        deduction_cap=draft.deduction_cap,
        objection_days=draft.objection_days,
        created_at=now,
    )
    scheme.indicators = [
        Indicator(
            position=pos,
            code=i.code,
            name=i.name,
            kind=i.kind,
            weight=i.weight,
            min_score=i.min_score,
            max_score=i.max_score,
            # JSON has no exact number: points are kept as text, as the pay engine reads them.
            levels=[[label, str(points)] for label, points in i.levels],
            criteria=i.criteria,
            comment_below=i.comment_below,
            comment_at_max=i.comment_at_max,
            per_incident=i.per_incident,
            rule=i.rule,
            section=i.section,
        )
        for pos, i in enumerate(draft.indicators, start=1)
    ]
    scheme.sections = [
        Section(
            position=pos,
            code=sec.code,
            name=sec.name,
            weight=sec.weight,
            roles=[[code, str(weight)] for code, weight in sec.roles],
        )
        for pos, sec in enumerate(draft.sections, start=1)
    ]
    by_code = {i.code: i for i in scheme.indicators}
    scheme.position_targets = [
        PositionTarget(seq=n, position=t.position, indicator=by_code[t.indicator], target=t.target)
        for n, t in enumerate(draft.targets, start=1)
    ]
    scheme.roles = [
        ScorerRole(position=pos, code=r.code, name=r.name, weight=r.weight)
        for pos, r in enumerate(draft.roles, start=1)
    ]
    scheme.grades = [
        GradeBand(grade=b.grade, label=b.label, min_score=b.min_score, coefficient=b.coefficient)
        for b in draft.bands
    ]
    scheme.quotas = [
        QuotaRule(
            position=pos,
            row=q.row,
            grades=list(q.grades),
            bound=q.bound,
            ratio=q.ratio,
            head_count=q.head_count,
            scope=q.scope,
            rounding=q.rounding,
        )
        for pos, q in enumerate(draft.quotas, start=1)
    ]
    session.add(scheme)
    session.flush()
    report = SchemeReport(
        source,
        draft.code,
        version,
        written=True,
        indicators=len(draft.indicators),
        roles=len(draft.roles),
        grades=len(draft.bands),
        quotas=len(draft.quotas),
        targets=len(draft.targets),
    )
    audit.record(
        session,
        now,
        "import.scheme",
        "scheme",
        scheme.id,
        actor_label="import",
        before={"version": previous.version} if previous is not None else None,
        after={
            "code": draft.code,
            "version": version,
            "indicators": report.indicators,
            "roles": report.roles,
            "grades": report.grades,
            "quotas": report.quotas,
            "sections": len(draft.sections),
            "targets": len(draft.targets),
        },
        note=source,
    )
    return report
