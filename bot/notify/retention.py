"""How long the outbox keeps a message once it is done with, and pruning what is older.

Every push is an outbox row (bot.notify.outbox), about 100,000 more a month at group
scale; a finished one (sent, failed, unknown) older than OUTBOX_RETENTION_DAYS is deleted
by the worker each night and by `jixiao outbox prune`, a batch per transaction.

What the rest of Jixiao reads from the outbox, and why pruning leaves it whole:

- Messages still to be delivered (queued, claimed, on the wire), which the senders, the
  web chat's inbox, /metrics' backlog and `jixiao undelivered` read: never pruned,
  however old.
- The last moments' sends, by `sent_at` (each chat's rate limit, /metrics' sends a
  minute): seconds old, never near the retention.
- Dedupe keys: a push queued again under the key of a pruned message would be sent
  again. Most keys name their day (digests, deadline reminders and escalations, appeal
  reminders, weekly reports, nudges) and guard only that day; event keys (results
  published, an appeal filed, decided or its tasks reopened) are queued by a transition
  that never happens twice. The one exception is `opened:<period>`: `jixiao period tasks`
  queues it again whenever the period is open for scoring, as it may be again after a
  reopen, so those messages are kept until their period is published. An announcement
  repeated word for word more than the retention later is sent again.
- `jixiao undelivered` lists failed and unknown messages: those older than the retention
  are no longer listed (whoever is unreachable stays so on their chat identity, and is).

Hence the rule in bot.infra.settings: the retention is at least
OUTBOX_RETENTION_MIN_DAYS (30) days, far beyond the day a key guards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.appraisal.audit import record
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.settings import OUTBOX_RETENTION_MIN_DAYS
from bot.notify import outbox
from models import Period, PeriodState

# Rows deleted per transaction: short enough that neither database holds its locks for
# long (SQLite has one writer at a time), large enough that a month's messages take a few
# dozen transactions.
BATCH = 5000
# Periods whose "opened" messages may be queued again (bot.notify.reminders):
# `jixiao period tasks` while scoring, and a closed period may be reopened.
NOT_PUBLISHED = (PeriodState.DRAFT, PeriodState.SCORING, PeriodState.SCORING_CLOSED)


@dataclass(frozen=True, slots=True)
class Pruned:
    cutoff: dt.datetime  # messages done with before this moment
    messages: int  # deleted, or that would be with dry_run
    dry_run: bool


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """The moment `days` before `now`; refused if that is shorter than the rule allows."""
    if days < OUTBOX_RETENTION_MIN_DAYS:
        raise Refused(
            _(
                "Sent messages are kept at least {min} days, not {days}: the outbox "
                "remembers what was sent each day so nobody gets it twice."
            ).format(min=OUTBOX_RETENTION_MIN_DAYS, days=days)
        )
    return now - dt.timedelta(days=days)


def kept_keys(session: Session) -> tuple[str, ...]:
    """Dedupe-key prefixes still guarding something beyond their day: each unpublished
    period's "opened" messages."""
    ids = session.scalars(select(Period.id).where(Period.state.in_(NOT_PUBLISHED)))
    return tuple(f"opened:{i}:" for i in ids)


def prune_outbox(
    sessions: sessionmaker[Session],
    now: dt.datetime,
    days: int,
    *,
    dry_run: bool = False,
    batch: int = BATCH,
    actor: str = "cli",
) -> Pruned:
    """Delete (with `dry_run`, count) the finished messages done with more than `days`
    days before `now`, `batch` rows a transaction. A run that deletes anything is audited
    ("outbox.prune", with how many and the cutoff), also when a later batch fails."""
    before = cutoff(now, days)
    with sessions() as s:
        keep = kept_keys(s)
    total, after = 0, 0
    try:
        while True:
            with sessions() as s, s.begin():
                n, last = outbox.prune(
                    s, before, after=after, limit=batch, keep=keep, dry_run=dry_run
                )
            total += n
            if last is None:
                break
            after = last
    finally:
        if total and not dry_run:
            with sessions() as s, s.begin():
                record(
                    s,
                    now,
                    "outbox.prune",
                    "outbox",
                    None,
                    actor_label=actor,
                    after={"messages": total, "cutoff": before.isoformat(), "days": days},
                )
    return Pruned(before, total, dry_run)
