"""The sender: drains the outbox through a platform transport within its rate limits.

Platforms cut a message into the parts they send one by one (a long text as several
messages, a chart as one more) and classify their own failures (`Delivery`); what to do
about them is decided here. Each part is a send of its own within the limits, and how
many parts were delivered is stored, so nothing is sent twice and a retry resumes after
them. A 429 waits `retry_after` and is not a failed attempt; a transient error backs
off; a permanent one stops and is left for HR (a blocked user is marked unreachable); a
timeout is an unknown outcome and is not repeated.
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

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.notify import outbox
from bot.notify.reach import sign_handed_out
from bot.notify.send_budget import DatabaseBudget, SendBudget, windows_for
from models.identity import ChatIdentity
from models.outbox import OutboxMessage, OutboxState


@dataclass(frozen=True)
class Delivery:
    """How one send ended, as the platform saw it."""

    outcome: str  # "sent", "retry_after", "transient", "permanent", "unknown"
    retry_after: float = 0.0
    error: str = ""
    # Permanent because the person cannot be reached there at all (blocked the bot,
    # left the workspace): nothing more is queued to that chat.
    unreachable: bool = False


SENT = Delivery("sent")

# A sender says it is alive every second; one silent this long (killed, or stuck in a
# long send) no longer counts as running (/metrics: jixiao_senders_alive).
ALIVE = dt.timedelta(seconds=5)


class Transport(Protocol):
    def parts(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        """The sends one outbox message takes on this platform, in order."""
        ...

    async def send(self, chat_id: str, part: dict[str, Any]) -> Delivery: ...


@dataclass
class Limits:
    """A platform's published limits, with a little margin so clock skew between us and
    the server never turns into a 429. The defaults are Telegram's; each platform states
    its own (bot.platforms)."""

    # 26, not 29: the budget spaces the slots exactly, but under load the requests reach
    # the server with jitter; at 29 a 50 ms delay of one request let 31 land in one of
    # the server's seconds (a 429 in the failover test on a busy machine).
    per_second: float = 26.0
    per_chat_interval: float = 1.05
    catch_up: float = 0.015
    group_per_minute: int = 19
    # An overall cap per minute besides the one per second (Feishu: 1,000 a minute and
    # 50 a second for sending messages); 0: none.
    per_minute: int = 0
    max_attempts: int = 8
    backoff: tuple[float, ...] = (2, 5, 15, 60, 300)


@dataclass
class RateLimiter:
    """Answers "how long until this chat may receive another message?", and paces this
    sender's own sends evenly within the overall limit. Senders side by side keep the
    overall limit together through the shared budget (bot.notify.send_budget)."""

    limits: Limits
    _next_any: float = 0.0
    _next_chat: dict[str, float] = field(default_factory=dict)
    _group_sends: dict[str, deque[float]] = field(default_factory=dict)
    _minute: deque[float] = field(default_factory=deque)  # this sender's last minute

    def overall_wait(self, now: float) -> float:
        wait = self._next_any - now
        if self.limits.per_minute:
            while self._minute and self._minute[0] <= now - 60.0:
                self._minute.popleft()
            if len(self._minute) >= self.limits.per_minute:
                wait = max(wait, self._minute[0] + 60.0 - now)
        return max(0.0, wait)

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
        # loop overhead does not eat the rate; 26/s × (1 s + 0.015 s) leaves room for jitter.
        interval = 1.0 / self.limits.per_second
        self._next_any = max(self._next_any, at - self.limits.catch_up) + interval
        self._next_chat[chat_id] = at + self.limits.per_chat_interval
        if self.limits.per_minute:
            self._minute.append(at)
        if is_group:
            sends = self._group_sends.setdefault(chat_id, deque())
            sends.append(at)
            while sends and sends[0] <= at - 60.0:
                sends.popleft()

    def seen(self, chat_id: str, is_group: bool, sends: list[float]) -> None:
        """Sends to this chat by other senders (monotonic seconds, from the outbox): a
        chat claimed after another sender served it keeps its limit from there."""
        if not sends:
            return
        ready = max(sends) + self.limits.per_chat_interval
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), ready)
        if is_group:
            mine = self._group_sends.get(chat_id, deque())
            if len(sends) > len(mine):  # the outbox knows of more than this sender did
                self._group_sends[chat_id] = deque(sorted(sends))

    def hold(self, chat_id: str, until: float) -> None:
        """A 429 for one chat: nothing more to it before `until`."""
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)


# (claim order, id, chat, is group, content, attempts, parts sent)
Item = tuple[int, int, str, bool, dict[str, Any], int, int]


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
        send_timeout: float = 20.0,
        lease: float = outbox.LEASE.total_seconds(),
        on_unreachable: Callable[[Session, str, str], None] | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.platform = platform
        self.limits = limits or Limits()
        self.limiter = RateLimiter(self.limits)
        # The platform's overall limit, shared with every other sender of it.
        self.budget = budget or DatabaseBudget(sessions)
        self.windows = windows_for(
            platform, self.limits.per_second, self.limits.per_minute, self.limits.catch_up
        )
        self.alive = 1  # senders of this platform running, this one included
        self.clock = clock
        self.monotonic = monotonic
        self.batch = batch
        self.send_timeout = send_timeout
        # Claims are renewed four times a lease; keep `lease` above `send_timeout` plus
        # that, so even the longest send cannot let a live sender's claims lapse.
        self.lease = dt.timedelta(seconds=lease)
        self.renew_every = min(10.0, lease / 4)
        self.on_unreachable = on_unreachable or mark_unreachable
        self.worker = f"{platform}-{uuid.uuid4().hex[:10]}"
        self.stats = Stats()
        self._seq = 0  # claim order, the tie-breaker after readiness
        self._renewed = self._counted = monotonic()
        self._claimed_at = float("-inf")
        self._fresh: deque[Item] = deque()  # in claim order
        self._held: list[tuple[float, int, Item]] = []  # (ready at, claim order, item)
        self._waiting: dict[str, int] = {}  # held messages per chat

    def _claim(self) -> int:
        now = self.clock()
        self._claimed_at = self.monotonic()
        with self.sessions() as s, s.begin():
            ids = outbox.claim(s, self.worker, now, self.batch, self.lease, platform=self.platform)
            self.alive = outbox.senders_alive(s, self.platform, self.worker, now, ALIVE)
            rows = (
                s.query(
                    OutboxMessage.id,
                    OutboxMessage.chat_id,
                    OutboxMessage.is_group,
                    OutboxMessage.content,
                    OutboxMessage.attempts,
                    OutboxMessage.parts_sent,
                )
                .filter(OutboxMessage.id.in_(ids))
                .all()
                if ids
                else []
            )
            # Buttons queued unsigned are signed now, for the chat they go to.
            handed = sign_handed_out(s, self.platform, [(r[1], r[3]) for r in rows], now)
            rows = [(r[0], r[1], r[2], c, r[4], r[5]) for r, c in zip(rows, handed, strict=True)]
            # A chat's messages are claimed by one sender at a time, but the chat's last
            # message may have gone from another sender a moment ago.
            chats = {r[1]: r[2] for r in rows}
            # A group's limit is per minute, a person's per second or so.
            back = 60.0 if any(chats.values()) else self.limits.per_chat_interval + 1.0
            since = now - dt.timedelta(seconds=back)
            recent = outbox.recent_sends(s, self.platform, chats, since)
        if recent:
            # Wall-clock times from the outbox, on this sender's monotonic clock.
            mono, wall = self.monotonic(), self.clock()
            by_chat: dict[str, list[float]] = {}
            for chat, at in recent:
                at = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
                by_chat.setdefault(chat, []).append(mono - (wall - at).total_seconds())
            for chat, sends in by_chat.items():
                self.limiter.seen(chat, chats[chat], sends)
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
        self._renew()  # counts this sender in (/metrics)
        try:
            return await self._drain(stop_when_empty, idle)
        finally:
            with self.sessions() as s, s.begin():
                outbox.sender_stopped(s, self.platform, self.worker)

    async def _drain(self, stop_when_empty: bool, idle: float) -> Stats:
        while True:
            held = len(self._fresh) + len(self._held)
            # Claiming ranks every waiting message: not more than once a second unless
            # there is nothing left to send.
            if held < self.batch // 2 and (
                not held or self.monotonic() - self._claimed_at >= min(idle, 1.0)
            ):
                self._claim()
            if not self._fresh and not self._held:
                if stop_when_empty:
                    return self.stats
                await asyncio.sleep(idle)
                continue
            now = self.monotonic()
            if now - self._renewed >= self.renew_every:
                self._renew()
            elif now - self._counted >= 1.0:
                self._count()
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
                await asyncio.sleep(min(self._held[0][0] - now, self.renew_every))
                continue
            ready = self.limiter.chat_ready(item[2], item[3])
            if ready > now or overtaking:
                # Equal ready times fall back to claim order, so a chat's later message
                # never overtakes an earlier one already held.
                self._hold(item, max(ready, now), seq)
                continue
            await self._send_one(item)

    def _hold(self, item: Item, ready: float, seq: int) -> None:
        self._waiting[item[2]] = self._waiting.get(item[2], 0) + 1
        heapq.heappush(self._held, (ready, seq, item))

    def _renew(self) -> None:
        self._renewed = self.monotonic()
        with self.sessions() as s, s.begin():
            outbox.renew(s, self.worker, self.clock(), self.lease)
        self._count()

    def _count(self) -> None:
        """Say this sender is alive, and count those that are (every second)."""
        self._counted = self.monotonic()
        with self.sessions() as s, s.begin():
            self.alive = outbox.senders_alive(s, self.platform, self.worker, self.clock(), ALIVE)

    async def _send_one(self, item: Item) -> None:
        seq, mid, chat, group, content, attempts, done = item
        parts = self.transport.parts(content)
        with self.sessions() as s, s.begin():
            ok = outbox.start_sending(
                s, self.worker, mid, self.clock(), dt.timedelta(seconds=self.send_timeout)
            )
        if not ok:
            return  # taken over by another sender meanwhile
        # A slot within the platform's overall limit, shared with every other sender;
        # taken right before the send, so what lies between the slot and the platform
        # receiving it (and could bunch two senders' sends) is the wake-up and the
        # request alone. A sender killed while it waits leaves one message "unknown",
        # as one killed on the wire does: never more than one.
        if done < len(parts) and (wait := self.budget.take(self.windows)) > 0:
            await asyncio.sleep(wait)
        self.limiter.note(chat, group, self.monotonic())
        if done >= len(parts):  # every part went before a crash; nothing left to send
            delivery = SENT
        else:
            try:
                delivery = await asyncio.wait_for(
                    self.transport.send(chat, parts[done]), timeout=self.send_timeout
                )
            except TimeoutError:
                delivery = Delivery("unknown", error="timed out")
            if delivery.outcome == "sent":
                done += 1
        if delivery.outcome == "sent" and done < len(parts):
            # More parts to come: each is a send of its own within the chat's limit, and
            # this message stays ahead of the chat's later ones.
            with self.sessions() as s, s.begin():
                ok = outbox.part_sent(s, self.worker, mid, done, self.clock(), self.lease)
            if ok:
                ready = self.limiter.chat_ready(chat, group)
                self._hold((seq, mid, chat, group, content, attempts, done), ready, seq)
            return
        self._record(mid, chat, delivery, attempts, done)

    def _record(self, mid: int, chat: str, delivery: Delivery, attempts: int, done: int) -> None:
        now = self.clock()
        state, retry_at = OutboxState.SENT, None
        waited = delivery.outcome == "retry_after"  # a wait, not a failed attempt
        if not waited:
            attempts += 1
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
            if waited:
                delay = delivery.retry_after
                self.limiter.hold(chat, self.monotonic() + delay)
            else:
                steps = self.limits.backoff
                delay = steps[min(attempts - 1, len(steps) - 1)]
            retry_at = now + dt.timedelta(seconds=delay)
        later = self._drop_chat(chat) if state == OutboxState.QUEUED else []
        with self.sessions() as s, s.begin():
            outbox.finish(
                s,
                mid,
                state,
                now,
                error=delivery.error,
                retry_at=retry_at,
                attempt=not waited,
                parts_sent=done,
                worker=self.worker,
            )
            # This chat's later messages wait for this one: back to the queue, where no
            # sender takes them before it.
            outbox.release(s, self.worker, later)
            if delivery.unreachable:
                self.on_unreachable(s, self.platform, chat)

    def _drop_chat(self, chat: str) -> list[int]:
        """Forget this chat's other claimed messages; their ids."""
        dropped = [item[1] for item in self._fresh if item[2] == chat]
        dropped += [item[1] for _, _, item in self._held if item[2] == chat]
        if dropped:
            self._fresh = deque(item for item in self._fresh if item[2] != chat)
            self._held = [entry for entry in self._held if entry[2][2] != chat]
            heapq.heapify(self._held)
            self._waiting.pop(chat, None)
        return dropped


def mark_unreachable(
    session: Session, platform: str, chat_id: str, unreachable: bool = True
) -> None:
    """The person blocked the bot (or left), on any platform: pushes stop queueing to that
    chat until they bind or talk to the bot again; `jixiao undelivered` lists them. With
    `unreachable=False`, the platform says they are back."""
    session.execute(
        update(ChatIdentity)
        .where(ChatIdentity.platform == platform, ChatIdentity.external_id == chat_id)
        .values(unreachable=unreachable)
    )
