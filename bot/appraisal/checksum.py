"""The pay sheet's checksum row: SHA-256 over the sheet's canonical rows.

Defined once here, and in docs/pay_sheet.md, so that anyone (payroll, an auditor, a
script) can recompute it. The canonical text is, in UTF-8:

    jixiao-pay-sheet/1 LF period LF final|draft LF
    then per person, in the sheet's order: 工号 US 姓名 US 机构 US 部门 US 总分 US 等级 US
    系数 US 绩效工资基数 US 绩效工资 LF

(LF = "\\n", US = "\\x1f"). A number is written with two decimal places ("4000.50"),
more only when it has more ("87.125"); an empty cell is empty. The status column is
left out: it is in the reader's language, and a row without an amount cannot be paid
whatever it says. The checksum row itself reads 校验码 (Checksum) · sha256:<hex> · period ·
final or draft.

It proves the file was not edited by mistake or by someone without the system; it is not
a signature (whoever has the rules can recompute it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bot.importing import cells
from bot.importing.cells import BadCell
from bot.importing.report import Problems
from bot.importing.table import Column, Table, read_table
from bot.importing.table import canonical as header_key
from bot.infra.i18n import _

VERSION = "jixiao-pay-sheet/1"
PREFIX = "sha256:"
FINAL, DRAFT = "final", "draft"
CENT = Decimal("0.01")
# The words the checksum row's first cell may hold, in either language.
WORDS = frozenset({"校验码", "checksum"})
# The columns of the canonical text, in order (the pay sheet's first nine).
KEYS = (
    "number",
    "name",
    "institution",
    "department",
    "total",
    "grade",
    "coefficient",
    "pay_base",
    "pay",
)
NUMERIC = frozenset({"total", "coefficient", "pay_base", "pay"})


def LABEL_WORD() -> str:
    return _("Checksum")


def number(value: Decimal) -> str:
    cents = value.quantize(CENT)
    return str(cents) if cents == value else str(value.normalize())


def canonical(row: Sequence[object]) -> str:
    """One person's line from the pay sheet's cells (its first nine)."""
    parts = []
    for value in row[: len(KEYS)]:
        if value is None:
            parts.append("")
        elif isinstance(value, Decimal):
            parts.append(number(value))
        else:
            parts.append(str(value))
    return "\x1f".join(parts)


def digest(period: str, draft: bool, lines: Iterable[str]) -> str:
    h = hashlib.sha256(f"{VERSION}\n{period}\n{DRAFT if draft else FINAL}\n".encode())
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# The pay sheet's columns as `export pay` writes them, in Chinese and English.
SHEET_COLUMNS = (
    Column("number", ("工号", "Employee No.", "员工工号", "number"), True),
    Column("name", ("姓名", "Name")),
    Column("institution", ("机构", "Institution")),
    Column("department", ("部门", "Department")),
    Column("total", ("总分", "Total score")),
    Column("grade", ("等级", "Grade")),
    Column("coefficient", ("系数", "Coefficient")),
    Column("pay_base", ("绩效工资基数", "Performance pay base")),
    Column("pay", ("绩效工资", "Performance pay")),
    Column("status", ("状态", "Status")),
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a file's checksum row says, and where it is."""

    row: int
    digest: str
    period: str
    draft: bool


def is_checksum_row(value: object) -> bool:
    return isinstance(value, str) and header_key(value) in WORDS


def claim_in(table: Table) -> Claim | None:
    """The file's checksum row, if it has one (taken out of `table.rows`)."""
    for i, row in enumerate(table.rows):
        if is_checksum_row(row.cells.get("number")):
            del table.rows[i]
            claimed = cells.text(row.cells.get("name"))
            state = cells.text(row.cells.get("department")).casefold()
            return Claim(
                row.number,
                claimed.removeprefix(PREFIX),
                cells.text(row.cells.get("institution")),
                state == DRAFT,
            )
    return None


def recompute(table: Table, claim: Claim) -> str | None:
    """The checksum of the rows as the file holds them; None when the file lacks a
    column of the canonical text (then it cannot be checked)."""
    if not all(table.has(k) for k in KEYS):
        return None
    lines = []
    for row in table.rows:
        parts = []
        for key in KEYS:
            value = row.cells.get(key)
            if cells.is_blank(value):
                parts.append("")
                continue
            try:
                if key in NUMERIC:
                    parts.append(number(cells.decimal(value)))
                elif key == "number":
                    parts.append(cells.code(value))
                else:
                    parts.append(cells.text(value))
            except BadCell:
                parts.append(cells.shown(value))
        lines.append("\x1f".join(parts))
    return digest(claim.period, claim.draft, lines)


@dataclass(frozen=True, slots=True)
class Verdict:
    claim: Claim | None
    actual: str | None

    @property
    def intact(self) -> bool:
        return self.claim is not None and self.actual == self.claim.digest

    def line(self, name: str) -> str:
        if self.claim is None:
            return _("{file} has no checksum row: it cannot be checked.").format(file=name)
        if self.actual is None:
            return _(
                "{file} lacks some of the pay sheet's columns: its checksum cannot be checked."
            ).format(file=name)
        if self.intact:
            return _(
                "{file}: checksum matches, the sheet of {period} is as exported{draft}."
            ).format(
                file=name,
                period=self.claim.period,
                draft=_(" (a draft)") if self.claim.draft else "",
            )
        return _(
            "{file}: the checksum in row {row} does not match the rows: the file was "
            "edited after it was exported."
        ).format(file=name, row=self.claim.row)


def verify(path: Path) -> Verdict:
    """Read a pay sheet (xlsx or csv) and check its checksum row against its rows."""
    problems = Problems()
    table = read_table(path, SHEET_COLUMNS, problems)
    problems.raise_if_any()
    claim = claim_in(table)
    return Verdict(claim, recompute(table, claim) if claim else None)
