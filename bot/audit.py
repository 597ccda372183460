"""The append-only audit log: every change to scores, results, periods and bindings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent


def record(
    session: Session,
    now: dt.datetime,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> AuditEvent:
    """Add one audit event to the caller's transaction (it lands or vanishes with it)."""
    event = AuditEvent(
        at=now,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        note=note,
    )
    session.add(event)
    return event
