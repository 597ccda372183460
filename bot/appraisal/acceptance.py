"""The acceptance check (验收): was this month's pay actually paid from the system's results?

HR hands in what the payroll office paid (xlsx, or csv in UTF-8 or GB18030, with 工号 and
绩效工资 at least). It is read all or nothing, like every import: a bad row (a 工号 that
lost its zeros, an amount that is not one, a 工号 twice, a name that is not the 工号's)
refuses the file whole and names every bad row. Then each institution of the final
period is compared to the fen with the pay sheet the system exports
(`bot.appraisal.export.pay_sheet`, so both sides are one and the same list):

* PASS when everyone with an amount was paid exactly it, and nobody else was paid;
* FAIL otherwise, listing mismatches (工号, 姓名, system, paid, difference), people paid
  but not in the results, and people in the results but not paid (a result of ¥0 needs
  no payment). A blank amount in the payroll file means "not paid".

Every check is stored (who, when, the file's SHA-256, the outcome per institution) and
audited, so leadership sees each pilot's history: failed on the 3rd, passed on the 10th.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal import audit, checksum, export
from bot.appraisal.periods import state_name
from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, RowReader, Table, read_table
from bot.infra.errors import Refused
from bot.infra.i18n import _, money
from models import (
    AcceptanceCheck,
    AcceptanceResult,
    Employee,
    Institution,
    Period,
    PeriodState,
)

ZERO = Decimal(0)
Progress = Callable[[int], None]
_ALIASES = {
    "number": (
        "工号",
        "员工工号",
        "员工编号",
        "员工号",
        "人员编号",
        "Employee No.",
        "number",
        "employee_number",
    ),
    "name": ("姓名", "员工姓名", "Name", "employee_name"),
    "pay": (
        "绩效工资",
        "实发绩效工资",
        "实发绩效",
        "应发绩效工资",
        "绩效工资金额",
        "Performance pay",
        "performance_pay",
        "paid",
        "amount",
    ),
}
# The pay sheet's own columns are known (so a returned pay sheet reads as it is, and
# 绩效工资基数 is not taken for a misspelt 绩效工资); 工号 and 绩效工资 are required.
COLUMNS = tuple(
    Column(c.key, _ALIASES.get(c.key, c.names), c.key in ("number", "pay"))
    for c in checksum.SHEET_COLUMNS
)


@dataclass(frozen=True, slots=True)
class Paid:
    row: int
    number: str
    name: str | None
    amount: Decimal | None  # None: the row says nothing was paid


@dataclass(slots=True)
class Payroll:
    """The payroll file as read: what each 工号 was paid, and its checksum, if any."""

    name: str
    sha256: str
    table: Table
    paid: dict[str, Paid]
    verdict: checksum.Verdict | None


def _amount(value: object) -> Decimal:
    amount = cells.decimal(value, money=True)
    if amount < 0:
        raise BadCell(_("is negative: an amount paid is zero or more"))
    if cells.places(amount) > 2:
        raise BadCell(_("has more than two decimal places (yuan and fen)"))
    return amount


def read_payroll(
    session: Session, path: Path, group_id: int, progress: Progress | None = None
) -> Payroll:
    """The payroll file, all or nothing (`ImportRefused` names every bad row)."""
    problems = Problems()
    table = read_table(path, COLUMNS, problems, progress=progress)
    problems.raise_if_any()
    claim = checksum.claim_in(table)
    verdict = checksum.Verdict(claim, checksum.recompute(table, claim)) if claim else None
    names = {
        number: name
        for number, name in session.execute(
            select(Employee.number, Employee.name).where(Employee.group_id == group_id)
        ).tuples()
    }
    digits = {n.lstrip("0"): n for n in names if n.isdigit()}
    paid: dict[str, Paid] = {}
    for row in table.rows:
        r = RowReader(table, row, problems)
        number = r.get("number", cells.code, required=True)
        name = r.get("name", cells.label) if table.has("name") else None
        amount = r.get("pay", _amount)
        if number is None or not r.ok:
            continue
        if number in paid:
            r.bad("number", _("the same 工号 is already in row {row}").format(row=paid[number].row))
            continue
        known = names.get(number)
        if known is None and number.isdigit():
            near = digits.get(number.lstrip("0"))
            if near is not None and near != number:
                r.bad(
                    "number",
                    _(
                        "no employee has this 工号, but {number} differs from it only in "
                        "leading zeros: format the 工号 column as text and write it as stored"
                    ).format(number=near),
                )
                continue
        if known is not None and name and name != known:
            r.bad(
                "name",
                _("is not the name of 工号 {number}: {name}").format(number=number, name=known),
            )
            continue
        paid[number] = Paid(row.number, number, name, amount)
    problems.raise_if_any()
    return Payroll(path.name, checksum.file_sha256(path), table, paid, verdict)


@dataclass(frozen=True, slots=True)
class Line:
    """One person the check found wrong: `system` or `paid` None when absent."""

    number: str
    name: str
    system: Decimal | None
    paid: Decimal | None

    @property
    def difference(self) -> Decimal:
        return (self.paid or ZERO) - (self.system or ZERO)

    def as_json(self) -> dict[str, str]:
        return {
            "number": self.number,
            "name": self.name,
            "system": "" if self.system is None else str(self.system),
            "paid": "" if self.paid is None else str(self.paid),
        }


@dataclass(slots=True)
class Outcome:
    """One institution's result in a check."""

    name: str
    institution_id: int | None
    people: int = 0  # with an amount in the system's sheet
    paid_people: int = 0
    system_total: Decimal = ZERO
    paid_total: Decimal = ZERO
    mismatched: list[Line] = field(default_factory=list)
    unexpected: list[Line] = field(default_factory=list)  # paid, not in the results
    unpaid: list[Line] = field(default_factory=list)  # in the results, not paid

    @property
    def passed(self) -> bool:
        return not (self.mismatched or self.unexpected or self.unpaid)


@dataclass(slots=True)
class Check:
    period: str
    payroll: Payroll
    outcomes: list[Outcome]
    stored: AcceptanceCheck | None = None

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)


def check_final(period: Period) -> None:
    if period.state != PeriodState.FINAL:
        raise Refused(
            _(
                "Period {label} is {state}: acceptance checks what payroll paid for a final "
                "period. Finalize it with `jixiao period finalize {label}` first."
            ).format(label=period.label, state=state_name(period.state))
        )


def compare(session: Session, period: Period, payroll: Payroll) -> list[Outcome]:
    """Each institution's outcome, by name; people paid whom the system does not know at
    all come last, under "—"."""
    sheet = export.pay_sheet(session, period)
    insts = {
        name: inst_id
        for name, inst_id in session.execute(
            select(Institution.name, Institution.id).where(Institution.group_id == period.group_id)
        ).tuples()
    }
    outcomes: dict[str, Outcome] = {}

    def of(name: str) -> Outcome:
        if name not in outcomes:
            outcomes[name] = Outcome(name, insts.get(name))
        return outcomes[name]

    # What the system says each person is due: their row's pay plus the adjustment
    # lines (corrections of earlier periods) that follow it; payroll pays one sum.
    due: dict[str, tuple[export.PayRow, Decimal | None]] = {}
    for row in sheet.rows:
        if row.number not in due:
            due[row.number] = (row, row.pay)
        elif row.pay is not None:
            first, so_far = due[row.number]
            due[row.number] = (first, (so_far or ZERO) + row.pay)
    in_sheet = set()
    for row, pay in due.values():
        in_sheet.add(row.number)
        out = of(row.institution)
        paid = payroll.paid.get(row.number)
        amount = paid.amount if paid is not None else None
        if amount is not None:
            out.paid_people += 1
            out.paid_total += amount
        if pay is None:
            if amount is not None:
                out.unexpected.append(Line(row.number, row.name, None, amount))
            continue
        out.people += 1
        out.system_total += pay
        if amount is None:
            if pay != ZERO:
                out.unpaid.append(Line(row.number, row.name, pay, None))
        elif amount != pay:
            out.mismatched.append(Line(row.number, row.name, pay, amount))
    # Paid, and not in the period at all: where the employee is today, if known.
    strangers = [p for n, p in payroll.paid.items() if n not in in_sheet and p.amount is not None]
    if strangers:
        where = {
            number: (name, inst)
            for number, name, inst in session.execute(
                select(Employee.number, Employee.name, Institution.name)
                .join(Institution, Institution.id == Employee.institution_id)
                .where(
                    Employee.group_id == period.group_id,
                    Employee.number.in_([p.number for p in strangers]),
                )
            ).tuples()
        }
        for p in strangers:
            name, inst = where.get(p.number, (p.name or "", "—"))
            out = of(inst)
            out.paid_people += 1
            assert p.amount is not None
            out.paid_total += p.amount
            out.unexpected.append(Line(p.number, name, None, p.amount))
    for out in outcomes.values():
        out.mismatched.sort(key=lambda x: (-abs(x.difference), x.number))
    return sorted(outcomes.values(), key=lambda o: (o.institution_id is None, o.name))


def actor() -> str:
    """The operating-system account running the command: who checked."""
    import getpass

    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # pragma: no cover - a container without a passwd entry
        return "cli"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a check builds its rows: 100,000 rows
    of dicts set it off again and again, each pass walking every object alive, for
    nothing (rows hold no cycles); it took a third of the check's time. Back on after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run(
    session: Session,
    now: dt.datetime,
    period: Period,
    path: Path,
    progress: Progress | None = None,
    who: str | None = None,
) -> Check:
    """Read, compare, store and audit one check (in the caller's transaction)."""
    check_final(period)
    with _collector_paused():
        payroll = read_payroll(session, path, period.group_id, progress)
        outcomes = compare(session, period, payroll)
    result = Check(period.label, payroll, outcomes)
    stored = AcceptanceCheck(
        period_id=period.id,
        at=now,
        actor_label=who or actor(),
        file_name=payroll.name[:255],
        file_sha256=payroll.sha256,
        passed=result.passed,
        checksum_intact=None if payroll.verdict is None else payroll.verdict.intact,
    )
    for o in outcomes:
        stored.institutions.append(
            AcceptanceResult(
                institution_id=o.institution_id,
                institution_name=o.name,
                passed=o.passed,
                people=o.people,
                mismatched=len(o.mismatched),
                unexpected=len(o.unexpected),
                unpaid=len(o.unpaid),
                system_total=o.system_total,
                paid_total=o.paid_total,
                details={
                    "mismatched": [x.as_json() for x in o.mismatched],
                    "unexpected": [x.as_json() for x in o.unexpected],
                    "unpaid": [x.as_json() for x in o.unpaid],
                },
            )
        )
    session.add(stored)
    session.flush()
    audit.record(
        session,
        now,
        "acceptance.check",
        "period",
        period.id,
        actor_label=stored.actor_label,
        after={
            "check": stored.id,
            "file": payroll.name,
            "sha256": payroll.sha256,
            "passed": result.passed,
            "institutions": {o.name: "PASS" if o.passed else "FAIL" for o in outcomes},
        },
    )
    result.stored = stored
    return result


def verdict_word(passed: bool) -> str:
    return _("PASS") if passed else _("FAIL")


def _amount_text(value: Decimal | None) -> str:
    return "—" if value is None else money(value)


def lines(check: Check, shown: int = 20) -> list[str]:
    """The readable report: one line per institution, then each failure's people."""
    out = [
        _("Acceptance check of {period} against {file} (SHA-256 {sha}…): {verdict}").format(
            period=check.period,
            file=check.payroll.name,
            sha=check.payroll.sha256[:12],
            verdict=verdict_word(check.passed),
        )
    ]
    verdict = check.payroll.verdict
    if verdict is not None and not verdict.intact:
        out.append(_("Warning: ") + verdict.line(check.payroll.name))
    out.append(
        _(
            "Institution · result · people · paid · mismatched · paid, not in results · "
            "in results, not paid · system total · paid total"
        )
    )
    for o in check.outcomes:
        out.append(
            " · ".join(
                [
                    o.name,
                    verdict_word(o.passed),
                    str(o.people),
                    str(o.paid_people),
                    str(len(o.mismatched)),
                    str(len(o.unexpected)),
                    str(len(o.unpaid)),
                    money(o.system_total),
                    money(o.paid_total),
                ]
            )
        )
    for o in check.outcomes:
        if o.passed:
            continue
        out.append(_("{institution}:").format(institution=o.name))
        groups: Sequence[tuple[str, list[Line]]] = (
            (_("mismatch"), o.mismatched),
            (_("paid but not in the results"), o.unexpected),
            (_("in the results but not paid"), o.unpaid),
        )
        for what, people in groups:
            for x in people[:shown]:
                out.append(
                    _(
                        "  {what}: {number} {name}, system {system}, paid {paid}, "
                        "difference {difference}"
                    ).format(
                        what=what,
                        number=x.number,
                        name=x.name,
                        system=_amount_text(x.system),
                        paid=_amount_text(x.paid),
                        difference=money(x.difference),
                    )
                )
            if len(people) > shown:
                out.append(_("  … and {n} more").format(n=len(people) - shown))
    return out


def write_xlsx(check: Check, path: Path) -> None:
    """The report for a head or leadership: a summary sheet, and every person found wrong."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    bold = Font(bold=True)
    red = PatternFill("solid", fgColor="F8CBAD")
    green = PatternFill("solid", fgColor="C6EFCE")
    ws.append(
        [
            _("Institution"),
            _("Result"),
            _("People with an amount"),
            _("People paid"),
            _("Mismatched"),
            _("Paid, not in results"),
            _("In results, not paid"),
            _("System total"),
            _("Paid total"),
        ]
    )
    for o in check.outcomes:
        ws.append(
            [
                o.name,
                verdict_word(o.passed),
                o.people,
                o.paid_people,
                len(o.mismatched),
                len(o.unexpected),
                len(o.unpaid),
                o.system_total,
                o.paid_total,
            ]
        )
        ws.cell(row=ws.max_row, column=2).fill = green if o.passed else red
    for cell in ws[1]:
        cell.font = bold
    for row in ws.iter_rows(min_row=2):
        row[7].number_format = row[8].number_format = "#,##0.00"
    for i, width in enumerate((16, 8, 12, 10, 10, 14, 14, 16, 16), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    detail = wb.create_sheet(_("Differences")[:31])
    detail.append(
        [
            _("Institution"),
            _("What"),
            _("Employee No."),
            _("Name"),
            _("System"),
            _("Paid"),
            _("Difference"),
        ]
    )
    for o in check.outcomes:
        for what, people in (
            (_("mismatch"), o.mismatched),
            (_("paid but not in the results"), o.unexpected),
            (_("in the results but not paid"), o.unpaid),
        ):
            for x in people:
                detail.append([o.name, what, x.number, x.name, x.system, x.paid, x.difference])
    for cell in detail[1]:
        cell.font = bold
    for row in detail.iter_rows(min_row=2):
        row[2].number_format = "@"
        for c in row[4:7]:
            c.number_format = "#,##0.00"
    for i, width in enumerate((16, 22, 10, 10, 14, 14, 14), start=1):
        detail.column_dimensions[get_column_letter(i)].width = width
    detail.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


@dataclass(frozen=True, slots=True)
class Last:
    """An institution's latest acceptance check."""

    period: str
    at: dt.datetime
    passed: bool
    first_pass: dt.datetime | None


def latest(session: Session, group_id: int) -> dict[int, Last]:
    """Each institution's latest check, and when it first passed (any period)."""
    rows = session.execute(
        select(
            AcceptanceResult.institution_id,
            AcceptanceResult.passed,
            AcceptanceCheck.at,
            Period.label,
        )
        .join(AcceptanceCheck, AcceptanceCheck.id == AcceptanceResult.check_id)
        .join(Period, Period.id == AcceptanceCheck.period_id)
        .where(Period.group_id == group_id, AcceptanceResult.institution_id.is_not(None))
        .order_by(AcceptanceCheck.at, AcceptanceCheck.id)
    ).tuples()
    out: dict[int, Last] = {}
    first: dict[int, dt.datetime] = {}
    for inst_id, passed, at, label in rows:
        assert inst_id is not None
        if passed and inst_id not in first:
            first[inst_id] = at
        out[inst_id] = Last(label, at, passed, first.get(inst_id))
    return out


def history(session: Session, period: Period) -> list[dict[str, Any]]:
    """Every check of `period`, oldest first: when, who, file, outcome per institution."""
    checks = session.scalars(
        select(AcceptanceCheck)
        .where(AcceptanceCheck.period_id == period.id)
        .order_by(AcceptanceCheck.at, AcceptanceCheck.id)
    ).all()
    return [
        {
            "at": c.at,
            "who": c.actor_label,
            "file": c.file_name,
            "passed": c.passed,
            "institutions": {r.institution_name: r.passed for r in c.institutions},
        }
        for c in checks
    ]
