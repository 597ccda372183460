"""Translations: every user-facing sentence goes through `_` and the catalogs in locales/.

The language in force is a context variable, so one process can answer a Chinese and an
English user at once. Source strings are English; zh_CN is the default language.
"""

from __future__ import annotations

import contextlib
import gettext as _gettext
from collections.abc import Iterator
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_currency, parse_pattern


def _locale_dir() -> Path:
    """An installed wheel carries the compiled catalogs inside the bot package (setup.py
    puts them there); a checkout keeps them in locales/ beside it."""
    import bot

    package = Path(bot.__file__).resolve().parent
    shipped = package / "locales"
    return shipped if shipped.is_dir() else package.parent / "locales"


LOCALE_DIR = _locale_dir()
LANGUAGES = ("zh_CN", "en")
# Unset: the default language, read from the settings when asked (they may change in tests).
_current: ContextVar[str] = ContextVar("language")


@cache
def translations(language: str) -> _gettext.NullTranslations:
    return _gettext.translation(
        "messages", localedir=LOCALE_DIR, languages=[language], fallback=True
    )


def default_language() -> str:
    """DEFAULT_LANGUAGE: what people and chats with no language of their own are spoken
    to in (the chat, the web page, pushes, the CLI)."""
    from bot.infra.settings import get_settings

    return get_settings().default_language  # checked there: a supported language


def resolve(code: str | None, default: str | None = None) -> str:
    """Map a platform language code ("en-US", "zh-hans", "zh") to a supported language;
    `default` (else DEFAULT_LANGUAGE) for none or one not supported."""
    found = supported(code) if code else None
    if found is not None:
        return found
    return default_language() if default is None else default


@cache
def supported(code: str | None) -> str | None:
    """The supported language a code names, if any. Cached: every message resolves its
    speaker's language, and parsing a locale is slow."""
    if not code:
        return None
    try:
        loc = Locale.parse(code.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    if loc.language == "zh":
        return "zh_CN"
    if loc.language == "en":
        return "en"
    return None


def current() -> str:
    language = _current.get(None)
    return default_language() if language is None else language


@contextlib.contextmanager
def using(language: str) -> Iterator[None]:
    token = _current.set(resolve(language))
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: str) -> None:
    _current.set(resolve(language))


def _(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


@cache
def _locale(language: str) -> Locale:
    """Babel's data for a language, parsed once: given a code string, babel parses the
    locale again on every call, which was a measurable part of each chat step."""
    return Locale.parse(language)


@cache
def _pattern(places: int) -> NumberPattern:
    return parse_pattern("#,##0." + "0" * places if places else "#,##0")


def money(amount: Decimal, language: str | None = None) -> str:
    """¥4,000.00 in either language: pay is always in yuan."""
    return format_currency(amount, "CNY", locale=_locale(language or current()))


@cache
def _plain(language: str) -> bool:
    """Whether the language writes numbers as Python's "," format does: "." for the
    decimal point, "," between groups of three, "-" before a negative number."""
    loc = _locale(language)
    symbols = loc.number_symbols["latn"]
    pattern = loc.decimal_formats[None]
    return bool(
        symbols["decimal"] == "."
        and symbols["group"] == ","
        and symbols["minusSign"] == "-"
        and pattern.grouping == (3, 3)
    )


def number(value: Decimal, language: str | None = None, places: int = 2) -> str:
    """A computed figure at `places`, grouped: 1,234.50. For languages that write numbers
    the plain way (both of ours) Python formats it, as Babel would, at a fifth of the
    cost (an explanation shows dozens); tests/test_i18n_numbers.py compares the two."""
    lang = language or current()
    if _plain(lang) and value.is_finite():
        # Babel's own rounding: quantize in the current decimal context.
        return f"{value.quantize(_QUANTUM[places] if places < 8 else Decimal(10) ** -places):,f}"
    return babel_number(value, lang, places)


def babel_number(value: Decimal, language: str, places: int = 2) -> str:
    """`number` as Babel formats it, for any language (what the fast path must match)."""
    return str(_pattern(places).apply(value, _locale(language)))


_QUANTUM = [Decimal(10) ** -p for p in range(8)]


def pct(rate: Decimal) -> str:
    """66.7 stays 66.7, 100.0 reads 100."""
    return str(rate.to_integral_value()) if rate == rate.to_integral_value() else str(rate)
