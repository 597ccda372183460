"""Queueing pushes and claiming them for sending, safely across crashes and processes.

A row moves queued → claimed → sending → sent (or failed / unknown). Claiming is one
guarded statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL so several senders can run
side by side, a single `UPDATE ... RETURNING` on SQLite, whose writes are serialised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Table, and_, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.base import EncodedJSON
from models.db import chunks, copy_many, flushed
from models.outbox import OutboxMessage, OutboxState
from models.schedule import Lease

Q = OutboxState


def enqueue(
    session: Session,
    now: dt.datetime,
    *,
    platform: str,
    chat_id: str,
    content: dict[str, Any],
    dedupe_key: str,
    employee_id: int | None = None,
    is_group: bool = False,
) -> bool:
    """Queue one push in the caller's transaction; False if that dedupe key was queued
    before (pressing "remind" twice, or a job that ran twice, sends once)."""
    values = {
        "platform": platform,
        "chat_id": chat_id,
        "is_group": is_group,
        "employee_id": employee_id,
        "dedupe_key": dedupe_key,
        "content": content,
        "state": Q.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "last_error": "",
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core, not the ORM: an ORM insert reports a row even when the conflict skipped it.
    table = OutboxMessage.__table__
    assert isinstance(table, Table)
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )
    return session.execute(stmt).first() is not None


class Push(NamedTuple):
    """One message for `enqueue_many` (a tuple: 100,000 of them are made at once)."""

    platform: str
    chat_id: str
    content: dict[str, Any] | EncodedJSON  # EncodedJSON: already encoded, stored as it is
    dedupe_key: str
    employee_id: int | None = None
    is_group: bool = False


# The columns `enqueue_many` writes, in the table's order (insert_many checks it): first
# what each push brings, then what every queued message starts with.
_OWN = ("platform", "chat_id", "is_group", "employee_id", "dedupe_key", "content")
_FRESH = ("state", "attempts", "parts_sent", "next_attempt_at", "last_error", "created_at")
_PUSH_COLUMNS = (*_OWN, *_FRESH)


def enqueue_many(session: Session, now: dt.datetime, pushes: Iterable[Push]) -> int:
    """`enqueue` for many pushes through the driver (COPY on PostgreSQL) (opening a period for
    100,000 scorers queued one compiled INSERT each: minutes). Returns how many were
    queued; a dedupe key queued before is skipped, as by `enqueue`."""
    fresh = (Q.QUEUED, 0, 0, now, "", now)
    rows = [
        (p.platform, p.chat_id, p.is_group, p.employee_id, p.dedupe_key, p.content, *fresh)
        for p in pushes
    ]
    connection = flushed(session)
    return sum(
        copy_many(
            connection,
            OutboxMessage,
            _PUSH_COLUMNS,
            rows[at : at + 5000],
            unless_taken=("dedupe_key",),
        )
        for at in range(0, len(rows), 5000)
    )


def queued_before(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are in the outbox already: a job that runs every
    quarter of an hour checks this before building (and drawing) what it would queue."""
    found: set[str] = set()
    for chunk in chunks(set(keys)):
        found.update(
            session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
        )
    return found


# A claim's lease is short and renewed by its live owner (`renew`), so the claims of a
# sender that died are taken over by any other within seconds, not minutes.
LEASE = dt.timedelta(seconds=45)
PENDING = (Q.QUEUED, Q.CLAIMED, Q.SENDING)


def claim(
    session: Session,
    worker: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta = LEASE,
    spacing: int = 30,
    platform: str | None = None,
) -> list[int]:
    """Lease up to `limit` ready messages (of one `platform`, if given) to `worker`;
    returns their ids, in the order to send them.

    Within one chat, messages go in the order they were queued, whatever the number of
    senders: a message is taken only if every earlier message of its chat is done (sent,
    failed, unknown), already this sender's, or taken in the same claim. So a chat with
    a message claimed by another sender, or waiting for a retry, gives nothing until that
    one is done, and a claim never holds a chat's second message without its first.

    A chat's first waiting message is ranked by position (chats with most waiting go
    first); its k-th message `spacing` × (k-1) positions after its first, about where the
    one-per-second chat limit lets it go anyway. So sixty messages to one chat are spread
    through a broadcast instead of trickling out alone at its end.

    Claims whose lease ran out (their sender died) are recovered first, so any running
    sender takes them over.
    """
    recover(session, now)
    M = OutboxMessage
    mine: ColumnElement[bool] = M.state.in_(PENDING)
    if platform is not None:
        mine = and_(mine, M.platform == platform)
    ready = and_(M.state == Q.QUEUED, M.next_attempt_at <= now)
    ours = and_(M.state.in_((Q.CLAIMED, Q.SENDING)), M.claimed_by == worker)
    chat = (M.platform, M.chat_id)
    pending = (
        select(
            M.id,
            (M.platform + ":" + M.chat_id).label("chat_id"),
            case((ready, 1), else_=0).label("ready"),
            # How many messages up to this one (in queue order) cannot go now: this
            # sender's own claims do not count, it sends them in order before these.
            func.sum(case((ready, 0), (ours, 0), else_=1))
            .over(partition_by=chat, order_by=M.id, rows=(None, 0))
            .label("blocked"),
        )
        .where(mine)
        .subquery()
    )
    # Window functions run after WHERE: turns count the takeable messages only.
    free = select(
        pending.c.id,
        pending.c.chat_id,
        func.row_number().over(partition_by=pending.c.chat_id, order_by=pending.c.id).label("turn"),
        func.count().over(partition_by=pending.c.chat_id).label("waiting"),
    ).where(pending.c.blocked == 0, pending.c.ready == 1)
    takeable = free.subquery()
    first = takeable.c.turn == 1
    placed = select(
        takeable.c.id,
        takeable.c.chat_id,
        takeable.c.turn,
        case(
            (
                first,
                func.row_number().over(
                    partition_by=first, order_by=(takeable.c.waiting.desc(), takeable.c.id)
                ),
            ),
        ).label("position"),
    ).subquery()
    keyed = select(
        placed.c.id,
        placed.c.chat_id,
        placed.c.turn,
        (
            func.max(placed.c.position).over(partition_by=placed.c.chat_id)
            + (placed.c.turn - 1) * spacing
        ).label("key"),
    ).subquery()
    fair = (
        select(keyed.c.id, keyed.c.chat_id)
        .order_by(keyed.c.key, keyed.c.turn, keyed.c.id)
        .limit(limit)
    )
    ranked = [(int(i), str(c)) for i, c in session.execute(fair)]
    ids = [i for i, _ in ranked]
    if not ids:
        return []
    taken = update(M).values(state=Q.CLAIMED, claimed_by=worker, lease_until=now + lease)
    if session.get_bind().dialect.name == "postgresql":
        # Lock first, then update by id: PostgreSQL forbids FOR UPDATE beside a window
        # function, and inside `IN (subquery)` it may run a SKIP LOCKED subquery more than
        # once and claim far more than `limit`.
        locked = set(
            session.scalars(
                select(M.id)
                .where(M.id.in_(ids), M.state == Q.QUEUED)
                .with_for_update(skip_locked=True)
            )
        )
        keep = _in_order(ranked, locked)
        if keep:
            session.execute(taken.where(M.id.in_(keep)))
        return keep
    # SQLite serialises writers (the recovery above took the write lock), so nobody can
    # take these between the ranking and this guarded update.
    claimed = set(
        session.execute(taken.where(M.id.in_(ids), M.state == Q.QUEUED).returning(M.id)).scalars()
    )
    keep = _in_order(ranked, claimed)
    if extra := claimed - set(keep):
        release(session, worker, extra)
    return keep


def _in_order(ranked: list[tuple[int, str]], got: set[int]) -> list[int]:
    """The ranked ids we got, cut in each chat at the first one we did not get (another
    sender took it meanwhile): what follows it must wait for it."""
    stopped: set[str] = set()
    keep = []
    for mid, chat in ranked:
        if chat in stopped:
            continue
        if mid in got:
            keep.append(mid)
        else:
            stopped.add(chat)
    return keep


def renew(session: Session, worker: str, now: dt.datetime, lease: dt.timedelta = LEASE) -> int:
    """The live owner's heartbeat: its claims stay its own for another `lease`."""
    return int(
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.claimed_by == worker, OutboxMessage.state == Q.CLAIMED)
            .values(lease_until=now + lease)
        ).rowcount  # type: ignore[attr-defined]
    )


def release(session: Session, worker: str, ids: Iterable[int]) -> None:
    """Give claimed messages back to the queue untouched (another sender may take them)."""
    wanted = list(ids)
    if wanted:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(wanted),
                OutboxMessage.claimed_by == worker,
                OutboxMessage.state == Q.CLAIMED,
            )
            .values(state=Q.QUEUED, claimed_by=None, lease_until=None)
        )


def start_sending(
    session: Session, worker: str, message_id: int, now: dt.datetime, timeout: dt.timedelta
) -> bool:
    """Mark one claimed message as on the wire until `now + timeout`; False if it is no
    longer ours."""
    done = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.state == Q.CLAIMED,
            OutboxMessage.claimed_by == worker,
        )
        .values(state=Q.SENDING, lease_until=now + timeout)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def part_sent(
    session: Session,
    worker: str,
    message_id: int,
    parts_sent: int,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
) -> bool:
    """One part of a message is delivered, more are to come: record how many, so the
    rest resume after them, and keep the message claimed. False if it is not ours."""
    done = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.state == Q.SENDING,
            OutboxMessage.claimed_by == worker,
        )
        .values(state=Q.CLAIMED, parts_sent=parts_sent, lease_until=now + lease)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def finish(
    session: Session,
    message_id: int,
    state: OutboxState,
    now: dt.datetime,
    *,
    error: str = "",
    retry_at: dt.datetime | None = None,
    attempt: bool = True,
    parts_sent: int | None = None,
    worker: str | None = None,
) -> None:
    """Record how a send ended: sent, failed, unknown, or queued again for `retry_at`.
    `attempt` is False for a 429, which is a wait, not a failed try. With `worker`, only
    if the message is still that sender's (one taken over meanwhile is left alone)."""
    values: dict[str, Any] = {"state": state, "last_error": error, "claimed_by": None}
    if attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    if parts_sent is not None:
        values["parts_sent"] = parts_sent
    if state == Q.SENT:
        values["sent_at"] = now
    if state == Q.QUEUED:
        values["next_attempt_at"] = retry_at or now
        values["lease_until"] = None
    stmt = update(OutboxMessage).where(OutboxMessage.id == message_id)
    if worker is not None:
        stmt = stmt.where(OutboxMessage.claimed_by == worker)
    session.execute(stmt.values(**values))


def recover(session: Session, now: dt.datetime) -> tuple[int, int]:
    """Claims whose sender stopped renewing them: expired leases go back to the queue; a
    message that was on the wire when its sender died is marked unknown, never resent
    blindly (it keeps its sender's name, so a sender that was only slow can still record
    how its send ended). Returns both counts."""
    requeued = session.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.state == Q.CLAIMED, OutboxMessage.lease_until < now))
        .values(state=Q.QUEUED, claimed_by=None, lease_until=None)
    ).rowcount  # type: ignore[attr-defined]
    unknown = session.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.state == Q.SENDING, OutboxMessage.lease_until < now))
        .values(state=Q.UNKNOWN, last_error="sender stopped while sending")
    ).rowcount  # type: ignore[attr-defined]
    return int(requeued), int(unknown)


def recent_sends(
    session: Session, platform: str, chats: Iterable[str], since: dt.datetime
) -> list[tuple[str, dt.datetime]]:
    """When each of these chats was last sent to (since `since`), by any sender: a sender
    that takes a chat over keeps the chat's own limit from there. (Read by the indexed
    `sent_at`, so only the last moments' sends are looked at.)"""
    wanted = list(set(chats))
    if not wanted:
        return []
    M = OutboxMessage
    return [
        (str(c), at)
        for c, at in session.execute(
            select(M.chat_id, M.sent_at).where(
                M.sent_at >= since, M.platform == platform, M.chat_id.in_(wanted)
            )
        ).tuples()
        if at is not None
    ]


def senders_alive(
    session: Session, platform: str, worker: str, now: dt.datetime, ttl: dt.timedelta = LEASE
) -> int:
    """Say this sender is alive for `ttl` more; how many senders of `platform` are (for
    /metrics; the overall limit they share is kept by bot.notify.send_budget)."""
    name = f"sender:{platform}:{worker}"[:64]
    row = session.get(Lease, name)
    if row is None:
        session.add(Lease(name=name, holder=worker, expires_at=now + ttl))
    else:
        row.expires_at = now + ttl
    session.flush()
    session.execute(
        delete(Lease).where(Lease.name.like(f"sender:{platform}:%"), Lease.expires_at < now)
    )
    alive = session.scalar(
        select(func.count())
        .select_from(Lease)
        .where(Lease.name.like(f"sender:{platform}:%"), Lease.expires_at >= now)
    )
    return max(1, int(alive or 0))


def sender_stopped(session: Session, platform: str, worker: str) -> None:
    """A sender that stops is no longer counted as running."""
    session.execute(delete(Lease).where(Lease.name == f"sender:{platform}:{worker}"[:64]))


# Finished: nothing sends these again. Everything else (queued, claimed, on the wire) is
# still to be delivered and is never pruned, however old.
FINISHED = (Q.SENT, Q.FAILED, Q.UNKNOWN)


def prune(
    session: Session,
    cutoff: dt.datetime,
    *,
    after: int = 0,
    limit: int = 5000,
    keep: tuple[str, ...] = (),
    dry_run: bool = False,
) -> tuple[int, int | None]:
    """Delete one batch of finished messages (sent, failed, unknown) queued, last tried
    and sent before `cutoff`: of the first `limit` of them by id after `after`, all but
    those whose dedupe key starts with one of `keep`. Returns how many went (with
    `dry_run`: would go) and the last id looked at, where the next batch starts (None:
    nothing older is left). One batch per transaction, so no lock is held for long;
    bot.notify.retention decides the cutoff and what to keep."""
    M = OutboxMessage
    old = and_(
        M.state.in_(FINISHED),
        M.created_at < cutoff,
        M.next_attempt_at < cutoff,
        func.coalesce(M.sent_at, M.created_at) < cutoff,
    )
    rows = session.execute(
        select(M.id, M.dedupe_key).where(old, M.id > after).order_by(M.id).limit(limit)
    ).all()
    if not rows:
        return 0, None
    ids = [int(i) for i, key in rows if not str(key).startswith(keep)]
    if dry_run or not ids:
        return len(ids), int(rows[-1][0])
    # The same guard again: a row goes only if it is still finished and old.
    gone = session.execute(delete(M).where(M.id.in_(ids), old)).rowcount  # type: ignore[attr-defined]
    return int(gone), int(rows[-1][0])
