"""Reading one spreadsheet cell: what Excel and HR actually put there, into exact values.

A cell arrives as openpyxl gives it (str, int, float, bool, datetime, None) or as CSV
text. Numbers are parsed from text, never through float arithmetic: a float cell is
turned back into the shortest text that reads as the same float (`repr`), which is what
Excel showed. Each reader raises `BadCell` with the reason in the user's language.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.infra.i18n import _

# Spaces Excel users leave around values, including the full-width and no-break ones and
# the BOM that survives a careless copy and paste.
_SPACE = " \t\r\n\u3000\u00a0\ufeff\u200b"
_PLAIN = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]+)?$")
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$")
_WHOLE_FLOAT_TEXT = re.compile(r"^[0-9]+\.0+$")
# Currency marks HR puts on amounts; NFKC has already folded ￥ into ¥.
_CURRENCY_PREFIXES = ("¥", "RMB", "CNY")
_CURRENCY_SUFFIXES = ("元", "RMB", "CNY")
EXCEL_DIGITS_LIMIT = 10**15
_TRUE = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "对", "t"})
_FALSE = frozenset({"否", "n", "no", "false", "0", "×", "✗", "x", "不是", "f"})


class BadCell(ValueError):
    """A cell that cannot be read; `str()` is the reason, in the user's language."""


# What Excel shows for a formula that failed; a CSV saved from Excel keeps the text.
ERROR_CODES = frozenset(
    {"#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
# A character lost when the file was saved in an encoding that could not hold it: "?"
# from Excel's GBK ("ANSI") CSV, U+FFFD from a lossy conversion.
LOST = ("?", "\ufffd")
_LOST = re.compile("[?\ufffd]")


@dataclass(frozen=True, slots=True)
class CellError:
    """A cell that holds no value to read: a formula's error (#REF!), or a formula whose
    result was never calculated (`code` empty; the file was written by a program, not
    saved by Excel)."""

    code: str
    formula: str = ""

    def __str__(self) -> str:
        return self.code or self.formula

    def reason(self) -> str:
        if self.code:
            return _("shows the error {error}: correct the formula or type the value").format(
                error=self.code
            )
        return _(
            "holds a formula whose result was never calculated: "
            "open the file in Excel and save it again"
        )


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip(_SPACE))


def shown(value: object) -> str:
    """The value as the report quotes it: close to what the spreadsheet showed."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def text(value: object) -> str:
    """A text cell, trimmed; a whole-number cell reads as its digits (10023.0 → "10023")."""
    if isinstance(value, str):
        return value.strip(_SPACE)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip(_SPACE)


def folded(value: object) -> str:
    """Text with full-width letters, digits and punctuation folded to ASCII (１２３ → 123)."""
    t = text(value)
    return t if t.isascii() else unicodedata.normalize("NFKC", t).strip(_SPACE)


def _not_a_date(value: object) -> None:
    """Refuse a date, time or yes/no cell where text or a number belongs: Excel turned
    what was typed into something else, and its text ("2026-01-12 00:00:00") is not what
    HR meant."""
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise BadCell(
            _("is a date or time cell: format the column as text in Excel and type the value again")
        )
    if isinstance(value, bool):
        raise BadCell(_("is a TRUE/FALSE cell, not text"))


def words(value: object) -> str:
    """Text that must have been typed as text: not a date, time or yes/no cell."""
    _not_a_date(value)
    return text(value)


def label(value: object) -> str:
    """A name (of a person, institution, department, position): text, not a date or a
    yes/no cell, with no character lost to an encoding."""
    _not_a_date(value)
    result = text(value)
    if _LOST.search(result):
        raise BadCell(
            _(
                "has “?” or “\ufffd” where a character was lost: the file was saved in an "
                "encoding that cannot hold every character (such as GBK/ANSI). Save it "
                "again as .xlsx or as “CSV UTF-8” from the original and import that"
            )
        )
    return result


def code(value: object) -> str:
    """An identifier such as 工号: text exactly as the spreadsheet shows it, so "007"
    stays "007" (full-width digits folded).

    Excel stores a typed 10023 as a number, which openpyxl returns as 10023 or 10023.0,
    and some exports write that as the text "10023.0": all three are "10023". A date,
    time or yes/no cell is refused.
    """
    if type(value) is str:
        # The usual cell, digits typed as text: nothing to fold or refuse (an import of
        # 100,000 people reads 300,000 of these).
        trimmed = value.strip(_SPACE)
        if trimmed.isascii() and trimmed.isdigit():
            return trimmed
    _not_a_date(value)
    if isinstance(value, float) and not value.is_integer():
        raise BadCell(_("is not a valid number (it has a fraction)"))
    if isinstance(value, (int, float)) and abs(value) >= EXCEL_DIGITS_LIMIT:
        # Excel keeps 15 significant digits: a longer number typed into a number cell
        # has already lost its last digits.
        raise BadCell(
            _(
                "is a number too long for Excel to keep exactly: format the column as "
                "text in Excel and type it again"
            )
        )
    result = folded(value)
    if any(c in _SPACE for c in result):
        raise BadCell(_("has a space inside: a code is written without spaces"))
    if _WHOLE_FLOAT_TEXT.match(result):
        result = result.split(".", 1)[0]
    return result


def decimal(value: object, *, money: bool = False, percent: bool = False) -> Decimal:
    """An exact number from a cell: `4,000.00`, `¥4000`, `￥4,000`, `４０００`, 4000.0.

    `money` also accepts a currency mark; `percent` a trailing %, meaning the number
    itself (weights are written as 70 or 70%; an Excel percentage cell arrives as the
    text it shows, "70%").
    """
    if isinstance(value, (bool, dt.date, dt.time, dt.timedelta)):
        raise BadCell(_("is not a number"))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        # repr is the shortest text that reads back as this float: 4000.1, not 4000.09999…
        result = Decimal(repr(value))
    else:
        result = _parse(folded(value), money=money, percent=percent)
    if not result.is_finite():
        raise BadCell(_("is not a number"))
    return result


def _parse(t: str, *, money: bool, percent: bool) -> Decimal:
    t = t.replace(" ", "")
    if money:
        for mark in _CURRENCY_PREFIXES:
            if t.upper().startswith(mark):
                t = t[len(mark) :]
                break
        for mark in _CURRENCY_SUFFIXES:
            if t.upper().endswith(mark):
                t = t[: -len(mark)]
                break
    if percent and t.endswith("%"):
        t = t[:-1]
    if _GROUPED.match(t):
        t = t.replace(",", "")
    if not _PLAIN.match(t):
        raise BadCell(_("is not a number"))
    try:
        return Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise BadCell(_("is not a number")) from None


def places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def flag(value: object) -> bool | None:
    """A yes/no cell (是/否, Y/N, TRUE/FALSE, 1/0, √); None when blank."""
    if isinstance(value, bool):
        return value
    if is_blank(value):
        return None
    t = folded(value).casefold()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise BadCell(_("is not yes or no (use 是 or 否)"))


def _float_text(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return repr(value)
