"""The outbox: queued once, sent once, within limits, and nothing lost across a crash."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.notify import outbox
from bot.notify.delivery import SENT, Delivery, Limits, RateLimiter, Sender
from bot.notify.send_budget import DatabaseBudget
from models import OutboxMessage, OutboxState

NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


class FakeClock:
    """Virtual time: sleeping advances it instantly, so limits are exercised exactly."""

    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> dt.datetime:
        return NOW + dt.timedelta(seconds=self.t)


class Recorder:
    """A transport that records each send with its virtual time; scripted failures."""

    def __init__(self, clock: FakeClock, script: dict[str, list[Delivery]] | None = None):
        self.clock = clock
        self.sent: list[tuple[float, str, str]] = []
        self.script = script or {}

    def parts(self, content):
        return [content]

    async def send(self, chat_id, content):
        await asyncio.sleep(0)
        plan = self.script.get(chat_id)
        if plan:
            return plan.pop(0)
        self.sent.append((self.clock.t, chat_id, content["text"]))
        return SENT


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()

    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        clock.t += seconds
        await real_sleep(0)  # still let other tasks run, as a real sleep would

    monkeypatch.setattr("bot.notify.delivery.asyncio.sleep", fake_sleep)
    return clock


def _queue(Session, n, chat=lambda i: f"chat{i}", group=False, prefix="m", platform="telegram"):
    with Session() as s, s.begin():
        for i in range(n):
            outbox.enqueue(
                s,
                NOW,
                platform=platform,
                chat_id=chat(i),
                content={"text": f"{prefix}{i}"},
                dedupe_key=f"{prefix}:{i}",
                is_group=group,
            )


def _sender(Session, transport, clock, **kw):
    # The shared send budget counts on the same fake clock as the sender.
    kw.setdefault("budget", DatabaseBudget(Session, clock=clock.monotonic))
    return Sender(Session, transport, "telegram", clock=clock.wall, monotonic=clock.monotonic, **kw)


def test_the_same_push_is_queued_once(Session):
    with Session() as s, s.begin():
        first = outbox.enqueue(
            s, NOW, platform="telegram", chat_id="1", content={"text": "hi"}, dedupe_key="k"
        )
        again = outbox.enqueue(
            s, NOW, platform="telegram", chat_id="1", content={"text": "hi"}, dedupe_key="k"
        )
    assert (first, again) == (True, False)
    with Session() as s:
        assert s.scalar(select(func.count(OutboxMessage.id))) == 1


def test_many_pushes_are_queued_in_order_and_a_key_queued_before_is_skipped(Session):
    def push(n):
        return outbox.Push("telegram", f"{n}", {"text": f"第{n}条"}, f"bulk:{n}", None)

    with Session() as s, s.begin():
        assert outbox.enqueue_many(s, NOW, [push(1), push(2), push(3)]) == 3
    with Session() as s, s.begin():
        # 2 and 3 were queued before: only 4 and 5 are new, and only they are counted.
        assert outbox.enqueue_many(s, NOW, [push(2), push(4), push(3), push(5)]) == 2
        assert outbox.enqueue_many(s, NOW, []) == 0
    with Session() as s, s.begin():
        # One chat's messages keep the order they were given in (ids follow it).
        many = [outbox.Push("telegram", "9", {"text": f"{n}"}, f"chat9:{n}") for n in range(300)]
        assert outbox.enqueue_many(s, NOW, many) == 300
    with Session() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.dedupe_key for r in rows[5:]] == [f"chat9:{n}" for n in range(300)]
    rows = rows[:5]
    assert [r.dedupe_key for r in rows] == [f"bulk:{n}" for n in (1, 2, 3, 4, 5)]
    assert rows[0].content == {"text": "第1条"}
    assert {(r.state, r.attempts, r.parts_sent) for r in rows} == {(OutboxState.QUEUED, 0, 0)}


def test_it_sends_everything_once_and_never_faster_than_the_limits(Session, clock):
    _queue(Session, 90)
    _queue(Session, 12, chat=lambda i: "busy", prefix="b")
    transport = Recorder(clock)
    stats = asyncio.run(_sender(Session, transport, clock).drain())
    assert stats.sent == 102
    assert Counter(text for _, _, text in transport.sent).most_common(1)[0][1] == 1
    times = [t for t, _, _ in transport.sent]
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0, "more than 30 sends in one second"
    busy = [t for t, chat, _ in transport.sent if chat == "busy"]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(busy))
    assert [text for _, chat, text in transport.sent if chat == "busy"] == [
        f"b{i}" for i in range(12)
    ], "one chat's messages keep their order"
    with Session() as s:
        assert set(s.scalars(select(OutboxMessage.state))) == {OutboxState.SENT}


def test_a_group_chat_gets_at_most_twenty_a_minute(Session, clock):
    _queue(Session, 25, chat=lambda i: "-100group", group=True)
    transport = Recorder(clock)
    asyncio.run(_sender(Session, transport, clock).drain())
    times = [t for t, _, _ in transport.sent]
    assert len(times) == 25
    for i in range(len(times) - 20):
        assert times[i + 20] - times[i] >= 60.0


def test_a_429_is_honoured_with_its_retry_after(Session, clock):
    _queue(Session, 1, chat=lambda i: "slow")
    transport = Recorder(clock, {"slow": [Delivery("retry_after", retry_after=7)]})
    sender = _sender(Session, transport, clock)
    asyncio.run(sender.drain())
    assert transport.sent == []
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.state == OutboxState.QUEUED
        assert row.next_attempt_at == NOW + dt.timedelta(seconds=7)
    clock.t = 8
    asyncio.run(sender.drain())
    assert [chat for _, chat, _ in transport.sent] == ["slow"]


def test_a_blocked_user_is_not_retried_and_is_left_for_hr(Session, clock):
    _queue(Session, 2)
    transport = Recorder(clock, {"chat0": [Delivery("permanent", error="bot was blocked")]})
    stats = asyncio.run(_sender(Session, transport, clock).drain())
    assert (stats.sent, stats.failed) == (1, 1)
    with Session() as s:
        failed = s.scalars(
            select(OutboxMessage).where(OutboxMessage.state == OutboxState.FAILED)
        ).one()
        assert failed.chat_id == "chat0"
        assert "blocked" in failed.last_error


def test_transient_errors_back_off_then_give_up(Session, clock):
    _queue(Session, 1, chat=lambda i: "flaky")
    transport = Recorder(clock, {"flaky": [Delivery("transient", error="502")] * 20})
    sender = _sender(Session, transport, clock, limits=Limits(max_attempts=3))
    for _ in range(3):
        asyncio.run(sender.drain())
        clock.t += 400
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.state == OutboxState.FAILED
    assert row.attempts == 3


def test_a_crash_mid_broadcast_loses_nothing_and_repeats_nothing(Session, clock):
    _queue(Session, 200)
    transport = Recorder(clock)

    class Crash(Exception):
        pass

    crashing = Recorder(clock)
    original = crashing.send

    async def send_then_die(chat_id, content):
        if len(crashing.sent) == 77:
            raise Crash  # the process dies with this message on the wire
        return await original(chat_id, content)

    crashing.send = send_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        asyncio.run(_sender(Session, crashing, clock).drain())

    # A new process, later: leases expired, the in-flight one is unknown, not resent.
    clock.t += 3600
    with Session() as s, s.begin():
        requeued, unknown = outbox.recover(s, clock.wall())
    assert unknown == 1
    assert requeued > 0
    asyncio.run(_sender(Session, transport, clock).drain())
    texts = [t for _, _, t in crashing.sent] + [t for _, _, t in transport.sent]
    assert len(texts) == len(set(texts)) == 199
    with Session() as s:
        states = Counter(s.scalars(select(OutboxMessage.state)))
    assert states == {OutboxState.SENT: 199, OutboxState.UNKNOWN: 1}


def test_a_claim_takes_no_more_than_asked(Session):
    _queue(Session, 30)
    with Session() as s, s.begin():
        first = outbox.claim(s, "a", NOW, 10, dt.timedelta(minutes=1))
    with Session() as s, s.begin():
        second = outbox.claim(s, "b", NOW, 10, dt.timedelta(minutes=1))
    assert len(first) == len(second) == 10
    assert not set(first) & set(second)


def test_each_platforms_sender_claims_only_its_own_messages(Session):
    """A Telegram broadcast does not keep the Slack sender busy claiming and giving back."""
    _queue(Session, 30)
    _queue(Session, 3, prefix="s", platform="slack")
    with Session() as s, s.begin():
        slack = outbox.claim(s, "s", NOW, 10, dt.timedelta(minutes=1), platform="slack")
        platforms = set(
            s.scalars(select(OutboxMessage.platform).where(OutboxMessage.id.in_(slack)))
        )
    assert len(slack) == 3
    assert platforms == {"slack"}


def test_a_busy_chat_is_spread_through_a_broadcast_in_order(Session):
    _queue(Session, 100)
    _queue(Session, 5, chat=lambda i: "busy", prefix="b")
    with Session() as s, s.begin():
        order = outbox.claim(s, "a", NOW, 200, dt.timedelta(minutes=1), spacing=30)
        messages = {m.id: m for m in s.scalars(select(OutboxMessage))}
    busy = [
        (n, messages[mid].content["text"])
        for n, mid in enumerate(order)
        if messages[mid].chat_id == "busy"
    ]
    assert [text for _, text in busy] == ["b0", "b1", "b2", "b3", "b4"]
    # Each 30 places after the chat's first; key ties go to other chats' first messages.
    assert [n for n, _ in busy] == [0, 31, 62, 93, 104]
    assert len(order) == 105


def test_two_senders_side_by_side_never_send_the_same_message(Session, clock):
    _queue(Session, 120)
    a, b = Recorder(clock), Recorder(clock)

    async def both():
        await asyncio.gather(
            _sender(Session, a, clock, batch=10).drain(),
            _sender(Session, b, clock, batch=10).drain(),
        )

    asyncio.run(both())
    texts = [t for _, _, t in a.sent] + [t for _, _, t in b.sent]
    assert sorted(texts) == sorted(f"m{i}" for i in range(120))
    assert a.sent
    assert b.sent


def test_the_limiter_spaces_sends_evenly():
    limiter = RateLimiter(Limits(per_second=10))
    limiter.note("a", False, 0.0)
    assert limiter.overall_wait(0.0) == pytest.approx(0.1)
    assert limiter.chat_wait("a", False, 0.5) == pytest.approx(0.55)
    assert limiter.chat_wait("b", False, 0.5) == 0


def test_a_429_is_a_wait_not_a_failed_attempt(Session, clock):
    """Twelve 429s in a row with at most three attempts: the message still goes, once."""
    _queue(Session, 1, chat=lambda i: "busy")
    transport = Recorder(clock, {"busy": [Delivery("retry_after", retry_after=1)] * 12})
    sender = _sender(Session, transport, clock, limits=Limits(max_attempts=3))
    for _ in range(13):
        asyncio.run(sender.drain())
        clock.t += 2
    assert [text for _, _, text in transport.sent] == ["m0"]
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.state, row.attempts) == (OutboxState.SENT, 1)


def test_a_chats_later_message_waits_while_an_earlier_one_is_retried(Session, clock):
    _queue(Session, 3, chat=lambda i: "c")
    transport = Recorder(clock, {"c": [Delivery("transient", error="502")]})
    sender = _sender(Session, transport, clock)
    for _ in range(5):
        asyncio.run(sender.drain())
        clock.t += 10
    assert [text for _, _, text in transport.sent] == ["m0", "m1", "m2"]


def test_a_claim_takes_a_chats_messages_in_order_and_only_from_its_first(Session):
    """Four messages to each of 50 chats, claimed 60 at a time by two senders: every
    claim holds a chat's first k waiting messages or none of them, never a chat another
    sender holds, and the second sender gets the rest once the first is done."""
    for k in range(4):
        _queue(Session, 50, chat=lambda i: f"chat{i}", prefix=f"r{k}-")
    with Session() as s, s.begin():
        a = outbox.claim(s, "a", NOW, 60, platform="telegram")
        b = outbox.claim(s, "b", NOW, 60, platform="telegram")
        rows = {m.id: m for m in s.scalars(select(OutboxMessage))}
    assert len(a) == 60
    for ids in (a, b):
        by_chat: dict[str, list[str]] = {}
        for mid in ids:
            by_chat.setdefault(rows[mid].chat_id, []).append(rows[mid].content["text"])
        for chat, texts in by_chat.items():
            n = chat.removeprefix("chat")
            assert texts == [f"r{k}-{n}" for k in range(len(texts))], (chat, texts)
    assert not {rows[i].chat_id for i in a} & {rows[i].chat_id for i in b}
    with Session() as s, s.begin():
        for mid in a:
            outbox.finish(s, mid, OutboxState.SENT, NOW)
        c = outbox.claim(s, "b", NOW, 1000, platform="telegram")
    assert len(a) + len(b) + len(c) == 200


def test_claims_whose_sender_died_are_taken_over_and_live_ones_are_renewed(Session):
    _queue(Session, 4)
    with Session() as s, s.begin():
        dead = outbox.claim(s, "dead", NOW, 2, dt.timedelta(seconds=45))
        alive = outbox.claim(s, "alive", NOW, 2, dt.timedelta(seconds=45))
        assert outbox.start_sending(s, "dead", dead[0], NOW, dt.timedelta(seconds=20))
    later = NOW + dt.timedelta(seconds=40)
    with Session() as s, s.begin():
        assert outbox.renew(s, "alive", later, dt.timedelta(seconds=45)) == 2
    with Session() as s, s.begin():
        taken = outbox.claim(s, "other", later + dt.timedelta(seconds=10), 10)
        states = {m.id: m.state for m in s.scalars(select(OutboxMessage))}
    assert taken == [dead[1]]  # the one not on the wire; the live sender's stay its own
    assert states[dead[0]] == OutboxState.UNKNOWN  # on the wire when it died: not resent
    assert {states[i] for i in alive} == {OutboxState.CLAIMED}
