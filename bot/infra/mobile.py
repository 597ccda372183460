"""Mobile numbers as stored and compared: a mainland mobile's 11 digits, without +86.

An org file writes them every way ("138 1234 5678", "+86-138-1234-5678", 8613812345678);
Feishu's profile gives "+8613812345678". Both normalise to "13812345678", so a match is
exact and a duplicate is seen whatever the spelling.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-()（）]+")
_MOBILE = re.compile(r"1\d{10}")


def normalise(value: str) -> str | None:
    """The 11 digits of a mainland mobile number, or None when `value` is not one."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))  # ＋８６ → +86
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None
