"""Queueing pushes and claiming them for sending, safely across crashes and processes.

A row moves queued → claimed → sending → sent (or failed / unknown). Claiming is one
guarded statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL so several senders can run
side by side, a single `UPDATE ... RETURNING` on SQLite, whose writes are serialised.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, and_, select, update
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


def claim(
    session: Session, worker: str, now: dt.datetime, limit: int, lease: dt.timedelta
) -> list[int]:
    """Lease up to `limit` ready messages to `worker`; returns their ids, oldest first."""
    ready = (
        select(OutboxMessage.id)
        .where(OutboxMessage.state == Q.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first, then update them by id: inside `IN (subquery)` PostgreSQL
        # may run a SKIP LOCKED subquery more than once and claim far more than `limit`.
        picked = session.scalars(ready.with_for_update(skip_locked=True)).all()
        ids = list(picked)
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(state=Q.CLAIMED, claimed_by=worker, lease_until=now + lease)
            )
        return sorted(ids)
    # SQLite serialises writers, so one guarded statement is atomic.
    ids = list(
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ready.scalar_subquery()), OutboxMessage.state == Q.QUEUED)
            .values(state=Q.CLAIMED, claimed_by=worker, lease_until=now + lease)
            .returning(OutboxMessage.id)
        )
        .scalars()
        .all()
    )
    return sorted(ids)


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


def release(session: Session, worker: str, ids: list[int]) -> None:
    """Give back claimed messages this worker will not send now (it is stopping)."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.state == Q.CLAIMED,
            OutboxMessage.claimed_by == worker,
        )
        .values(state=Q.QUEUED, claimed_by=None, lease_until=None)
    )


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
