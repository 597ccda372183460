"""A platform's overall send limit, shared by every sender in every process.

Telegram allows a bot 30 messages a second in all; Feishu 50 a second and 1,000 a
minute. However many senders run, together they must stay within that. Each send first
takes a slot from a shared budget (`SendBudget`); the budget says how long to wait
before making it.

`DatabaseBudget` keeps the budget in the database every process already shares: one
row per platform and window (`send_budgets`), a token bucket refilled and taken by one
guarded `UPDATE ... RETURNING` (PostgreSQL; SQLite 3.35 and later), so two senders can
never take the same slot. Another store (Redis, a rate-limiting proxy) stands in by
implementing `SendBudget`.

Per-chat limits (one a second per chat, twenty a minute per group) are not here: a chat's
messages are claimed by one sender at a time (bot.notify.outbox.claim), and a sender that takes
a chat over starts from the chat's last send as the outbox recorded it
(bot.notify.delivery.Sender).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, Float, cast, func, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from models import SendBudgetRow


@dataclass(frozen=True)
class Window:
    """One overall limit: `rate` sends a second on average, at most `capacity` at once."""

    key: str  # "telegram:second"
    rate: float
    capacity: float = 1.0


class SendBudget(Protocol):
    """What a sender needs from a shared budget."""

    def take(self, windows: list[Window]) -> float:
        """Reserve one send against every window; the seconds to wait before making it
        (0: at once). The reservation stands even if the caller then does not send: a
        slot may be lost, never given twice."""
        ...


class DatabaseBudget:
    """A `SendBudget` kept in the `send_budgets` table.

    Time is the database's own clock, and the answer a wait relative to it, so the
    senders' clocks may disagree without any of them sending early. `clock` (seconds)
    replaces it for tests that run on a fake clock."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], float] | None = None
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self._known: set[Window] = set()

    def take(self, windows: list[Window]) -> float:
        if not windows:
            return 0.0
        with self.sessions() as s, s.begin():
            now = self.clock() if self.clock is not None else database_now(s)
            for w in windows:
                if w not in self._known:
                    _ensure(s, w, now)
            rows = take(s, [w.key for w in windows], now)
        self._known.update(windows)
        return max((wait for _, wait in rows), default=0.0)


def database_now(session: Session) -> ColumnElement[float]:
    """The database server's clock in Unix seconds, read inside the statement using it."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    # julianday('now') has millisecond precision and is fixed within one statement.
    return (func.julianday("now") - 2440587.5) * 86400.0


def _ensure(session: Session, window: Window, now: float | ColumnElement[float]) -> None:
    """The window's row exists with its current rate (limits may change between runs)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = SendBudgetRow.__table__
    stmt = insert(table).values(  # type: ignore[arg-type]
        key=window.key,
        rate=window.rate,
        capacity=window.capacity,
        tokens=window.capacity,
        refilled_at=now,
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"], set_={"rate": window.rate, "capacity": window.capacity}
        )
    )


def take(
    session: Session, keys: list[str], now: float | ColumnElement[float]
) -> list[tuple[str, float]]:
    """One statement: refill each bucket for the time since it was last counted, take one
    token, return each bucket's wait. Every SET reads the row as it was, and the row is
    locked (PostgreSQL) or the database is (SQLite) until commit, so concurrent takers
    are serialised and each gets its own slot."""
    R = SendBudgetRow
    postgres = session.get_bind().dialect.name == "postgresql"
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    at: ColumnElement[float] = now if isinstance(now, ColumnElement) else literal(now, Float)
    counted: ColumnElement[float] = greatest(at, R.refilled_at)
    refilled: ColumnElement[float] = least(
        R.capacity, R.tokens + (counted - R.refilled_at) * R.rate
    )
    result = session.execute(
        update(R)
        .where(R.key.in_(keys))
        .values(tokens=refilled - 1.0, refilled_at=counted)
        .returning(R.key, R.tokens, R.rate)
    )
    # Below zero: the slot is that many tokens' refill away.
    return [(str(k), max(0.0, -float(t)) / float(r)) for k, t, r in result]


def windows_for(
    platform: str, per_second: float, per_minute: int, catch_up: float = 0.0
) -> list[Window]:
    """A platform's overall limits as budget windows. Sends are evenly spaced, never a
    burst: the bucket holds one token, plus what `catch_up` seconds refill, so a sender
    that woke a little late for its slot may make that up (as `Limits.catch_up` lets a
    lone sender). Any one-second span then holds at most 1 + rate × (1 + catch_up) sends:
    at Telegram's 26 a second and 0.015 s, 27.4, leaving room under its 30 for the
    jitter between a slot and the request reaching the server."""

    def window(key: str, rate: float) -> Window:
        return Window(f"{platform}:{key}", rate, 1.0 + rate * catch_up)

    found = [window("second", per_second)]
    if per_minute:
        found.append(window("minute", per_minute / 60.0))
    return found
