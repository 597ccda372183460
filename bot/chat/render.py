"""Numbers, dates and money as the user's locale writes them (Babel)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot import i18n


def when(value: dt.datetime, tz: ZoneInfo) -> str:
    """A deadline such as 2026年12月7日 23:59 or Dec 7, 2026 23:59, in local time."""
    lang = i18n.current()
    day = format_skeleton("yMMMd", value, tzinfo=tz, locale=lang)
    return f"{day} {format_skeleton('Hm', value, tzinfo=tz, locale=lang)}"


def score(value: Decimal | str) -> str:
    """A score as entered: 90, 90.5 (no padding zeros, no grouping)."""
    d = Decimal(value)
    text = format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")
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
