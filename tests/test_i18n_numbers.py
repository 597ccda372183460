"""Numbers in the conversation are formatted by Python for our two languages, as Babel
formats them (bot.infra.i18n.number's fast path): the two must never differ."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from bot.infra import i18n

EDGES = [
    "0",
    "-0",
    "-0.001",
    "0.005",
    "-0.005",
    "0.015",
    "2.675",
    "1234567.125",
    "-1234567.125",
    "999.995",
    "-999.995",
    "1E+3",
    "-1E+5",
    "12345678901234567890.123456",
    "4000",
    "100.00",
]


def _values() -> list[Decimal]:
    rng = random.Random(13)
    found = [Decimal(v) for v in EDGES]
    for _ in range(3000):
        digits, scale = rng.randint(0, 14), rng.randint(0, 7)
        found.append(Decimal(rng.randint(-(10**digits), 10**digits)).scaleb(-scale))
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("places", [0, 1, 2, 3, 4])
def test_the_fast_path_writes_what_babel_writes(language: str, places: int) -> None:
    assert i18n._plain(language)  # both our languages take the fast path
    for value in _values():
        assert i18n.number(value, language, places) == i18n.babel_number(value, language, places), (
            value
        )


def test_hand_computed_examples() -> None:
    assert i18n.number(Decimal("1234.5"), "zh_CN") == "1,234.50"
    assert i18n.number(Decimal("-1234567.555"), "en", 0) == "-1,234,568"
    assert i18n.number(Decimal("2.665"), "en", 2) == "2.66"  # half to even, as Babel
    assert i18n.number(Decimal("3.14159"), "en", 3) == "3.142"
