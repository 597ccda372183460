"""The sender: drains the outbox through a platform transport within its rate limits.

Platforms only classify their own failures (`Delivery`); what to do about them is
decided here: a 429 waits `retry_after`, a transient error backs off, a permanent one
stops and is left for HR, a timeout is an unknown outcome and is not repeated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from models.outbox import OutboxMessage, OutboxState


@dataclass(frozen=True)
class Delivery:
    """How one send ended, as the platform saw it."""

    outcome: str  # "sent", "retry_after", "transient", "permanent", "unknown"
    retry_after: float = 0.0
    error: str = ""


SENT = Delivery("sent")


class Transport(Protocol):
    async def send(self, chat_id: str, content: dict[str, Any]) -> Delivery: ...


@dataclass
class Limits:
    """Telegram's published limits, with a little margin so clock skew between us and the
    server never turns into a 429."""

    per_second: float = 29.0
    per_chat_interval: float = 1.05
    catch_up: float = 0.015
    group_per_minute: int = 19
    max_attempts: int = 8
    backoff: tuple[float, ...] = (2, 5, 15, 60, 300)


@dataclass
class RateLimiter:
    """Answers "how long until this chat may receive another message?"."""

    limits: Limits
    _next_any: float = 0.0
    _next_chat: dict[str, float] = field(default_factory=dict)
    _group_sends: dict[str, deque[float]] = field(default_factory=dict)

    def overall_wait(self, now: float) -> float:
        return max(0.0, self._next_any - now)

    def chat_ready(self, chat_id: str, is_group: bool) -> float:
        """When this chat may next receive a message (monotonic seconds)."""
        ready = self._next_chat.get(chat_id, 0.0)
        sends = self._group_sends.get(chat_id)
        if is_group and sends and len(sends) >= self.limits.group_per_minute:
            ready = max(ready, sends[0] + 60.0)
        return ready

    def chat_wait(self, chat_id: str, is_group: bool, now: float) -> float:
        return max(0.0, self.chat_ready(chat_id, is_group) - now)

    def note(self, chat_id: str, is_group: bool, at: float) -> None:
        # Evenly spaced sends, not bursts: a burst of 30 lands in one server-side second.
        # A send that started a little late may be made up for (up to `catch_up` s), so
        # loop overhead does not eat the rate; 29/s × (1 s + 0.015 s) leaves room for jitter.
        interval = 1.0 / self.limits.per_second
        self._next_any = max(self._next_any, at - self.limits.catch_up) + interval
        self._next_chat[chat_id] = at + self.limits.per_chat_interval
        if is_group:
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(at)
            while sends and sends[0] <= at - 60.0:
                sends.popleft()

    def hold(self, chat_id: str, until: float) -> None:
        """A 429 for one chat: nothing more to it before `until`."""
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)


Item = tuple[int, int, str, bool, dict[str, Any], int]


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0


class Sender:
    """One worker draining the outbox for one platform."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        transport: Transport,
        platform: str,
        *,
        limits: Limits | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
        batch: int = 200,
        send_timeout: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.platform = platform
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.limits)
        self.clock = clock
        self.monotonic = monotonic
        self.batch = batch
        self.send_timeout = send_timeout
        self.worker = f"{platform}-{uuid.uuid4().hex[:10]}"
        self.stats = Stats()
        self._seq = 0  # claim order, the tie-breaker after readiness
        # (claim order, id, chat, is group, content, attempts), in claim order
        self._fresh: deque[Item] = deque()
        self._held: list[tuple[float, int, Item]] = []  # (ready at, claim order, item)
        self._waiting: dict[str, int] = {}  # held messages per chat

    def _claim(self) -> int:
        now = self.clock()
        with self.sessions() as s, s.begin():
            ids = outbox.claim(
                s,
                self.worker,
                now,
                self.batch,
                dt.timedelta(minutes=10),
                platform=self.platform,
            )
            rows = (
                s.query(
                    OutboxMessage.id,
                    OutboxMessage.chat_id,
                    OutboxMessage.is_group,
                    OutboxMessage.content,
                    OutboxMessage.attempts,
                )
                .filter(OutboxMessage.id.in_(ids))
                .all()
                if ids
                else []
            )
        by_id = {r[0]: r for r in rows}
        for mid in ids:  # in the fair order the claim ranked them
            if (row := by_id.get(mid)) is not None:
                self._seq += 1
                self._fresh.append((self._seq, *row))
        return len(rows)

    async def drain(self, stop_when_empty: bool = True, idle: float = 1.0) -> Stats:
        """Send until the outbox has nothing ready (or forever, polling every `idle` s).

        Messages go in claim order, except that one whose chat must wait (one per second
        per chat, twenty a minute per group) is held aside and goes as soon as its chat
        may receive again, ahead of fresh ones; a chat's messages never overtake each
        other.
        """
        while True:
            if len(self._fresh) + len(self._held) < self.batch // 2:
                self._claim()
            if not self._fresh and not self._held:
                if stop_when_empty:
                    return self.stats
                await asyncio.sleep(idle)
                continue
            now = self.monotonic()
            if (pause := self.limiter.overall_wait(now)) > 0:
                await asyncio.sleep(pause)
                continue
            if self._held and self._held[0][0] <= now:
                _, seq, item = heapq.heappop(self._held)
                self._waiting[item[2]] -= 1
                overtaking = False  # the earliest held message of its chat
            elif self._fresh:
                item = self._fresh.popleft()
                seq = item[0]
                overtaking = bool(self._waiting.get(item[2]))
            else:
                await asyncio.sleep(self._held[0][0] - now)
                continue
            _, mid, chat, group, content, attempts = item
            ready = self.limiter.chat_ready(chat, group)
            if ready > now or overtaking:
                # Equal ready times fall back to claim order, so a chat's later message
                # never overtakes an earlier one already held.
                self._waiting[chat] = self._waiting.get(chat, 0) + 1
                heapq.heappush(self._held, (max(ready, now), seq, item))
                continue
            await self._send_one(mid, chat, group, content, attempts)

    async def _send_one(
        self, mid: int, chat: str, group: bool, content: dict[str, Any], attempts: int
    ) -> None:
        with self.sessions() as s, s.begin():
            ok = outbox.start_sending(
                s, self.worker, mid, self.clock(), dt.timedelta(seconds=self.send_timeout)
            )
        if not ok:
            return
        self.limiter.note(chat, group, self.monotonic())
        try:
            delivery = await asyncio.wait_for(
                self.transport.send(chat, content), timeout=self.send_timeout
            )
        except TimeoutError:
            delivery = Delivery("unknown", error="timed out")
        self._record(mid, chat, delivery, attempts + 1)

    def _record(self, mid: int, chat: str, delivery: Delivery, attempts: int) -> None:
        now = self.clock()
        state, retry_at = OutboxState.SENT, None
        if delivery.outcome == "sent":
            self.stats.sent += 1
        elif delivery.outcome == "unknown":
            state = OutboxState.UNKNOWN
            self.stats.unknown += 1
        elif delivery.outcome == "permanent" or attempts >= self.limits.max_attempts:
            state = OutboxState.FAILED
            self.stats.failed += 1
        else:
            state = OutboxState.QUEUED
            self.stats.retried += 1
            if delivery.outcome == "retry_after":
                delay = delivery.retry_after
                self.limiter.hold(chat, self.monotonic() + delay)
            else:
                steps = self.limits.backoff
                delay = steps[min(attempts - 1, len(steps) - 1)]
            retry_at = now + dt.timedelta(seconds=delay)
        with self.sessions() as s, s.begin():
            outbox.finish(s, mid, state, now, error=delivery.error, retry_at=retry_at)
