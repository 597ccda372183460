"""Numbers, dates and money as the user's locale writes them (Babel)."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot.infra import i18n
from bot.infra.i18n import N_


def when(value: dt.datetime, tz: ZoneInfo) -> str:
    """A deadline such as 2026年12月7日 23:59 or Dec 7, 2026 23:59, in local time."""
    lang = i18n.current()
    day = format_skeleton("yMMMd", value, tzinfo=tz, locale=lang)
    return f"{day} {format_skeleton('Hm', value, tzinfo=tz, locale=lang)}"


# The context a score of up to 28 digits is normalised in, made once: a form step shows
# a score per answer button.
_ROOM = decimal.Context(prec=28)


def score(value: Decimal | str) -> str:
    """A score as entered: 90, 90.5 (no padding zeros, no grouping)."""
    d = Decimal(value)
    if d.is_zero():
        d = d.copy_abs()  # -0 and -0.0 are zero, never shown as "-0"
    # normalize() rounds to the context's 28 digits: a long number would be shown as
    # another one (30 nines as 1 followed by zeros), so give it room for every digit.
    digits = len(d.as_tuple().digits)
    room = _ROOM if digits <= 28 else decimal.Context(prec=digits)
    text = format(d.normalize(room), "f") if d == d.to_integral_value() else format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def points(value: Decimal | str, places: int = 2) -> str:
    """Computed points and totals, at the scheme's places: 36.00."""
    return i18n.number(Decimal(value), places=places)


def signed(value: Decimal, places: int = 2) -> str:
    return ("+" if value > 0 else "") + points(value, places)


def money(value: Decimal | str) -> str:
    return i18n.money(Decimal(value))


def signed_money(value: Decimal) -> str:
    text = money(abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "") + text


# The rounding rules a scheme may name (bot.appraisal.pay.ROUNDINGS), as people call them.
_ROUNDINGS = {
    "ROUND_HALF_UP": N_("round half up"),
    "ROUND_HALF_EVEN": N_("banker's rounding (half to even)"),
    "ROUND_HALF_DOWN": N_("round half down"),
    "ROUND_DOWN": N_("truncation toward zero"),
    "ROUND_UP": N_("rounding away from zero"),
    "ROUND_FLOOR": N_("rounding down"),
    "ROUND_CEILING": N_("rounding up"),
}


def rounding(rule: str) -> str:
    """A rounding rule by its common name; an unknown one by its code."""
    name = _ROUNDINGS.get(rule)
    return i18n._(name) if name else rule


def grade(code: str, label: str) -> str:
    """A grade with its label, "A 优秀"; once when they are the same ("特等")."""
    return code if not label or label == code else f"{code} {label}"


def places_of(value: Decimal | str) -> int:
    """How many decimal places a stored number has (0 for whole numbers)."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def short(text: str, limit: int = 12) -> str:
    """A long run of characters shortened for an echo: 123456…7890."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[-(limit - head - 1) :]}"
