"""The pay sheet for payroll: one row per person of the period, straight from the stored
results.

Nothing is recomputed here: what payroll receives is exactly what employees were shown.
Nobody is dropped: everyone of the period without a result (an incomplete appraisal, or
no scoring task at all) has a row with a status saying why and no amount, and the totals
row counts them apart. Rows are in 工号 order (see `bot.appraisal.gaps.number_key`). A period
closed for scoring but not yet published exports as a marked preview; any period not
yet final exports only as a draft, marked on every row and in the file name. The last
row is a checksum over the sheet's canonical rows (`bot.appraisal.checksum`), so payroll can tell
the file was not edited. See docs/pay_sheet.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.appraisal import adjustments, checksum, gaps
from bot.appraisal.gaps import Gap
from bot.appraisal.periods import state_name
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import Employee, Institution, Period, PeriodState, Result

FORMATS = ("xlsx", "csv")
EXPORTABLE = (PeriodState.SCORING_CLOSED, PeriodState.PUBLISHED, PeriodState.FINAL)
ZERO = Decimal(0)
CENT = Decimal("0.01")
# Rows written between two progress reports.
STEP = 1000
# "n more rows are written"
Advance = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PayRow:
    number: str
    name: str
    institution: str
    department: str
    # All None when the person has no result: an empty cell, never a 0 payroll could pay.
    total: Decimal | None
    grade: str | None
    coefficient: Decimal | None
    pay_base: Decimal | None
    pay: Decimal | None
    status: str
    gap: Gap | None = field(default=None, compare=False)
    # A correction of an earlier, final period paid with this one (bot.appraisal.adjustments): its
    # amount is in `pay`, so the sheet's total paid includes it.
    adjustment: bool = False

    @property
    def computed(self) -> bool:
        return self.gap is None and not self.adjustment

    def cells(self) -> list[object]:
        """The row as the sheet's columns give it (`headers()` order)."""
        return [
            self.number,
            self.name,
            self.institution,
            self.department,
            self.total,
            self.grade,
            self.coefficient,
            self.pay_base,
            self.pay,
            self.status,
        ]


def file_safe(name: str) -> str:
    """A name usable as a file name on Windows too (HR's Excel machines)."""
    return re.sub(r'[\\/:*?"<>|\s]+', "-", name)


@dataclass(frozen=True, slots=True)
class PaySheet:
    period: str
    institution: str | None
    preview: bool
    rows: list[PayRow]
    # Not final yet: every row and the file name say so, and `export pay` wants --draft.
    draft: bool = False

    @property
    def computed(self) -> list[PayRow]:
        return [r for r in self.rows if r.computed]

    @property
    def gaps(self) -> list[Gap]:
        """Everyone in the sheet without an amount, by 工号."""
        return [r.gap for r in self.rows if r.gap is not None]

    @property
    def incomplete(self) -> int:
        """Appraisees whose appraisal is not complete."""
        return sum(1 for g in self.gaps if g.tasks)

    @property
    def not_appraised(self) -> int:
        """Active employees with no scoring task in the period."""
        return sum(1 for g in self.gaps if not g.tasks)

    @property
    def base_sum(self) -> Decimal:
        return sum((r.pay_base for r in self.rows if r.pay_base is not None), ZERO)

    @property
    def pay_sum(self) -> Decimal:
        return sum((r.pay for r in self.rows if r.pay is not None), ZERO)

    @property
    def title(self) -> str:
        title = _("Performance pay {period}").format(period=self.period)
        if self.institution:
            title += f" {self.institution}"
        if self.preview:
            title += " " + _("(preview, not published)")
        if self.draft:
            title += " " + _("(draft, period not final)")
        return title

    @property
    def digest(self) -> str:
        """The checksum of the sheet's canonical rows (bot.appraisal.checksum)."""
        return checksum.digest(
            self.period, self.draft, (checksum.canonical(r.cells()) for r in self.rows)
        )

    def status_of(self, row: PayRow) -> str:
        """A row's status cell: a draft's says so on every row."""
        return _("DRAFT") + " · " + row.status if self.draft else row.status

    def cells_of(self, row: PayRow) -> list[object]:
        return [*row.cells()[:-1], self.status_of(row)]

    def default_name(self, fmt: str) -> str:
        parts = ["pay", self.period]
        if self.institution:
            parts.append(self.institution)
        if self.preview:
            parts.append("preview")
        elif self.draft:
            parts.append("draft")
        name = "_".join(parts)
        return file_safe(name) + f".{fmt}"

    def numbers_excel_alters(self) -> list[str]:
        """工号 that Excel changes when it opens a CSV: leading zeros dropped ("007" → 7),
        long digit strings turned into 1.23E+17."""
        return [
            r.number
            for r in self.rows
            if r.number.isdigit()
            and ((len(r.number) > 1 and r.number[0] == "0") or len(r.number) > 15)
        ]


def headers() -> list[str]:
    return [
        _("Employee No."),
        _("Name"),
        _("Institution"),
        _("Department"),
        _("Total score"),
        _("Grade"),
        _("Coefficient"),
        _("Performance pay base"),
        _("Performance pay"),
        _("Status"),
    ]


def pay_sheet(session: Session, period: Period, institution: Institution | None = None) -> PaySheet:
    """Everyone of `period`, optionally of one institution, ready to write: the stored
    results, and a row without an amount for each person who has none."""
    if period.state not in EXPORTABLE:
        raise Refused(
            _(
                "Period {label} is {state}: the pay sheet can be exported once scoring is "
                "closed and results are computed."
            ).format(label=period.label, state=state_name(period.state))
        )
    if not session.scalar(select(func.count(Result.id)).where(Result.period_id == period.id)):
        raise Refused(
            _(
                "Period {label} has no results to export: run `jixiao results compute {label}`."
            ).format(label=period.label)
        )
    # Who the person was, and where, comes from the result's trace: the pay sheet of a
    # past period shows the institution and department they were paid in, not today's.
    q = select(
        Result.trace,
        Result.total,
        Result.grade,
        Result.coefficient,
        Result.pay_base,
        Result.pay,
    ).where(Result.period_id == period.id)
    computed = _("Computed")
    rows = []
    for trace, total, grade, coef, base, pay in session.execute(q).tuples():
        who = trace["appraisee"]
        if institution is not None and who["institution"] != institution.name:
            continue
        rows.append(
            PayRow(
                who["number"],
                who["name"],
                who["institution"],
                who["department"],
                total,
                grade,
                coef,
                base,
                pay,
                computed,
            )
        )
    # Without a result there is no trace: where they are is where they are today.
    for gap in gaps.without_result(session, period):
        if institution is not None and gap.institution != institution.name:
            continue
        rows.append(
            PayRow(
                gap.number,
                gap.name,
                gap.institution,
                gap.department,
                None,
                None,
                None,
                None,
                None,
                gap.status(),
                gap,
            )
        )
    rows.extend(_adjustment_rows(session, period, institution))
    # Stable: a person's adjustment lines follow their own row.
    rows.sort(key=lambda r: gaps.number_key(r.number))
    if not rows:
        raise Refused(
            _("Period {label} has nobody in {institution}.").format(
                label=period.label, institution=institution.name if institution else ""
            )
        )
    return PaySheet(
        period=period.label,
        institution=institution.name if institution else None,
        preview=period.state == PeriodState.SCORING_CLOSED,
        rows=rows,
        draft=period.state != PeriodState.FINAL,
    )


def _adjustment_rows(
    session: Session, period: Period, institution: Institution | None
) -> list[PayRow]:
    """One line per correction of an earlier period paid with this one."""
    found = adjustments.into(session, period)
    if not found:
        return []
    rows = []
    people = session.scalars(select(Employee).where(Employee.id.in_(found)))
    for e in people:
        inst = e.institution.name
        if institution is not None and inst != institution.name:
            continue
        dept = e.department.path if e.department else ""
        for adj, origin in found[e.id]:
            status = _("Adjustment for {label}: {reason}").format(
                label=origin, reason=" ".join(adj.reason.split())
            )
            rows.append(
                PayRow(
                    e.number,
                    e.name,
                    inst,
                    dept,
                    None,
                    None,
                    None,
                    None,
                    adj.amount,
                    status,
                    adjustment=True,
                )
            )
    return rows


def check_final(period: Period, draft: bool) -> None:
    """Refuse to hand payroll a sheet of a period that is not final, unless a draft is
    what is asked for."""
    if period.state != PeriodState.FINAL and not draft:
        raise Refused(
            _(
                "Period {label} is {state}, not final: payroll pays from a final period's "
                "sheet. Run `jixiao period finalize {label}` first, or export with --draft "
                "for a sheet marked as a draft on every row."
            ).format(label=period.label, state=state_name(period.state))
        )


def _checksum_row(sheet: PaySheet) -> list[object]:
    return [
        checksum.LABEL_WORD(),
        checksum.PREFIX + sheet.digest,
        sheet.period,
        checksum.DRAFT if sheet.draft else checksum.FINAL,
    ]


def _totals(sheet: PaySheet) -> list[object]:
    missing = [
        _("{count} without an amount").format(count=len(sheet.gaps)),
    ]
    if sheet.incomplete:
        missing.append(_("{count} incomplete").format(count=sheet.incomplete))
    if sheet.not_appraised:
        missing.append(_("{count} not appraised").format(count=sheet.not_appraised))
    return [
        _("Total"),
        _("{count} computed").format(count=len(sheet.computed)),
        "",
        "",
        "",
        "",
        "",
        sheet.base_sum,
        sheet.pay_sum,
        _(", ").join(missing) if sheet.gaps else "",
    ]


def two_places(value: object) -> object:
    """A decimal as text with two places ("8000.00", "4000.50"), more only when the
    scheme keeps more (a total at three score places); anything else unchanged."""
    if not isinstance(value, Decimal):
        return "" if value is None else value
    cents = value.quantize(CENT)
    return str(cents) if cents == value else str(value)


def write_csv(sheet: PaySheet, path: Path, progress: Advance | None = None) -> None:
    """UTF-8 with a BOM: without it Excel on a Chinese Windows reads the names as GBK.

    工号 stay plain text: a payroll import reads them as written, and a ="007" formula
    would reach it as such. Excel itself drops leading zeros on opening a CSV; the xlsx
    keeps them (the command says so when it matters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        if sheet.preview or sheet.draft:
            out.writerow([sheet.title])
        out.writerow(headers())
        for n, r in enumerate(sheet.rows, start=1):
            out.writerow([two_places(c) for c in sheet.cells_of(r)])
            if progress is not None and n % STEP == 0:
                progress(STEP)
        out.writerow([two_places(c) for c in _totals(sheet)])
        out.writerow(_checksum_row(sheet))
    if progress is not None:
        progress(len(sheet.rows) % STEP)


def write_xlsx(
    sheet: PaySheet,
    path: Path,
    now: dt.datetime | None = None,
    progress: Advance | None = None,
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    short = _("Pay {period}").format(period=sheet.period)
    if sheet.preview:
        short += " " + _("preview")
    elif sheet.draft:
        short += " " + _("draft")
    # Sheet names hold at most 31 characters and none of []:*?/\ .
    ws.title = re.sub(r"[\[\]:*?/\\]", "-", short)[:31]
    wb.properties.title = sheet.title
    if now is not None:
        wb.properties.created = now.astimezone(dt.UTC).replace(tzinfo=None)
    bold = Font(bold=True)
    if sheet.preview or sheet.draft:
        # A preview or draft must never pass for the pay sheet: say so above the header.
        ws.append([sheet.title])
        ws["A1"].font = Font(bold=True, color="C00000")
    first = ws.max_row + 1 if sheet.preview or sheet.draft else 1
    ws.append(headers())
    for cell in ws[first]:
        cell.font = bold
    for n, r in enumerate(sheet.rows, start=1):
        ws.append(sheet.cells_of(r))
        if progress is not None and n % STEP == 0:
            progress(STEP)
    ws.append(_totals(sheet))
    last = ws.max_row
    for cell in ws[last]:
        cell.font = bold
    ws.append(_checksum_row(sheet))
    ws.cell(row=last + 1, column=1).font = Font(color="808080")
    ws.cell(row=last + 1, column=2).font = Font(color="808080")
    for row in ws.iter_rows(min_row=first + 1, max_row=last):
        # 工号 as text, so "007" stays "007" even when someone edits the cell.
        row[0].number_format = "@"
        row[4].number_format = "0.00"
        row[6].number_format = "0.00"
        row[7].number_format = "#,##0.00"
        row[8].number_format = "#,##0.00"
    widths = (10, 10, 16, 22, 9, 7, 8, 16, 14, 48)
    for idx, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = width
    ws.freeze_panes = f"A{first + 1}"
    ws.auto_filter.ref = f"A{first}:{get_column_letter(len(widths))}{last - 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    if progress is not None:
        progress(len(sheet.rows) % STEP)


def write(
    sheet: PaySheet,
    path: Path,
    fmt: str,
    now: dt.datetime | None = None,
    progress: Advance | None = None,
) -> None:
    """The sheet in `fmt` (csv or xlsx); `now` is the workbook's creation time;
    `progress` hears of the rows written."""
    if fmt == "csv":
        write_csv(sheet, path, progress)
    else:
        write_xlsx(sheet, path, now, progress)
