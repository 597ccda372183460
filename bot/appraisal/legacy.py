"""The parallel run with the old (outsourced) system (新旧考核体系的平稳过渡).

`import_file` loads the old system's per-employee results for a period: 工号, 总分 and/or
等级, 绩效工资 (姓名 optional, checked against the 工号). Read like every import: all or
nothing, every bad row named. A grade is written as the period scheme's grade code or
name (A or 优秀), so that old and new grades can be ordered. The file is the old
system's whole result for the period: a new file replaces the previous one; a note HR
wrote on a difference survives when that person's old figures are unchanged.

`compare` puts each employee's old and new figures side by side, by the institution
they were paid in (institutions the old file does not cover are not in the parallel run
and left out): the pay difference (new − old: how much more the institution pays
with the new system), the grade moved up or down, the total difference, and the main
reasons. A difference is explained once HR wrote a note on it (`explain`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.appraisal import audit, checksum
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, RowReader, canonical, read_table
from bot.infra.errors import Refused
from bot.infra.i18n import _, money
from models import (
    Employee,
    GradeBand,
    Institution,
    LegacyResult,
    Period,
    PeriodState,
    Result,
)

ZERO = Decimal(0)
Progress = Callable[[int], None]
COLUMNS = (
    Column(
        "number",
        ("工号", "员工工号", "员工编号", "员工号", "人员编号", "Employee No.", "number"),
        True,
    ),
    Column("name", ("姓名", "员工姓名", "Name")),
    Column("total", ("总分", "考核得分", "得分", "Total score", "total", "score")),
    Column("grade", ("等级", "考核等级", "Grade")),
    Column("pay", ("绩效工资", "实发绩效工资", "Performance pay", "pay"), True),
    # The pay sheet's other columns, known so that an old pay sheet reads as it is.
    Column("institution", ("机构", "Institution")),
    Column("department", ("部门", "Department")),
    Column("coefficient", ("系数", "绩效系数", "Coefficient")),
    Column("pay_base", ("绩效工资基数", "Performance pay base")),
    Column("status", ("状态", "Status")),
)


def _grades(session: Session, period: Period) -> list[GradeBand]:
    """The period scheme's grades, best first."""
    return list(
        session.scalars(
            select(GradeBand)
            .where(GradeBand.scheme_id == period.scheme_id)
            .order_by(GradeBand.min_score.desc())
        )
    )


def _total(value: object) -> Decimal:
    total = cells.decimal(value)
    if total < 0:
        raise BadCell(_("is negative: a total score is zero or more"))
    return total


def _pay(value: object) -> Decimal:
    amount = cells.decimal(value, money=True)
    if amount < 0:
        raise BadCell(_("is negative: performance pay is zero or more"))
    if cells.places(amount) > 2:
        raise BadCell(_("has more than two decimal places (yuan and fen)"))
    return amount


@dataclass(frozen=True, slots=True)
class Imported:
    source: str
    period: str
    stored: int
    replaced: int
    removed: int

    def lines(self) -> list[str]:
        return [
            _(
                "Read the old system's results for {period} from {source}: {stored} people "
                "({replaced} replaced, {removed} no longer in the file removed)."
            ).format(
                period=self.period,
                source=self.source,
                stored=self.stored,
                replaced=self.replaced,
                removed=self.removed,
            )
        ]


def import_file(
    session: Session,
    now: dt.datetime,
    period: Period,
    path: Path,
    progress: Progress | None = None,
) -> Imported:
    if period.state in (PeriodState.DRAFT, PeriodState.SCORING):
        raise Refused(
            _(
                "Period {label} has no results yet: import the old system's results once "
                "results are computed, to compare them."
            ).format(label=period.label)
        )
    problems = Problems()
    table = read_table(path, COLUMNS, problems, progress=progress)
    if not problems and not (table.has("total") or table.has("grade")):
        problems.add(_("the file needs a 总分 (total score) or 等级 (grade) column, or both"))
    problems.raise_if_any()
    bands = _grades(session, period)
    by_word = {}
    for band in bands:
        by_word[canonical(band.grade)] = band.grade
        by_word[canonical(band.label)] = band.grade
    listed = _(", ").join(f"{b.grade} ({b.label})" for b in bands)

    def grade(value: object) -> str:
        code = by_word.get(canonical(cells.words(value)))
        if code is None:
            raise BadCell(_("is not a grade of this scheme: use {grades}").format(grades=listed))
        return code

    people = {
        number: (pid, name)
        for pid, number, name in session.execute(
            select(Employee.id, Employee.number, Employee.name).where(
                Employee.group_id == period.group_id
            )
        ).tuples()
    }
    digits = {n.lstrip("0"): n for n in people if n.isdigit()}
    rows: dict[int, tuple[int, Decimal | None, str | None, Decimal]] = {}
    first: dict[str, int] = {}
    for row in table.rows:
        if checksum.is_checksum_row(row.cells.get("number")):
            continue
        r = RowReader(table, row, problems)
        number = r.get("number", cells.code, required=True)
        name = r.get("name", cells.label) if table.has("name") else None
        total = r.get("total", _total) if table.has("total") else None
        level = r.get("grade", grade) if table.has("grade") else None
        pay = r.get("pay", _pay, required=True)
        if number is None or not r.ok:
            continue
        if number in first:
            r.bad("number", _("the same 工号 is already in row {row}").format(row=first[number]))
            continue
        first[number] = row.number
        known = people.get(number)
        if known is None:
            near = digits.get(number.lstrip("0")) if number.isdigit() else None
            if near is not None:
                r.bad(
                    "number",
                    _(
                        "no employee has this 工号, but {number} differs from it only in "
                        "leading zeros: format the 工号 column as text and write it as stored"
                    ).format(number=near),
                )
            else:
                r.bad("number", _("no employee has this 工号"))
            continue
        if name and name != known[1]:
            r.bad(
                "name",
                _("is not the name of 工号 {number}: {name}").format(number=number, name=known[1]),
            )
            continue
        if total is None and level is None:
            r.bad(
                "total" if table.has("total") else "grade",
                _("is required but empty: give a total score or a grade"),
            )
            continue
        assert pay is not None
        rows[known[0]] = (row.number, total, level, pay)
    problems.raise_if_any()
    stored = {
        x.employee_id: x
        for x in session.scalars(select(LegacyResult).where(LegacyResult.period_id == period.id))
    }
    replaced = 0
    for emp_id, (_row, total, level, pay) in rows.items():
        old = stored.pop(emp_id, None)
        if old is None:
            session.add(
                LegacyResult(
                    period_id=period.id,
                    employee_id=emp_id,
                    total=total,
                    grade=level,
                    pay=pay,
                    source=path.name[:255],
                    imported_at=now,
                )
            )
            continue
        replaced += 1
        if (old.total, old.grade, old.pay) != (total, level, pay):
            old.note, old.explained_at = "", None  # a note was about other figures
        old.total, old.grade, old.pay = total, level, pay
        old.source, old.imported_at = path.name[:255], now
    if stored:
        session.execute(
            delete(LegacyResult).where(LegacyResult.id.in_([x.id for x in stored.values()]))
        )
    session.flush()
    result = Imported(path.name, period.label, len(rows), replaced, len(stored))
    audit.record(
        session,
        now,
        "legacy.import",
        "period",
        period.id,
        actor_label="cli",
        after={
            "file": path.name,
            "sha256": checksum.file_sha256(path),
            "stored": result.stored,
            "replaced": result.replaced,
            "removed": result.removed,
        },
    )
    return result


@dataclass(slots=True)
class Difference:
    """One employee, old beside new. `new_*` None: no result; `old_*` None: not in the
    old system's file."""

    number: str
    name: str
    institution: str
    old_total: Decimal | None
    new_total: Decimal | None
    old_grade: str | None
    new_grade: str | None
    old_pay: Decimal | None
    new_pay: Decimal | None
    move: int  # +1 up a grade or more, -1 down, 0 same or unknown
    note: str = ""

    @property
    def pay_difference(self) -> Decimal:
        return (self.new_pay or ZERO) - (self.old_pay or ZERO)

    @property
    def differs(self) -> bool:
        return (
            self.old_pay != self.new_pay
            or (self.old_grade is not None and self.old_grade != self.new_grade)
            or (self.old_total is not None and self.old_total != self.new_total)
        )

    def reasons(self) -> list[str]:
        """The main reasons old and new differ, most telling first."""
        if self.new_pay is None:
            return [_("no result in the new system")]
        if self.old_pay is None:
            return [_("not in the old system's results")]
        out = []
        if self.old_grade is not None and self.old_grade != self.new_grade:
            out.append(
                _("grade differs: {old} in the old system, {new} in the new").format(
                    old=self.old_grade, new=self.new_grade
                )
            )
        if self.old_total is not None and self.old_total != self.new_total:
            assert self.new_total is not None
            out.append(
                _("total score differs: {old} in the old system, {new} in the new").format(
                    old=checksum.number(self.old_total), new=checksum.number(self.new_total)
                )
            )
        if self.old_pay != self.new_pay and not out:
            out.append(_("same grade and score, but a different pay base or coefficient"))
        return out


@dataclass(slots=True)
class Summary:
    """One institution's totals."""

    name: str
    people: int = 0
    in_old: int = 0  # people the old system's file has
    old_pay: Decimal = ZERO
    new_pay: Decimal = ZERO
    up: int = 0
    down: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def pay_difference(self) -> Decimal:
        return self.new_pay - self.old_pay

    @property
    def unexplained(self) -> int:
        return sum(1 for d in self.differences if not d.note)


@dataclass(slots=True)
class Comparison:
    period: str
    institutions: list[Summary]

    @property
    def unexplained(self) -> int:
        return sum(s.unexplained for s in self.institutions)

    @property
    def differences(self) -> int:
        return sum(len(s.differences) for s in self.institutions)


def people(session: Session, period: Period, employee_id: int | None = None) -> list[Difference]:
    """Old beside new for everyone in either system (or one employee)."""
    rank = {b.grade: i for i, b in enumerate(_grades(session, period))}
    new_q = select(Result.employee_id, Result.total, Result.grade, Result.pay, Result.trace).where(
        Result.period_id == period.id
    )
    old_q = select(LegacyResult).where(LegacyResult.period_id == period.id)
    if employee_id is not None:
        new_q = new_q.where(Result.employee_id == employee_id)
        old_q = old_q.where(LegacyResult.employee_id == employee_id)
    new = {
        emp: (total, grade, pay, trace["appraisee"])
        for emp, total, grade, pay, trace in session.execute(new_q).tuples()
    }
    old = {x.employee_id: x for x in session.scalars(old_q)}
    where: dict[int, tuple[str, str, str]] = {}
    missing = set(old) - set(new)
    if missing:
        # Not in the new results: where the employee is today.
        for emp, number, name, inst in session.execute(
            select(Employee.id, Employee.number, Employee.name, Institution.name)
            .join(Institution, Institution.id == Employee.institution_id)
            .where(Employee.id.in_(missing))
        ).tuples():
            where[emp] = (number, name, inst)
    out = []
    for emp in set(new) | set(old):
        total: Decimal | None = None
        grade: str | None = None
        pay: Decimal | None = None
        if emp in new:
            total, grade, pay, who = new[emp]
            number, name, inst = who["number"], who["name"], who["institution"]
        else:
            number, name, inst = where[emp]
        legacy = old.get(emp)
        move = 0
        if legacy is not None and legacy.grade is not None and grade is not None:
            a, b = rank.get(legacy.grade), rank.get(grade)
            if a is not None and b is not None and a != b:
                move = 1 if b < a else -1
        out.append(
            Difference(
                number,
                name,
                inst,
                legacy.total if legacy else None,
                total,
                legacy.grade if legacy else None,
                grade,
                legacy.pay if legacy else None,
                pay,
                move,
                legacy.note if legacy else "",
            )
        )
    return out


def compare(session: Session, period: Period) -> Comparison:
    """Per institution: totals old and new, grade moves, and the differences, largest
    first."""
    summaries: dict[str, Summary] = {}
    for d in people(session, period):
        s = summaries.setdefault(d.institution, Summary(d.institution))
        s.people += 1
        s.in_old += d.old_pay is not None
        s.old_pay += d.old_pay or ZERO
        s.new_pay += d.new_pay or ZERO
        s.up += d.move > 0
        s.down += d.move < 0
        if d.differs:
            s.differences.append(d)
    # An institution the old system's file does not cover is not in the parallel run.
    running = [s for s in summaries.values() if s.in_old]
    for s in running:
        s.differences.sort(key=lambda d: (-abs(d.pay_difference), d.number))
    return Comparison(period.label, sorted(running, key=lambda s: s.name))


def explain(
    session: Session, now: dt.datetime, period: Period, number: str, note: str
) -> LegacyResult:
    """HR's note on one person's difference."""
    row = session.scalar(
        select(LegacyResult)
        .join(Employee, Employee.id == LegacyResult.employee_id)
        .where(
            LegacyResult.period_id == period.id,
            Employee.group_id == period.group_id,
            Employee.number == number,
        )
    )
    if row is None:
        raise Refused(
            _("工号 {number} has no old-system result for {label}.").format(
                number=number, label=period.label
            )
        )
    if not note.strip():
        raise Refused(_("The note is empty: say why the figures differ."))
    before = {"note": row.note} if row.note else None
    row.note, row.explained_at = note.strip(), now
    audit.record(
        session,
        now,
        "legacy.explain",
        "legacy_result",
        row.id,
        actor_label="cli",
        before=before,
        after={"number": number, "note": row.note},
    )
    return row


def _grade_text(value: str | None) -> str:
    return value or "—"


def _pay_text(value: Decimal | None) -> str:
    return "—" if value is None else money(value)


def lines(comparison: Comparison, shown: int = 10) -> list[str]:
    out = [
        _("Old and new system, {period}: {n} differences, {left} not explained.").format(
            period=comparison.period, n=comparison.differences, left=comparison.unexplained
        ),
        _(
            "Institution · people · old system pays · new system pays · difference · "
            "up a grade · down a grade · differences · not explained"
        ),
    ]
    for s in comparison.institutions:
        out.append(
            " · ".join(
                [
                    s.name,
                    str(s.people),
                    money(s.old_pay),
                    money(s.new_pay),
                    money(s.pay_difference),
                    str(s.up),
                    str(s.down),
                    str(len(s.differences)),
                    str(s.unexplained),
                ]
            )
        )
    for s in comparison.institutions:
        if not s.differences:
            continue
        out.append(_("{institution}, largest differences first:").format(institution=s.name))
        for d in s.differences[:shown]:
            out.append(
                _(
                    "  {number} {name}: old {old_grade} {old_pay}, new {new_grade} {new_pay}, "
                    "difference {difference}; {reasons}"
                ).format(
                    number=d.number,
                    name=d.name,
                    old_grade=_grade_text(d.old_grade),
                    old_pay=_pay_text(d.old_pay),
                    new_grade=_grade_text(d.new_grade),
                    new_pay=_pay_text(d.new_pay),
                    difference=money(d.pay_difference),
                    reasons=_("; ").join(d.reasons()),
                )
                + (_(" (explained: {note})").format(note=d.note) if d.note else "")
            )
        if len(s.differences) > shown:
            out.append(_("  … and {n} more").format(n=len(s.differences) - shown))
    return out


def write_xlsx(comparison: Comparison, path: Path) -> None:
    """A workbook a head can read: a summary, then a sheet per institution."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    ws.append(
        [
            _("Institution"),
            _("People"),
            _("Old system pays"),
            _("New system pays"),
            _("Difference (new − old)"),
            _("Up a grade"),
            _("Down a grade"),
            _("Differences"),
            _("Not explained"),
        ]
    )
    for s in comparison.institutions:
        ws.append(
            [
                s.name,
                s.people,
                s.old_pay,
                s.new_pay,
                s.pay_difference,
                s.up,
                s.down,
                len(s.differences),
                s.unexplained,
            ]
        )
    for cell in ws[1]:
        cell.font = bold
    for row in ws.iter_rows(min_row=2):
        for c in row[2:5]:
            c.number_format = "#,##0.00"
    for i, width in enumerate((16, 8, 16, 16, 18, 10, 10, 10, 10), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    used: set[str] = {ws.title}
    for s in comparison.institutions:
        title = "".join(c if c not in "[]:*?/\\" else "-" for c in s.name)[:31]
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        sheet = wb.create_sheet(title)
        sheet.append(
            [
                _("Employee No."),
                _("Name"),
                _("Old total"),
                _("New total"),
                _("Old grade"),
                _("New grade"),
                _("Old pay"),
                _("New pay"),
                _("Difference (new − old)"),
                _("Reasons"),
                _("Explanation"),
            ]
        )
        for d in s.differences:
            sheet.append(
                [
                    d.number,
                    d.name,
                    d.old_total,
                    d.new_total,
                    d.old_grade,
                    d.new_grade,
                    d.old_pay,
                    d.new_pay,
                    d.pay_difference,
                    _("; ").join(d.reasons()),
                    d.note,
                ]
            )
        for cell in sheet[1]:
            cell.font = bold
        for row in sheet.iter_rows(min_row=2):
            row[0].number_format = "@"
            row[2].number_format = row[3].number_format = "0.00"
            for c in row[6:9]:
                c.number_format = "#,##0.00"
        for i, width in enumerate((10, 10, 9, 9, 9, 9, 14, 14, 16, 48, 30), start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
        sheet.freeze_panes = "C2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def in_parallel_run(session: Session, employee_id: int) -> tuple[Period, LegacyResult] | None:
    """The employee's newest period with an old-system result, if any."""
    found = session.execute(
        select(Period, LegacyResult)
        .join(LegacyResult, LegacyResult.period_id == Period.id)
        .where(LegacyResult.employee_id == employee_id)
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    ).first()
    return (found[0], found[1]) if found else None
