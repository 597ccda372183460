"""Reading a typed score: full-width digits, `90分`, `90.5`; nothing else is a number."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from bot.infra.i18n import _
from bot.infra.render import score, short
from models import Indicator, IndicatorKind

_NUMBER = re.compile(r"^[+-]?[0-9]+(?:\.[0-9]+)?$")
_SEPARATORS = re.compile(r"[\s,，、;；]+")
COMMENT_MAX = 500
# Longer than any score a scheme can hold (100000.25 is 9): refused before Decimal reads
# it, so 10,000 nines cost nothing and are never echoed whole.
NUMBER_MAX = 12
# Typed on a phone they are mistakes; stored, PostgreSQL refuses NUL (an HTTP 500 that a
# retry never fixes) and the others garble what payroll and the explanation show.
_ALLOWED_CONTROLS = frozenset("\n\t")
# Characters that show nothing: format characters (zero-width space, joiners, BOM),
# spaces and separators, and the fillers some keyboards insert.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp", "Cc"})
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800")


class BadValue(Exception):
    """A value the form refuses; `str()` is the reason, in the user's language."""


class TooLong(Exception):
    """A number with more digits than any score; `str()` is its shortened echo."""


def normal(text: str) -> str:
    """Full-width digits and punctuation folded to ASCII (９０．５ → 90.5), invisible
    format characters (a pasted zero-width space) dropped."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf").strip()


def control_character(text: str) -> str | None:
    """The first character in `text` no one types on purpose (control characters,
    surrogates, non-characters), as U+XXXX; None when there is none."""
    for c in text:
        if c in _ALLOWED_CONTROLS or c == "\r":
            continue
        category = unicodedata.category(c)
        if category in ("Cc", "Cs") or (category == "Cn" and (ord(c) & 0xFFFE) == 0xFFFE):
            return f"U+{ord(c):04X}"
    return None


def visible(text: str) -> str:
    """`text` without what shows nothing: a comment of zero-width spaces is empty."""
    return "".join(
        c
        for c in text
        if unicodedata.category(c) not in _INVISIBLE_CATEGORIES and c not in _INVISIBLE_EXTRA
    )


def quote(text: str, limit: int = 20) -> str:
    """User text echoed back briefly, as plain text (control characters dropped)."""
    text = "".join(c for c in text if unicodedata.category(c) != "Cc" or c in " \n\t")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def looks_numeric(token: str) -> bool:
    return bool(_NUMBER.match(normal(token).removesuffix("分")))


def tokens(text: str) -> list[str]:
    return [t for t in _SEPARATORS.split(normal(text)) if t]


def parse(text: str) -> Decimal:
    """The number in `text`, or BadValue saying what to type instead."""
    t = normal(text).removesuffix("分").strip()
    if not t:
        raise BadValue(_("Please type a number, such as 90 or 90.5, or tap a button."))
    if not _NUMBER.match(t):
        raise BadValue(
            _("“{text}” is not a number: type digits, such as 90 or 90.5.").format(text=quote(text))
        )
    if len(t.lstrip("+-").lstrip("0")) > NUMBER_MAX:
        raise TooLong(short(t))
    value = Decimal(t)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise BadValue(_("Use at most two decimal places, such as 90.25."))
    # -0 and -0.0 are zero: never stored or shown as "-0".
    return value.copy_abs() if value.is_zero() else value


# A bonus or deduction item's cap is what the engine counts, not what may be entered: a
# scorer enters what happened (5 points of lateness) and the cap applies in the total.
# The scheme defines no separate input limit, so an entry may go up to a whole score
# scale, a typing slip's guard.
ITEM_INPUT_MAX = Decimal(100)


def counted(ind: Indicator) -> bool:
    """A bonus or deduction item entered as a number of incidents (scheme's 每次分值)."""
    return ind.per_incident is not None and ind.kind in (
        IndicatorKind.BONUS,
        IndicatorKind.DEDUCTION,
    )


def points(ind: Indicator, value: Decimal) -> Decimal:
    """What an entered value is worth before the cap: times × points for a counted item."""
    return value * ind.per_incident if counted(ind) and ind.per_incident is not None else value


def shown(ind: Indicator, value: Decimal) -> str:
    """An entered value as the form and the summary show it: "3 times × 3 = 9" for a
    counted item, so the count is never read as points."""
    if counted(ind) and ind.per_incident is not None:
        return _("{n} times × {each} = {points}").format(
            n=score(value), each=score(ind.per_incident), points=score(points(ind, value))
        )
    return score(value)


def input_max(ind: Indicator) -> Decimal:
    """The largest value the form accepts for `ind` (for a bonus or deduction item,
    above its cap: the cap is applied in the total; for a counted one, a count)."""
    if counted(ind):
        return ITEM_INPUT_MAX
    if ind.kind in (IndicatorKind.BONUS, IndicatorKind.DEDUCTION):
        return max(ind.max_score, ITEM_INPUT_MAX)
    return ind.max_score


def allowed(ind: Indicator) -> str:
    """The allowed answers, as the form states them."""
    if ind.kind == IndicatorKind.RATING and ind.levels:
        return ", ".join(f"{label} ({score(str(p))})" for label, p in ind.levels)
    if counted(ind) and ind.per_incident is not None:
        return _("a number of times, 0–{high}; {each} points each, counts at most {cap}").format(
            high=score(input_max(ind)), each=score(ind.per_incident), cap=score(ind.max_score)
        )
    if ind.kind in (IndicatorKind.BONUS, IndicatorKind.DEDUCTION):
        return _("{low}–{high}, counts at most {cap}").format(
            low=score(ind.min_score), high=score(input_max(ind)), cap=score(ind.max_score)
        )
    return f"{score(ind.min_score)}–{score(ind.max_score)}"


def level_label(ind: Indicator, text: str) -> bool:
    """Whether `text` names one of a rating's levels."""
    return ind.kind == IndicatorKind.RATING and any(
        normal(text) == normal(str(label)) for label, _points in ind.levels or ()
    )


def check(ind: Indicator, text: str) -> Decimal:
    """A typed or tapped answer for `ind`, validated against its range or levels."""
    if ind.kind == IndicatorKind.RATING and ind.levels:
        for label, points in ind.levels:
            if normal(text) == normal(str(label)):
                return Decimal(str(points))
        if not looks_numeric(text):
            raise BadValue(
                _("“{text}” is not one of the levels: {levels}.").format(
                    text=quote(text), levels=allowed(ind)
                )
            )
        try:
            value = parse(text)
        except TooLong as long:
            shown = str(long)
        else:
            if any(value == Decimal(str(p)) for _label, p in ind.levels):
                return value
            shown = short(score(value))
        raise BadValue(
            _("{value} is not one of the levels: {levels}.").format(
                value=shown, levels=allowed(ind)
            )
        )
    try:
        value = parse(text)
    except TooLong as long:
        shown = str(long)
    else:
        if counted(ind) and value != value.to_integral_value():
            raise BadValue(
                _("{value} is not a whole number of times: {range}.").format(
                    value=short(score(value)), range=allowed(ind)
                )
            )
        if ind.min_score <= value <= input_max(ind):
            return value
        shown = short(score(value))
    raise BadValue(
        _("{value} is outside the allowed range {range}.").format(value=shown, range=allowed(ind))
    )


def top(ind: Indicator) -> Decimal:
    if ind.kind == IndicatorKind.RATING and ind.levels:
        return max(Decimal(str(p)) for _label, p in ind.levels)
    return ind.max_score


def needs_comment(ind: Indicator, value: Decimal) -> bool:
    """The scheme asks a reason for a low score, and optionally for the maximum."""
    if ind.comment_below is not None and value < ind.comment_below:
        return True
    return ind.comment_at_max and value == top(ind)


def comment_rule(ind: Indicator) -> str:
    """Why this indicator wants a comment, as a sentence for the comment prompt."""
    parts = []
    if ind.comment_below is not None:
        parts.append(_("below {limit}").format(limit=score(ind.comment_below)))
    if ind.comment_at_max:
        parts.append(_("at the maximum"))
    return _("A comment is required for a score {when}.").format(when=_(" or ").join(parts))


def check_comment(text: str) -> str:
    """A comment as stored: trimmed, with something visible in it, no control
    characters, within the limit."""
    comment = text.strip()
    if not visible(comment):
        raise BadValue(_("The comment is empty: please type a few words."))
    if (code := control_character(comment)) is not None:
        raise BadValue(
            _(
                "The comment contains a control character ({code}) that cannot be stored: "
                "please type it again without it."
            ).format(code=code)
        )
    if len(comment) > COMMENT_MAX:
        raise BadValue(
            _("The comment is {length} characters long; keep it under {limit}.").format(
                length=len(comment), limit=COMMENT_MAX
            )
        )
    return comment


def choices(ind: Indicator) -> list[tuple[str, str]]:
    """Buttons for the common answers: (label, value)."""
    if ind.kind == IndicatorKind.RATING and ind.levels:
        return [(f"{label} {score(str(p))}", score(str(p))) for label, p in ind.levels]
    if counted(ind):
        return [(_("{n} times").format(n=n), str(n)) for n in range(4)]
    optional = ind.kind in (IndicatorKind.BONUS, IndicatorKind.DEDUCTION)
    return [(v, v) for v in _points_between(ind.min_score, ind.max_score, optional)]


@lru_cache(maxsize=1024)
def _points_between(lo: Decimal, hi: Decimal, optional: bool) -> tuple[str, ...]:
    """The values offered as buttons between lo and hi: worked out once per range, as a
    form shows them at every step (a score per button, each a few Decimal operations)."""
    span = hi - lo
    if optional:
        shares = [Decimal(0), Decimal("0.25"), Decimal("0.5"), Decimal(1)]
    else:
        shares = [Decimal(x) / 100 for x in (100, 95, 90, 85, 80, 70, 60)]
    seen: list[str] = []
    for share in shares:
        value = score((lo + span * share).quantize(Decimal(1), ROUND_HALF_UP))
        if value not in seen and lo <= Decimal(value) <= hi:
            seen.append(value)
    return tuple(seen)
