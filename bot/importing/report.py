"""What an import tells HR: every problem found, or what was written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.infra.errors import Refused
from bot.infra.i18n import _, ngettext


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the file. `row` is the row number Excel shows (CSV: the line);
    `column` is the header as written in the file; `reason` is already translated."""

    reason: str
    row: int | None = None
    column: str | None = None
    value: str = ""
    sheet: str | None = None

    def line(self) -> str:
        parts: list[str] = []
        if self.sheet:
            parts.append(_("sheet {sheet}").format(sheet=self.sheet))
        if self.row is not None:
            parts.append(_("row {row}").format(row=self.row))
        if self.column:
            parts.append(_("column {column}").format(column=self.column))
        if self.value:
            parts.append(_("value “{value}”").format(value=self.value))
        if not parts:
            return _capital(self.reason)
        location = _capital(_(", ").join(parts))
        return _("{location}: {reason}").format(location=location, reason=self.reason)


class ImportRefused(Refused):
    """Nothing was written; `problems` lists every reason, and `str()` is one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        # Sheets in the order they were checked, rows in order within each; file-wide
        # problems (no row) lead their sheet.
        sheets: dict[str | None, int] = {}
        for p in problems:
            sheets.setdefault(p.sheet, len(sheets))
        self.problems = sorted(problems, key=lambda p: (sheets[p.sheet], p.row or 0))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        n = len(self.problems)
        closing = ngettext(
            "Nothing was imported: {n} problem found.",
            "Nothing was imported: {n} problems found.",
            n,
        ).format(n=n)
        return [p.line() for p in self.problems] + [closing]


@dataclass(slots=True)
class Problems:
    """Collects problems while a file is checked, so one pass reports all of them."""

    items: list[Problem] = field(default_factory=list)

    def add(
        self,
        reason: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str = "",
        sheet: str | None = None,
    ) -> None:
        self.items.append(Problem(reason, row, column, value, sheet))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportRefused(self.items)


_WORD = re.compile(r"^[a-z]+(?=[\s,:]|$)")


def _capital(line: str) -> str:
    """The line with its first word capitalised, when that word is an English one
    ("row 3" → "Row 3"); a file name or a code that starts a line stays as written
    ("b15a_org.xlsx", "perf")."""
    if _WORD.match(line) is None:
        return line
    return line[:1].upper() + line[1:]
