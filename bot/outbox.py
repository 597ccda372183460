"""Queueing pushes and claiming them for sending, safely across crashes and processes.

A row moves queued → claimed → sending → sent (or failed / unknown). Claiming is one
guarded statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL so several senders can run
side by side, a single `UPDATE ... RETURNING` on SQLite, whose writes are serialised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.outbox import OutboxMessage, OutboxState

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


def queued_before(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these dedupe keys are in the outbox already: a job that runs every
    quarter of an hour checks this before building (and drawing) what it would queue."""
    wanted = list(set(keys))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(wanted))
        )
    )


def claim(
    session: Session,
    worker: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
    spacing: int = 30,
    platform: str | None = None,
) -> list[int]:
    """Lease up to `limit` ready messages (of one `platform`, if given) to `worker`;
    returns their ids, in the order to send them.

    A chat's first waiting message is ranked by position (chats with most waiting go
    first); its k-th message is placed `spacing` × (k-1) positions in, about where the
    one-per-second chat limit lets it go anyway. So sixty messages to one chat are spread
    through a broadcast instead of trickling out alone at its end, and each chat's
    messages keep their order.
    """
    ready = and_(OutboxMessage.state == Q.QUEUED, OutboxMessage.next_attempt_at <= now)
    if platform is not None:
        ready = and_(ready, OutboxMessage.platform == platform)
    turns = (
        select(
            OutboxMessage.id,
            func.row_number()
            .over(
                partition_by=OutboxMessage.chat_id,
                order_by=(OutboxMessage.next_attempt_at, OutboxMessage.id),
            )
            .label("turn"),
            func.count().over(partition_by=OutboxMessage.chat_id).label("waiting"),
        )
        .where(ready)
        .subquery()
    )
    first = turns.c.turn == 1
    keyed = select(
        turns.c.id,
        turns.c.turn,
        case(
            (
                first,
                func.row_number().over(
                    partition_by=first, order_by=(turns.c.waiting.desc(), turns.c.id)
                ),
            ),
            else_=(turns.c.turn - 1) * spacing,
        ).label("key"),
    ).subquery()
    fair = select(keyed.c.id).order_by(keyed.c.key, keyed.c.turn, keyed.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Lock first, then update by id: PostgreSQL forbids FOR UPDATE beside a window
        # function, and inside `IN (subquery)` it may run a SKIP LOCKED subquery more than
        # once and claim far more than `limit`.
        ranked = list(session.scalars(fair))
        locked = set(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.id.in_(ranked), OutboxMessage.state == Q.QUEUED)
                .with_for_update(skip_locked=True)
            )
        )
        ids = [i for i in ranked if i in locked]
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(state=Q.CLAIMED, claimed_by=worker, lease_until=now + lease)
            )
        return ids
    # SQLite serialises writers, so the ranking and the guarded update cannot interleave
    # with another sender's.
    ranked = list(session.scalars(fair))
    claimed = set(
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ranked), OutboxMessage.state == Q.QUEUED)
            .values(state=Q.CLAIMED, claimed_by=worker, lease_until=now + lease)
            .returning(OutboxMessage.id)
        ).scalars()
    )
    return [i for i in ranked if i in claimed]


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
        .values(state=Q.SENDING, attempts=OutboxMessage.attempts + 1, lease_until=now + timeout)
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
) -> None:
    """Record how a send ended: sent, failed, unknown, or queued again for `retry_at`."""
    values: dict[str, Any] = {"state": state, "last_error": error, "claimed_by": None}
    if state == Q.SENT:
        values["sent_at"] = now
    if state == Q.QUEUED:
        values["next_attempt_at"] = retry_at or now
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def recover(session: Session, now: dt.datetime) -> tuple[int, int]:
    """After a crash: expired leases go back to the queue; a message that was on the wire
    when its sender died is marked unknown, never resent blindly. Returns both counts."""
    requeued = session.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.state == Q.CLAIMED, OutboxMessage.lease_until < now))
        .values(state=Q.QUEUED, claimed_by=None, lease_until=None)
    ).rowcount  # type: ignore[attr-defined]
    unknown = session.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.state == Q.SENDING, OutboxMessage.lease_until < now))
        .values(state=Q.UNKNOWN, claimed_by=None, last_error="sender stopped while sending")
    ).rowcount  # type: ignore[attr-defined]
    return int(requeued), int(unknown)
