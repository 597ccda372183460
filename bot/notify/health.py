"""What an operator watches across every process sharing one database: the outbox's
backlog and age, the scheduler leader and its lease, and how fast each platform's
senders are sending. Read at scrape time from the database, so any `serve` process
answers for the whole deployment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.notify.scheduler import LEASE, LEASE_SECONDS
from models import Lease, OutboxMessage, OutboxState

SENT_WINDOW = dt.timedelta(minutes=1)


@dataclass
class Operations:
    waiting: int = 0  # queued or claimed, not yet sent
    oldest_ready_seconds: float = 0.0  # how long the oldest message due has waited
    leader: str = ""  # who holds the scheduler lease ("" when no one does)
    lease_age_seconds: float = -1.0  # since the leader last renewed; -1 without a leader
    senders: dict[str, int] = field(default_factory=dict)  # alive senders per platform
    sent_last_minute: dict[str, int] = field(default_factory=dict)


def operations(
    session: Session, now: dt.datetime, lease_seconds: float = LEASE_SECONDS
) -> Operations:
    """`lease_seconds`: the deployment's SCHEDULER_LEASE_SECONDS, to tell from the
    lease's expiry when the leader last renewed it."""
    found = Operations()
    waiting = (OutboxState.QUEUED, OutboxState.CLAIMED)
    found.waiting = int(
        session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.state.in_(waiting)))
        or 0
    )
    oldest = session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.state.in_(waiting), OutboxMessage.next_attempt_at <= now
        )
    )
    if oldest is not None:
        found.oldest_ready_seconds = max(0.0, (now - _aware(oldest)).total_seconds())
    lease = session.get(Lease, LEASE)
    if lease is not None and _aware(lease.expires_at) >= now:
        found.leader = lease.holder
        renewed = _aware(lease.expires_at) - dt.timedelta(seconds=lease_seconds)
        found.lease_age_seconds = max(0.0, (now - renewed).total_seconds())
    for name in session.scalars(
        select(Lease.name).where(Lease.name.like("sender:%"), Lease.expires_at >= now)
    ):
        platform = name.split(":")[1]
        found.senders[platform] = found.senders.get(platform, 0) + 1
    for platform, sent in session.execute(
        select(OutboxMessage.platform, func.count(OutboxMessage.id))
        .where(OutboxMessage.sent_at >= now - SENT_WINDOW)
        .group_by(OutboxMessage.platform)
    ).tuples():
        found.sent_last_minute[platform] = int(sent)
    return found


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
