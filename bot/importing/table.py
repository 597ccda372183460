"""Reading a sheet of an .xlsx workbook, or a .csv file, into rows keyed by column.

Headers may be Chinese (Simplified or Traditional) or English, with a trailing `*` (the
templates mark required columns so) or a note in brackets ("绩效工资基数（元）"). The
header row is the first row naming a known column; rows are numbered as Excel shows them
(for CSV, the line number), and empty rows are skipped.

What a spreadsheet holds beyond plain values is never read silently as something else:
a totals row (合计, or a SUM formula) is skipped and reported; a formula's error
(#REF!) or an uncalculated formula reaches the row reader as a `CellError`; an Excel
percentage arrives as the text it shows ("70%"), a zero-padded number as its digits
("000123"); an unknown column resembling a known one is refused; a workbook with several
sheets of data needs the one to read named.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.importing.cells import ERROR_CODES, BadCell, CellError, is_blank, shown, text
from bot.importing.report import Problems
from bot.infra.i18n import _

_NOTE = re.compile(r"[（(【\[].*?[）)】\]]")
_IGNORED = re.compile(r"[\s_\-*:：%]+")
# Traditional characters of every header and sheet name we know (and of the words we
# read, such as 評分 or 集團領導), to their Simplified forms: a Hong Kong or Taiwan
# colleague's 員工編號 is 员工编号.
_SIMPLIFIED = str.maketrans(
    "號員編機構稱屬門崗職務級績資數郵電語試點團計捨適標類權滿評檔準須說説碼於係際實項負責領導優對單門價個額錄"
    "據與動總結",
    "号员编机构称属门岗职务级绩资数邮电语试点团计舍适标类权满评档准须说说码于系际实项负责领导优对单门价个额录"
    "据与动总结",
)
# A row whose cell says this is a sum of the rows above, not a person or an indicator.
TOTAL_WORDS = frozenset(
    {
        "合计",
        "总计",
        "小计",
        "共计",
        "总和",
        "汇总",
        "total",
        "totals",
        "subtotal",
        "grandtotal",
        "sum",
    }
)
_SUM_FORMULA = re.compile(r"^=\s*(?:SUM|SUBTOTAL|SUMIF|SUMIFS|SUMPRODUCT|AGGREGATE)\s*\(", re.I)
# Sheets of notes (our templates carry a 说明 sheet): never data.
NOTE_SHEETS = frozenset(
    {
        "说明",
        "填写说明",
        "使用说明",
        "导入说明",
        "备注",
        "notes",
        "note",
        "readme",
        "instructions",
        "help",
    }
)
# How many rows to look through for a header when deciding which sheets hold data.
HEADER_SEARCH = 30
# Rows read between two progress calls.
PROGRESS_EVERY = 500
Progress = Callable[[int], None]


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


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula cell as the xlsx reader gives it: Excel's last result, and the formula."""

    value: Any
    formula: str


@dataclass(slots=True)
class Table:
    name: str
    # key → the header as written in the file, for the report.
    headers: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    # The sheet read (None for a CSV file), and what was left aside, for the report.
    sheet: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    ignored_sheets: list[str] = field(default_factory=list)
    totals_rows: list[int] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)
    hidden_columns: list[str] = field(default_factory=list)
    header_row: int | None = None

    def has(self, key: str) -> bool:
        return key in self.headers

    def header(self, key: str) -> str:
        return self.headers.get(key, key)

    def lines(self) -> list[str]:
        """What the success report says about the reading itself."""
        lines = []
        if self.sheet is not None:
            lines.append(_("Read sheet {sheet}.").format(sheet=self.sheet))
        if self.ignored_sheets:
            lines.append(
                _("Sheets not read: {sheets}.").format(sheets=_(", ").join(self.ignored_sheets))
            )
        if self.ignored_columns:
            lines.append(
                _("Columns ignored (not ours): {columns}.").format(
                    columns=_(", ").join(self.ignored_columns)
                )
            )
        if self.totals_rows:
            lines.append(_("Totals rows skipped: {rows}.").format(rows=_numbers(self.totals_rows)))
        if self.hidden_columns:
            lines.append(
                _("Hidden columns were read like the others: {columns}.").format(
                    columns=_(", ").join(self.hidden_columns)
                )
            )
        if self.hidden_rows:
            lines.append(
                _("Hidden rows were read like the others: {rows}.").format(
                    rows=_numbers(self.hidden_rows)
                )
            )
        return lines


def _numbers(rows: Sequence[int], most: int = 20) -> str:
    shown_rows = ", ".join(str(n) for n in rows[:most])
    return shown_rows + (" …" if len(rows) > most else "")


def canonical(name: str) -> str:
    """Header text reduced to what identifies it: "Manager Number*" ~ "manager_number",
    "員工編號" ~ "员工编号"."""
    folded_name = unicodedata.normalize("NFKC", name).translate(_SIMPLIFIED)
    return _IGNORED.sub("", _NOTE.sub("", folded_name)).casefold()


def simplified(word: str) -> str:
    """A word read from a cell with Traditional characters made Simplified."""
    return word.translate(_SIMPLIFIED)


def letter(index: int) -> str:
    """The column letter Excel shows for a 0-based position."""
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


def _is_total(values: Sequence[Any], key: int | None) -> bool:
    """A row summing those above: its identifying cell (`key`, the first required
    column: 工号, a code) is empty or says 合计, and a cell says 合计 or sums with a
    formula. A person's row whose amount is a SUM stays a person's row."""
    if key is not None and key < len(values):
        ident = values[key]
        if isinstance(ident, Formula):
            ident = ident.value
        if not is_blank(ident) and not (isinstance(ident, str) and canonical(ident) in TOTAL_WORDS):
            return False
    for v in values:
        if isinstance(v, Formula) and isinstance(v.formula, str) and _SUM_FORMULA.match(v.formula):
            return True
        if isinstance(v, str) and canonical(v) in TOTAL_WORDS:
            return True
    return False


def _plain(value: Any) -> Any:
    """A cell as the row readers get it: a formula's result, an error as `CellError`."""
    if isinstance(value, Formula):
        if value.value is None:
            return CellError("", value.formula)
        value = value.value
    if isinstance(value, str) and value.strip(" ") in ERROR_CODES:
        return CellError(value.strip(" "))
    return value


def _resembles(header: str, names: dict[str, Column]) -> Column | None:
    """The known column an unknown header most likely means, if it is close: one name
    contains the other and is at least half its length ("直接上级" in "直接上级工号",
    "manager" in "manager_id"), or they differ by little (difflib's ratio ≥ 0.75)."""
    if len(header) < 2:
        return None
    for name, col in names.items():
        shorter, longer = sorted((len(name), len(header)))
        least = 2 if not (name.isascii() and header.isascii()) else 4
        # Containment counts when the shorter is at least half the longer: 上级 means
        # 上级工号, but 说明 (notes) does not mean 低于此分须说明.
        if shorter >= least and 2 * shorter >= longer and (name in header or header in name):
            return col
    close = difflib.get_close_matches(header, list(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


def build(
    name: str,
    raw_rows: Iterable[tuple[int, Sequence[Any]]],
    columns: Sequence[Column],
    problems: Problems,
    *,
    sheet: str | None = None,
    hidden_columns: Callable[[], set[int]] | None = None,
    hidden_rows: Callable[[], set[int]] | None = None,
    merged: Callable[[], list[tuple[int, int, int, int]]] | None = None,
    progress: Progress | None = None,
) -> Table:
    """Match the header row against `columns` and key every later non-empty row.

    `hidden_columns` (0-based positions) is asked once the header row is read, since a
    workbook lists columns before rows; `hidden_rows` (Excel row numbers) and `merged`
    (Excel's merged ranges: first column, first row, last column, last row) once every
    row is.
    """
    lookup = {canonical(n): col for col in columns for n in (col.key, *col.names)}
    table = Table(name, sheet=sheet)
    rows = iter(raw_rows)
    positions: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    # The header row is the first one naming a known column, so a title or a note above
    # it does no harm.
    before_data = 0  # rows read up to the header, for progress
    for number, values in rows:
        before_data += 1
        headers = [text(_plain(v)) if not isinstance(_plain(v), CellError) else "" for v in values]
        if not any(canonical(h) in lookup for h in headers if h):
            continue
        table.header_row = number
        hidden = hidden_columns() if hidden_columns else set()
        for idx, header in enumerate(headers):
            col = lookup.get(canonical(header)) if header else None
            if col is None:
                if header:
                    unknown.append((idx, header))
                continue
            if col.key in positions:
                first = positions[col.key]
                where = _("columns {first} and {second}").format(
                    first=letter(first), second=letter(idx)
                )
                hidden_ones = [letter(i) for i in (first, idx) if i in hidden]
                reason = _("this column appears twice: {where}").format(where=where)
                if hidden_ones:
                    reason += _(" (hidden: {columns})").format(columns=", ".join(hidden_ones))
                problems.add(reason, row=number, column=header, sheet=sheet)
                continue
            positions[col.key] = idx
            table.headers[col.key] = header
            if idx in hidden:
                table.hidden_columns.append(f"{header} ({letter(idx)})")
        break
    absent = {
        canonical(n): col
        for col in columns
        if col.key not in positions
        for n in (col.key, *col.names)
    }
    for idx, header in unknown:
        col = _resembles(canonical(header), absent)
        if col is None:
            table.ignored_columns.append(f"{header} ({letter(idx)})")
            continue
        problems.add(
            _(
                "this is not a column we know; did you mean {column}? Name it {column} "
                "(or remove the column) and import again"
            ).format(column=col.title),
            row=table.header_row,
            column=f"{header} ({letter(idx)})",
            sheet=sheet,
        )
    for col in columns:
        if col.required and col.key not in positions:
            problems.add(
                _("required column {column} is missing").format(column=col.title), sheet=sheet
            )
    hidden_set: set[int] | None = None
    key = next((positions[c.key] for c in columns if c.required and c.key in positions), None)
    if progress is not None and before_data:
        progress(before_data)
    count = 0
    for number, values in rows:
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if all(is_blank(v) for v in values):
            continue
        if _is_total(values, key):
            table.totals_rows.append(number)
            continue
        cells = {
            key: _plain(values[idx]) if idx < len(values) else None
            for key, idx in positions.items()
        }
        table.rows.append(Row(number, cells))
    if progress is not None and count % PROGRESS_EVERY:
        progress(count % PROGRESS_EVERY)
    if merged is not None:
        _fill_merged(table, positions, merged())
    if hidden_rows is not None:
        hidden_set = hidden_rows()
        table.hidden_rows = sorted(r.number for r in table.rows if r.number in hidden_set)
    return table


def _fill_merged(
    table: Table, positions: dict[str, int], ranges: list[tuple[int, int, int, int]]
) -> None:
    """Give every row of a merged range the value Excel shows across it (an institution
    merged down the rows of its staff), which the file keeps in the first cell only."""
    if not ranges:
        return
    key_at = {idx + 1: key for key, idx in positions.items()}  # Excel's 1-based column
    by_number = {row.number: row for row in table.rows}
    for first_col, first_row, last_col, last_row in ranges:
        top = by_number.get(first_row)
        if top is None or first_row == last_row:
            continue  # on the header, a totals row, or merged across one row only
        value = top.cells.get(key_at[first_col]) if first_col in key_at else None
        if is_blank(value):
            continue
        for col in range(first_col, last_col + 1):
            key = key_at.get(col)
            if key is None:
                continue
            for number in range(first_row, last_row + 1):
                row = by_number.get(number)
                if row is not None and row is not top and is_blank(row.cells.get(key)):
                    row.cells[key] = value


def read_csv(path: Path, problems: Problems) -> Iterator[tuple[int, list[str]]] | None:
    """Rows of a CSV file in UTF-8 (with or without BOM) or GB18030, as Excel in China
    saves it; None (with a problem noted) when it cannot be read."""
    data = _read_bytes(path, problems)
    if data is None:
        return None
    # Excel's "Unicode text" is UTF-16 with a BOM; GB18030 would read it as nonsense.
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "gb18030"):
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
        problems.add(
            _("file {path} is not an .xlsx workbook Excel can open").format(path=path.name)
        )
        return None


class _Sheet:
    """One worksheet of a read-only workbook, read row by row with what openpyxl's own
    read-only rows leave out: each formula (for totals rows), the number format (for
    percentages and zero-padded 工号), and which rows and columns are hidden."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.hidden_columns: set[int] = set()
        self.hidden_rows: set[int] = set()
        self.merged: list[tuple[int, int, int, int]] = []

    def rows(self, limit: int | None = None) -> Iterator[tuple[int, list[Any]]]:
        from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

        class Parser(WorkSheetParser):  # type: ignore[misc]
            def parse_cell(self, element: Any) -> Any:
                cell = super().parse_cell(element)
                formula = element.find(FORMULA_TAG)
                if formula is not None:
                    cell["formula"] = "=" + (formula.text or "")
                return cell

        wb = self.ws.parent
        formats = _Formats(wb)
        expected = 1
        with self.ws._get_source() as src:
            parser = Parser(
                src,
                wb.shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            columns_seen = False
            for number, cells in parser.parse():
                if not columns_seen:  # <cols> precedes the rows
                    columns_seen = True
                    self.hidden_columns = _hidden_columns(parser.column_dimensions)
                if limit is not None and number > limit:
                    return
                while expected < number:  # rows Excel left out are empty rows
                    yield expected, []
                    expected += 1
                expected = number + 1
                attrs = parser.row_dimensions.get(str(number))
                if attrs and attrs.get("hidden") in ("1", "true"):
                    self.hidden_rows.add(number)
                values: list[Any] = []
                for cell in cells:
                    while len(values) < cell["column"] - 1:
                        values.append(None)
                    values.append(_value(cell, formats))
                yield number, values
            if not columns_seen:
                self.hidden_columns = _hidden_columns(parser.column_dimensions)
            if parser.merged_cells is not None:  # listed after the rows
                from openpyxl.utils.cell import range_boundaries

                for merge in parser.merged_cells.mergeCell:
                    bounds = range_boundaries(merge.ref)
                    if None not in bounds:
                        self.merged.append(bounds)


class _Formats:
    """Number formats by style id, looked up once each."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[int, str] = {}

    def of(self, style_id: int) -> str:
        if style_id not in self.cache:
            from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE

            try:
                fmt_id = self.wb._cell_styles[style_id].numFmtId
                if fmt_id < BUILTIN_FORMATS_MAX_SIZE:
                    fmt = BUILTIN_FORMATS.get(fmt_id, "General")
                else:
                    fmt = self.wb._number_formats[fmt_id - BUILTIN_FORMATS_MAX_SIZE]
            except (IndexError, AttributeError):
                fmt = "General"
            self.cache[style_id] = str(fmt)
        return self.cache[style_id]


_PADDED = re.compile(r"^0{2,}$")
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def _value(cell: dict[str, Any], formats: _Formats) -> Any:
    value = cell["value"]
    if cell["data_type"] == "e" and isinstance(value, str):
        value = CellError(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and cell["style_id"]:
        fmt = _FORMAT_LITERALS.sub("", formats.of(cell["style_id"]).split(";", 1)[0])
        if "%" in fmt:
            # The number Excel shows, as text: 0.7 shown "70%" is 70 percent.
            value = f"{(Decimal(repr(value)) * 100).normalize():f}%"
        elif _PADDED.match(fmt) and value == int(value) and value >= 0:
            # A 工号 typed as 000123 into a "000000" column: what HR sees is the 工号.
            value = str(int(value)).zfill(len(fmt))
    if "formula" in cell:
        return Formula(value, cell["formula"])
    return value


def _hidden_columns(dimensions: dict[str, dict[str, str]]) -> set[int]:
    hidden: set[int] = set()
    for attrs in dimensions.values():
        if attrs.get("hidden") in ("1", "true"):
            low, high = int(attrs.get("min", 0)), int(attrs.get("max", 0))
            hidden.update(range(low - 1, high))
    return hidden


def sheet_rows(ws: Any) -> Iterator[tuple[int, list[Any]]]:
    """Rows of a read-only worksheet, numbered as Excel shows them (gaps as empty rows)."""
    return _Sheet(ws).rows()


def build_sheet(
    ws: Any,
    columns: Sequence[Column],
    problems: Problems,
    *,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> Table:
    """A worksheet of a workbook opened by `open_workbook`, as a Table."""
    reader = _Sheet(ws)
    return build(
        ws.title,
        reader.rows(),
        columns,
        problems,
        sheet=sheet,
        hidden_columns=lambda: reader.hidden_columns,
        hidden_rows=lambda: reader.hidden_rows,
        merged=lambda: reader.merged,
        progress=progress,
    )


def is_notes(title: str) -> bool:
    return canonical(title) in NOTE_SHEETS


def holds_data(ws: Any, columns: Sequence[Column] | None = None) -> bool:
    """Whether a visible sheet holds anything: with `columns`, a header row naming one
    of them within its first rows; without, any non-empty cell."""
    if ws.sheet_state != "visible":
        return False
    names = {canonical(n) for col in columns or () for n in (col.key, *col.names)}
    for _number, values in _Sheet(ws).rows(limit=HEADER_SEARCH if columns else None):
        for v in values:
            plain = _plain(v)
            if is_blank(plain) or isinstance(plain, CellError):
                continue
            if not columns or canonical(text(plain)) in names:
                return True
    return False


def describe_sheet(ws: Any) -> str:
    """A sheet's name as a report lists it among those not read."""
    if ws.sheet_state != "visible":
        return _("{sheet} (hidden)").format(sheet=ws.title)
    return str(ws.title)


def pick_sheet(
    wb: Any, columns: Sequence[Column], problems: Problems, wanted: str | None
) -> tuple[Any | None, list[str]]:
    """The worksheet to read and the names of the others that hold something.

    With `wanted`, that sheet (by its exact or canonical name). Without, the only
    visible sheet whose header names a known column, notes sheets aside; several such
    sheets (11月, 12月) are refused, naming them, since reading the first would be a
    guess.
    """
    sheets = list(wb.worksheets)
    if wanted is not None:
        chosen = next((ws for ws in sheets if ws.title == wanted), None) or next(
            (ws for ws in sheets if canonical(ws.title) == canonical(wanted)), None
        )
        if chosen is None:
            problems.add(
                _("there is no sheet {sheet}; the sheets are: {sheets}").format(
                    sheet=wanted, sheets=_(", ").join(ws.title for ws in sheets)
                )
            )
            return None, []
    else:
        data = [ws for ws in sheets if not is_notes(ws.title) and holds_data(ws, columns)]
        if len(data) > 1:
            problems.add(
                _(
                    "several sheets hold data: {sheets}. Say which one to read with "
                    "--sheet, such as --sheet {first}"
                ).format(sheets=_(", ").join(ws.title for ws in data), first=data[0].title)
            )
            return None, []
        visible = [ws for ws in sheets if ws.sheet_state == "visible"] or sheets
        chosen = data[0] if data else visible[0]
    others = [
        describe_sheet(ws)
        for ws in sheets
        if ws is not chosen and not is_notes(ws.title) and _has_anything(ws)
    ]
    return chosen, others


def _has_anything(ws: Any) -> bool:
    for _number, values in _Sheet(ws).rows(limit=HEADER_SEARCH):
        if any(not is_blank(_plain(v)) for v in values):
            return True
    return False


def read_table(
    path: Path,
    columns: Sequence[Column],
    problems: Problems,
    *,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> Table:
    """One sheet of an .xlsx workbook (the only one holding data, or `sheet`), or a
    .csv file, as a Table."""
    suffix = path.suffix.casefold()
    if suffix == ".csv":
        if sheet is not None:
            problems.add(_("a .csv file has no sheets: leave out --sheet"))
            return Table(path.name)
        raw = read_csv(path, problems)
        if raw is None:
            return Table(path.name)
        return build(path.name, raw, columns, problems, progress=progress)
    if suffix in (".xlsx", ".xlsm"):
        wb = open_workbook(path, problems)
        if wb is None:
            return Table(path.name)
        try:
            ws, others = pick_sheet(wb, columns, problems, sheet)
            if ws is None:
                return Table(path.name)
            table = build_sheet(ws, columns, problems, progress=progress)
            table.sheet = ws.title
            table.ignored_sheets = others
            return table
        finally:
            wb.close()
    problems.add(_("file {path}: only .xlsx and .csv files can be imported").format(path=path.name))
    return Table(path.name)


def row_count(path: Path, sheet: str | None = None) -> int | None:
    """About how many rows `read_table` will read, for a progress bar; None if unknown.
    Cheap: a CSV's line count; a workbook sheet's stated dimension, read from the top of
    its XML without loading the workbook (a workbook without one gives None)."""
    try:
        if path.suffix.casefold() == ".csv":
            with path.open("rb") as fh:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        if path.suffix.casefold() in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as zf:
                rows = [
                    _stated_rows(zf, target)
                    for title, target in _sheet_parts(zf)
                    if title == sheet or (sheet is None and not is_notes(title))
                ]
            known = [n for n in rows if n]
            return max(known) if known else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    return None


_SHEET_TAG = re.compile(r'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_REL_TAG = re.compile(r"<Relationship\b[^>]*>")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Z]+[0-9]+:)?[A-Z]+([0-9]+)"')


def _sheet_parts(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    import html

    book = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    target_of = {}
    for tag in _REL_TAG.findall(rels):
        rid = re.search(r'\bId="([^"]*)"', tag)
        target = re.search(r'\bTarget="([^"]*)"', tag)
        if rid and target:
            t = target.group(1)
            target_of[rid.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return [
        (html.unescape(name), target_of[rid])
        for name, rid in _SHEET_TAG.findall(book)
        if rid in target_of
    ]


def _stated_rows(zf: zipfile.ZipFile, target: str) -> int | None:
    with zf.open(target) as fh:
        head = fh.read(4096)
    found = _DIMENSION.search(head)
    return int(found.group(1)) if found else None


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
        if isinstance(raw, CellError):
            self.bad(key, raw.reason())
            return None
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
