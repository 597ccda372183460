"""The append-only, hash-chained audit log: every change to scores, results, periods and
bindings (docs/audit.md).

`record` adds an event to the caller's transaction, unsealed and marked with the
transaction's token. When the transaction commits, `seal` (a Session hook) hashes the
rows its events vouch for, then locks the chain's head row and gives each event the next
position, the previous event's hash, its seal and its own hash. Sealing at commit keeps
the head locked only for the few statements of the commit itself, and gives the chain
the order in which transactions committed, so two writers never fork it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from bot.audit_rows import MODELS, hash_rows, seals_of, subjects
from models import AuditEvent, AuditHead
from models.chain import GENESIS, event_hash, group_digest
from models.db import insert_many, stream

# session.info key of the token that marks this transaction's unsealed events.
_TOKEN = "audit.pending"
# The event columns that are hashed, as read back for sealing and verifying.
EVENT_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.actor_id,
    AuditEvent.actor_label,
    AuditEvent.action,
    AuditEvent.entity,
    AuditEvent.entity_id,
    AuditEvent.before,
    AuditEvent.after,
    AuditEvent.note,
)


def pending_token(session: Session) -> str:
    """The token of this session's unsealed events (one per transaction until sealed)."""
    token = session.info.get(_TOKEN)
    if token is None:
        token = session.info[_TOKEN] = secrets.token_hex(16)
    return str(token)


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
    """Add one audit event to the caller's transaction (it lands or vanishes with it);
    it is chained, and the rows it is about sealed, when the transaction commits."""
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
        pending=pending_token(session),
    )
    session.add(event)
    return event


# The columns `record_many` takes, in this order.
MANY_COLUMNS = (
    *("at", "actor_id", "actor_label", "action", "entity", "entity_id"),
    *("before", "after", "note"),
)


def record_many(session: Session, rows: Iterable[Sequence[Any]]) -> None:
    """Add many events at once through the driver (MANY_COLUMNS order), for bulk writers;
    they are sealed at commit exactly as `record`'s are."""
    token = pending_token(session)
    insert_many(
        session.connection(),
        AuditEvent,
        (*MANY_COLUMNS, "pending"),
        ((*row, token) for row in rows),
    )


@event.listens_for(Session, "before_flush")
def _mark_added(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    """An event added to the session directly, not through `record`, is sealed too."""
    for obj in session.new:
        if isinstance(obj, AuditEvent) and obj.pending is None and obj.seq is None:
            obj.pending = pending_token(session)


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    token = session.info.get(_TOKEN)
    if token is None or session.in_nested_transaction():
        return
    session.flush()
    seal(session, str(token))
    session.info.pop(_TOKEN, None)


def seal(session: Session, token: str) -> int:
    """Seal this transaction's events (those marked `token`); returns how many."""
    conn = session.connection()
    events = conn.execute(
        select(*EVENT_COLUMNS).where(AuditEvent.pending == token).order_by(AuditEvent.id)
    ).all()
    if not events:
        return 0
    rows, groups = subjects(conn, ((e.entity, e.entity_id) for e in events))
    row_seals = _seal_rows(conn, rows)
    group_seals = _seal_groups(conn, groups)
    # Last, so the head is held only while this transaction's own rows are written.
    seq, prev = _lock_head(conn)
    sealed: dict[int, dict[str, Any]] = {}
    for e in events:
        seq += 1
        fields = {
            "seq": seq,
            "prev": prev,
            **e._asdict(),
            "seal": event_seal(e.entity, e.entity_id, row_seals, group_seals),
        }
        prev = event_hash(fields)
        sealed[e.id] = {"_id": e.id, "_seq": seq, "_prev": fields["prev"], "_hash": prev}
        sealed[e.id]["_seal"] = fields["seal"]
    conn.execute(
        update(AuditEvent)
        .where(AuditEvent.id == bindparam("_id"))
        .values(
            seq=bindparam("_seq"),
            prev_hash=bindparam("_prev"),
            hash=bindparam("_hash"),
            seal=bindparam("_seal"),
            pending=None,
        ),
        list(sealed.values()),
    )
    conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    _refresh_loaded(session, sealed)
    return len(events)


def event_seal(
    entity: str,
    entity_id: int | None,
    row_seals: dict[tuple[str, int], tuple[str | None, str | None]],
    group_seals: dict[tuple[str, int], tuple[str, int]],
) -> dict[str, Any] | None:
    """What one event vouches for: {"rows": [[table, id, was, now]], "groups": [[table,
    key, digest, count]]}, either list left out when empty; None for no sealed row."""
    row_tables, group_tables = seals_of(entity, entity_id)
    out: dict[str, Any] = {}
    found = [
        [t, entity_id, *row_seals[(t, entity_id)]]
        for t in row_tables
        if entity_id is not None and (t, entity_id) in row_seals
    ]
    if found:
        out["rows"] = found
    digests = [
        [t, entity_id, *group_seals[(t, entity_id)]]
        for t in group_tables
        if entity_id is not None and (t, entity_id) in group_seals
    ]
    if digests:
        out["groups"] = digests
    return out or None


def _seal_rows(
    conn: Connection, rows: set[tuple[str, int]]
) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    """Each row's hash before (`was`, as stored) and now (of its content), storing the new
    one; a row that no longer exists seals as (None, None)."""
    out: dict[tuple[str, int], tuple[str | None, str | None]] = {
        subject: (None, None) for subject in rows
    }
    for table in MODELS:
        ids = sorted(i for t, i in rows if t == table)
        changed = []
        for row_id, _key, stored, now in hash_rows(conn, table, ids=ids):
            out[(table, row_id)] = (stored, now)
            if stored != now:
                changed.append({"_id": row_id, "_hash": now})
        _store_hashes(conn, table, changed)
    return out


def _seal_groups(
    conn: Connection, groups: set[tuple[str, int]]
) -> dict[tuple[str, int], tuple[str, int]]:
    """Each group's digest and row count. Stored row hashes are taken as they are (a row
    changed behind the chain's back keeps a hash that no longer matches it, for verify
    to find); rows without one yet (a draft's answers, new rows) are hashed now."""
    members: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for table, key_name in (("results", "period_id"), ("score_entries", "task_id")):
        keys = sorted(k for t, k in groups if t == table)
        c = MODELS[table].__table__.c
        unhashed: list[int] = []
        for start in range(0, len(keys), 500):
            query = select(c.id, c[key_name], c.row_hash).where(
                c[key_name].in_(keys[start : start + 500])
            )
            # Plain ids and text, straight from the driver: at 100,000 results the row
            # objects would cost more than the read.
            for row_id, key, stored in stream(conn, query, 10_000):
                if stored is None:
                    unhashed.append(row_id)
                else:
                    members[(table, key)].append((row_id, stored))
        changed = []
        for row_id, key, _stored, now in hash_rows(conn, table, ids=unhashed):
            assert key is not None
            members[(table, key)].append((row_id, now))
            changed.append({"_id": row_id, "_hash": now})
        _store_hashes(conn, table, changed)
    return {g: (group_digest(members[g]), len(members[g])) for g in groups}


def _store_hashes(conn: Connection, table: str, changed: list[dict[str, Any]]) -> None:
    if changed:
        model = MODELS[table]
        c = model.__table__.c
        conn.execute(
            update(model).where(c.id == bindparam("_id")).values(row_hash=bindparam("_hash")),
            changed,
        )


def _lock_head(conn: Connection) -> tuple[int, str]:
    """The chain's head, locked until commit (SELECT … FOR UPDATE on PostgreSQL; SQLite
    lets one writer at a time in, and this transaction has written already)."""
    head = conn.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).first()
    if head is None:
        # Only a database built without the migration (models.Base.metadata.create_all).
        conn.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(head[0]), str(head[1])


def _refresh_loaded(session: Session, sealed: dict[int, dict[str, Any]]) -> None:
    """Events this session holds show their seal without being read again."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, AuditEvent) and obj.id in sealed:
            done = sealed[obj.id]
            for attr, key in (("seq", "_seq"), ("prev_hash", "_prev"), ("hash", "_hash")):
                set_committed_value(obj, attr, done[key])
            set_committed_value(obj, "seal", done["_seal"])
            set_committed_value(obj, "pending", None)
