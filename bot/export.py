"""The pay sheet for payroll: one row per employee, straight from the stored results.

Nothing is recomputed here: what payroll receives is exactly what employees were shown.
A period closed for scoring but not yet published exports as a marked preview.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import Refused
from bot.i18n import _
from bot.periods import state_name
from models import Institution, Period, PeriodState, Result

FORMATS = ("xlsx", "csv")
EXPORTABLE = (PeriodState.SCORING_CLOSED, PeriodState.PUBLISHED, PeriodState.FINAL)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PayRow:
    number: str
    name: str
    institution: str
    department: str
    total: Decimal
    grade: str
    coefficient: Decimal
    pay_base: Decimal
    pay: Decimal

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

    @property
    def base_sum(self) -> Decimal:
        return sum((r.pay_base for r in self.rows), ZERO)

    @property
    def pay_sum(self) -> Decimal:
        return sum((r.pay for r in self.rows), ZERO)

    @property
    def title(self) -> str:
        title = _("Performance pay {period}").format(period=self.period)
        if self.institution:
            title += f" {self.institution}"
        if self.preview:
            title += " " + _("(preview, not published)")
        return title

    def default_name(self, fmt: str) -> str:
        parts = ["pay", self.period]
        if self.institution:
            parts.append(self.institution)
        if self.preview:
            parts.append("preview")
        name = "_".join(parts)
        return file_safe(name) + f".{fmt}"


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
    ]


def pay_sheet(session: Session, period: Period, institution: Institution | None = None) -> PaySheet:
    """The stored results of `period`, optionally of one institution, ready to write."""
    if period.state not in EXPORTABLE:
        raise Refused(
            _(
                "Period {label} is {state}: the pay sheet can be exported once scoring is "
                "closed and results are computed."
            ).format(label=period.label, state=state_name(period.state))
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
            )
        )
    rows.sort(key=lambda r: (r.institution, r.department, r.number))
    if not rows:
        raise Refused(
            _(
                "Period {label} has no results to export: run `jixiao results compute {label}`."
            ).format(label=period.label)
        )
    return PaySheet(
        period=period.label,
        institution=institution.name if institution else None,
        preview=period.state == PeriodState.SCORING_CLOSED,
        rows=rows,
    )


def _totals(sheet: PaySheet) -> list[object]:
    return [
        _("Total"),
        _("{count} employees").format(count=len(sheet.rows)),
        "",
        "",
        "",
        "",
        "",
        sheet.base_sum,
        sheet.pay_sum,
    ]


def write_csv(sheet: PaySheet, path: Path) -> None:
    """UTF-8 with a BOM: without it Excel on a Chinese Windows reads the names as GBK."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        if sheet.preview:
            out.writerow([sheet.title])
        out.writerow(headers())
        out.writerows(r.cells() for r in sheet.rows)
        out.writerow(_totals(sheet))


def write_xlsx(sheet: PaySheet, path: Path, now: dt.datetime | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    short = _("Pay {period}").format(period=sheet.period)
    if sheet.preview:
        short += " " + _("preview")
    # Sheet names hold at most 31 characters and none of []:*?/\ .
    ws.title = re.sub(r"[\[\]:*?/\\]", "-", short)[:31]
    wb.properties.title = sheet.title
    if now is not None:
        wb.properties.created = now.astimezone(dt.UTC).replace(tzinfo=None)
    bold = Font(bold=True)
    if sheet.preview:
        # A preview must never pass for the pay sheet: say so above the header.
        ws.append([sheet.title])
        ws["A1"].font = Font(bold=True, color="C00000")
    first = ws.max_row + 1 if sheet.preview else 1
    ws.append(headers())
    for cell in ws[first]:
        cell.font = bold
    for r in sheet.rows:
        ws.append(r.cells())
    ws.append(_totals(sheet))
    last = ws.max_row
    for cell in ws[last]:
        cell.font = bold
    for row in ws.iter_rows(min_row=first + 1, max_row=last):
        row[4].number_format = "0.00"
        row[6].number_format = "0.00"
        row[7].number_format = "#,##0.00"
        row[8].number_format = "#,##0.00"
    widths = (10, 10, 16, 22, 9, 7, 8, 16, 14)
    for idx, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = width
    ws.freeze_panes = f"A{first + 1}"
    ws.auto_filter.ref = f"A{first}:I{last - 1}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write(sheet: PaySheet, path: Path, fmt: str, now: dt.datetime | None = None) -> None:
    """The sheet in `fmt` (csv or xlsx); `now` is the workbook's creation time."""
    if fmt == "csv":
        write_csv(sheet, path)
    else:
        write_xlsx(sheet, path, now)
