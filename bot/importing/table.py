"""Reading a sheet of an .xlsx workbook, or a .csv file, into rows keyed by column.

Headers may be Chinese or English, with a trailing `*` (the templates mark required
columns so) or a note in brackets ("绩效工资基数（元）"). The header row is the first
non-empty row; rows are numbered as Excel shows them (for CSV, the line number), and
empty rows are skipped.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.i18n import _
from bot.importing.cells import BadCell, is_blank, shown, text
from bot.importing.report import Problems

_NOTE = re.compile(r"[（(【\[].*?[）)】\]]")
_IGNORED = re.compile(r"[\s_\-*:：]+")


@dataclass(frozen=True, slots=True)
class Column:
    """A column the importer knows: its key, the names it goes by, whether it must exist."""

    key: str
    names: tuple[str, ...]
    required: bool = False

    @property
    def title(self) -> str:
        """The name a missing column is reported by: the Chinese one, as in the template."""
        return self.names[0]


@dataclass(slots=True)
class Row:
    number: int
    cells: dict[str, Any]

    def has(self, key: str) -> bool:
        return not is_blank(self.cells.get(key))


@dataclass(slots=True)
class Table:
    name: str
    # key → the header as written in the file, for the report.
    headers: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return key in self.headers

    def header(self, key: str) -> str:
        return self.headers.get(key, key)


def canonical(name: str) -> str:
    """Header text reduced to what identifies it: "Manager Number*" ~ "manager_number"."""
    folded = unicodedata.normalize("NFKC", name)
    return _IGNORED.sub("", _NOTE.sub("", folded)).casefold()


def build(
    name: str,
    raw_rows: Iterable[tuple[int, Sequence[Any]]],
    columns: Sequence[Column],
    problems: Problems,
    *,
    sheet: str | None = None,
) -> Table:
    """Match the header row against `columns` and key every later non-empty row."""
    lookup = {canonical(n): col for col in columns for n in (col.key, *col.names)}
    table = Table(name)
    rows = iter(raw_rows)
    positions: dict[str, int] = {}
    # The header row is the first one naming a known column, so a title or a note above
    # it does no harm.
    for number, values in rows:
        headers = [text(v) for v in values]
        if not any(canonical(h) in lookup for h in headers if h):
            continue
        for idx, header in enumerate(headers):
            col = lookup.get(canonical(header)) if header else None
            if col is None:
                continue  # extra columns (备注 ...) are HR's own business
            if col.key in positions:
                problems.add(_("this column appears twice"), row=number, column=header, sheet=sheet)
                continue
            positions[col.key] = idx
            table.headers[col.key] = header
        break
    for col in columns:
        if col.required and col.key not in positions:
            problems.add(
                _("required column {column} is missing").format(column=col.title), sheet=sheet
            )
    for number, values in rows:
        if all(is_blank(v) for v in values):
            continue
        cells = {key: values[idx] if idx < len(values) else None for key, idx in positions.items()}
        table.rows.append(Row(number, cells))
    return table


def read_csv(path: Path, problems: Problems) -> Iterator[tuple[int, list[str]]] | None:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GB18030, as Excel in China
    saves it; None (with a problem noted) when it cannot be read."""
    data = _read_bytes(path, problems)
    if data is None:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        problems.add(_("the file is neither UTF-8 nor GB18030 text"))
        return None
    first = content.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[str]]]:
        start = 1
        for record in reader:
            yield start, record
            start = reader.line_num + 1

    return rows()


def open_workbook(path: Path, problems: Problems) -> Any | None:
    """An openpyxl workbook, read-only with cached formula values; None if unreadable."""
    import openpyxl  # imported here: loading it costs more than a CSV import needs

    if not path.exists():
        problems.add(_("file {path} does not exist").format(path=path))
        return None
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        problems.add(_("{path} is not an .xlsx workbook Excel can open").format(path=path.name))
        return None


def sheet_rows(ws: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    # Rows come densely from row 1 (gaps as empty rows), so the count is Excel's number.
    yield from enumerate(ws.iter_rows(values_only=True), start=1)


def read_table(path: Path, columns: Sequence[Column], problems: Problems) -> Table:
    """The first sheet of an .xlsx workbook, or a .csv file, as a Table."""
    suffix = path.suffix.casefold()
    if suffix == ".csv":
        raw = read_csv(path, problems)
        return build(path.name, raw, columns, problems) if raw is not None else Table(path.name)
    if suffix in (".xlsx", ".xlsm"):
        wb = open_workbook(path, problems)
        if wb is None:
            return Table(path.name)
        try:
            ws = wb.worksheets[0]
            return build(ws.title, sheet_rows(ws), columns, problems)
        finally:
            wb.close()
    problems.add(_("{path}: only .xlsx and .csv files can be imported").format(path=path.name))
    return Table(path.name)


def _read_bytes(path: Path, problems: Problems) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        problems.add(_("file {path} does not exist").format(path=path))
    except OSError as exc:
        problems.add(_("file {path} cannot be read: {error}").format(path=path, error=exc))
    return None


class RowReader:
    """Reads one row's cells, noting each bad one (with the sheet, for workbooks of
    several) and remembering that the row is bad."""

    def __init__(
        self, table: Table, row: Row, problems: Problems, sheet: str | None = None
    ) -> None:
        self.table, self.row, self.problems, self.sheet = table, row, problems, sheet
        self.ok = True

    def bad(self, key: str, reason: str) -> None:
        self.ok = False
        self.problems.add(
            reason,
            row=self.row.number,
            column=self.table.header(key),
            value=shown(self.row.cells.get(key)),
            sheet=self.sheet,
        )

    def blank(self, key: str) -> bool:
        return not self.row.has(key)

    def get(
        self,
        key: str,
        reader: Callable[[object], Any],
        *,
        required: bool = False,
        max_len: int = 0,
    ) -> Any:
        raw = self.row.cells.get(key)
        if is_blank(raw):
            if required:
                self.bad(key, _("is required but empty"))
            return None
        try:
            value = reader(raw)
        except BadCell as exc:
            self.bad(key, str(exc))
            return None
        if max_len and isinstance(value, str) and len(value) > max_len:
            self.bad(key, _("is longer than {n} characters").format(n=max_len))
            return None
        return value
