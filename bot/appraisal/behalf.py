"""Scores HR enters on a scorer's behalf (`jixiao import scores`).

Such a task is stored exactly as if the scorer had confirmed it in chat; what tells it
apart is its audit event, which the importer writes and the chat reads back to tell the
scorer who entered their scores and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent

# The audit action of a task submitted (or replaced) by HR for its scorer.
ACTION = "task.submit_by_hr"
ENTITY = "scoring_task"
_CHUNK = 5000


def actor_label(source: str) -> str:
    """Who the audit log names as the actor: the import and its file."""
    return f"hr-import:{source}"[:64]


def entered_at(session: Session, task_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """When HR last entered each of these tasks, for those HR ever entered."""
    ids = list(task_ids)
    found: dict[int, dt.datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(AuditEvent.entity_id, func.max(AuditEvent.at))
            .where(
                AuditEvent.action == ACTION,
                AuditEvent.entity == ENTITY,
                AuditEvent.entity_id.in_(ids[start : start + _CHUNK]),
            )
            .group_by(AuditEvent.entity_id)
        ).tuples()
        for task_id, at in rows:
            if task_id is not None and at is not None:
                # max() bypasses the column type: SQLite returns text, without the zone.
                found[task_id] = _aware(at)
    return found


def _aware(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
