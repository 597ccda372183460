"""The audit chain's canonical serialization and hashes, defined once (docs/audit.md).

Everything that is hashed goes through `canonical`: the application when it seals events
and rows, `jixiao audit verify` when it re-checks them, and the migration that chained the
events that existed before. Changing anything here changes every hash: never do it.

Nothing here reads the database; callers hand in plain values as the columns give them.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

# The `prev_hash` of the first event of a chain.
GENESIS = "0" * 64

# The sealed tables: the columns each row hash covers, in this order (the row's id is
# not among them: it is named by the seal that records the hash, and the natural key is).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "periods": (
        "group_id",
        "institution_id",
        "scope",
        "label",
        "kind",
        "starts_on",
        "ends_on",
        "scheme_id",
        "state",
        "deadline",
        "created_at",
        "opened_at",
        "closed_at",
        "published_at",
        "finalized_at",
    ),
    "results": (
        "period_id",
        "employee_id",
        "total",
        "grade",
        "coefficient",
        "pay_base",
        "pay",
        "trace",  # the JSON text exactly as stored, not re-encoded
        "computed_at",
    ),
    "score_entries": (
        "task_id",
        "indicator_id",
        "value",
        "comment",
        "entered_by",
        "entered_at",
    ),
}

# The fields of an event that its hash covers (written as a JSON object, keys sorted).
EVENT_FIELDS = (
    "seq",
    "prev",
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "note",
    "seal",
)


def _plain(value: Any) -> Any:
    """JSON for what json does not know: instants in UTC with microseconds and a Z,
    dates as ISO, Decimals as plain digits (never exponents)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in the audit chain")
        # ISO 8601 in UTC, always six fraction digits: "2026-11-30T11:05:00.000000Z".
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not part of the audit chain's serialization")


_encoder = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain
)


def canonical(value: Any) -> bytes:
    """The one serialization that is hashed: compact JSON, object keys sorted, non-ASCII
    kept as UTF-8, None as null, instants/dates/Decimals as `_plain` writes them."""
    return _encoder.encode(value).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row_hash(table: str, values: Sequence[Any]) -> str:
    """A sealed row's hash: SHA-256 of the JSON array [table, *values], the values in
    ROW_COLUMNS order.

    Written item by item rather than through `canonical`, with the same bytes (a test
    checks): a period's computation hashes 100,000 rows, and the general encoder's
    callbacks for every Decimal and instant cost four times as much.
    """
    text = ",".join([_text(table), *map(_item, values)])
    return hashlib.sha256(f"[{text}]".encode()).hexdigest()


_text = json.encoder.encode_basestring


@functools.lru_cache(maxsize=256)
def _instant(value: dt.datetime) -> str:
    # Equal instants in other zones give the same UTC text, so caching by equality is
    # safe (unlike Decimals, where 87.5 == 87.50 but the two are written apart).
    return f'"{_plain(value)}"'


def _decimal(value: Decimal) -> str:
    # str() is format(…, "f") unless it chose an exponent, and five times as fast.
    digits = str(value)
    return format(value, "f") if "E" in digits else digits


def results_hasher(
    period_id: int, computed_at: dt.datetime
) -> Callable[[int, Decimal, str, Decimal, Decimal, Decimal, str], str]:
    """`row_hash` of results rows of one period computed at one instant, specialised:
    (employee_id, total, grade, coefficient, pay_base, pay, trace) → hash. The same
    bytes (a test checks); a third of the time at 100,000 rows."""
    head = f"[{_text('results')},{period_id},"
    tail = f",{_instant(computed_at)}]"

    def hashed(
        employee_id: int,
        total: Decimal,
        grade: str,
        coefficient: Decimal,
        pay_base: Decimal,
        pay: Decimal,
        trace: str,
    ) -> str:
        text = (
            f'{head}{employee_id},"{_decimal(total)}",{_text(grade)},"{_decimal(coefficient)}",'
            f'"{_decimal(pay_base)}","{_decimal(pay)}",{_text(trace)}{tail}'
        )
        return hashlib.sha256(text.encode()).hexdigest()

    return hashed


def _item(value: Any) -> str:
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return str(_text(value))
    if kind is int:
        return str(value)
    if kind is Decimal:
        return f'"{_decimal(value)}"'
    if kind is dt.datetime:
        return _instant(value)
    return _encoder.encode(value)


def event_hash(fields: dict[str, Any]) -> str:
    """An event's hash: SHA-256 of the JSON object of EVENT_FIELDS (keys sorted), where
    `prev` is the hash of the event before it in the chain (GENESIS for the first)."""
    return sha256(canonical({name: fields[name] for name in EVENT_FIELDS}))


def group_digest(members: Iterable[tuple[int, str]]) -> str:
    """The digest a group seal records over rows (id, row hash): SHA-256 of the lines
    "id hash\\n" in ascending id order."""
    digest = hashlib.sha256()
    for row_id, hashed in sorted(members):
        digest.update(f"{row_id} {hashed}\n".encode())
    return digest.hexdigest()
