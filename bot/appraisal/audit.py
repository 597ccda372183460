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
from functools import cache
from typing import Any

from sqlalchemy import Connection, Update, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import set_committed_value

from bot.appraisal.audit_rows import MODELS, hash_rows, seals_of, subjects
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


# session.info key of the sealed rows this transaction changed through the ORM.
_TOUCHED = "audit.touched"
_SEALED_MODELS = {model: table for table, model in MODELS.items()}


@event.listens_for(Session, "after_flush")
def _note_touched(session: Session, _flush: UOWTransaction) -> None:
    """Remember the periods, results and score entries this flush wrote (they have ids
    now), so the commit's seal covers them even if no event names them."""
    for obj in (*session.new, *session.dirty):
        table = _SEALED_MODELS.get(type(obj))
        if table is not None and (obj in session.new or session.is_modified(obj)):
            session.info.setdefault(_TOUCHED, set()).add((table, obj.id))


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    token = session.info.get(_TOKEN)
    if token is None or session.in_nested_transaction():
        return
    session.flush()
    seal(session, str(token))
    session.info.pop(_TOKEN, None)


@event.listens_for(Session, "after_transaction_create")
def _forget_touched(session: Session, transaction: Any) -> None:
    # Each outermost transaction starts afresh: rows written by one that recorded no
    # event stay unsealed, for verify to name.
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)


# Sealing runs at every commit that records an event (a submitted form among them), so its
# statements are built once: a statement object keeps its cache key, a fresh one computes
# it again at every execution (profiled as a good part of a submit's commit).
_PENDING = (
    select(*EVENT_COLUMNS).where(AuditEvent.pending == bindparam("p_token")).order_by(AuditEvent.id)
)
_SEAL = (
    update(AuditEvent)
    .where(AuditEvent.id == bindparam("_id"))
    .values(
        seq=bindparam("_seq"),
        prev_hash=bindparam("_prev"),
        hash=bindparam("_hash"),
        seal=bindparam("_seal"),
        pending=None,
    )
)
_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=bindparam("p_seq"), hash=bindparam("p_hash"))
)


def seal(session: Session, token: str) -> int:
    """Seal this transaction's events (those marked `token`); returns how many."""
    conn = session.connection()
    events = conn.execute(_PENDING, {"p_token": token}).all()
    touched: set[tuple[str, int]] = session.info.pop(_TOUCHED, set())
    if not events:
        return 0
    rows, groups = subjects(conn, ((e.entity, e.entity_id) for e in events))
    # Sealed rows this transaction changed through the ORM, whatever its events are
    # about (a calibration recorded on the period), are vouched for by its last event.
    extra = sorted(touched - rows)
    row_seals = _seal_rows(conn, rows | set(extra))
    members = _group_members(conn, groups)
    per_event = [seals_of(e.entity, e.entity_id) for e in events]
    # The last event of this transaction that seals each row alone: a group sealed
    # before it counts the row's hash from before (`was`), as verify reconstructs it.
    last_alone: dict[tuple[str, int], int] = {subject: len(events) - 1 for subject in extra}
    for index, (e, (row_tables, _groups)) in enumerate(zip(events, per_event, strict=True)):
        for table in row_tables:
            if e.entity_id is not None:
                last_alone[(table, e.entity_id)] = index
    # Last, so the head is held only while this transaction's own rows are written.
    seq, prev = _lock_head(conn)
    sealed: dict[int, dict[str, Any]] = {}
    for index, (e, (row_tables, group_tables)) in enumerate(zip(events, per_event, strict=True)):
        seq += 1
        found = [
            [t, e.entity_id, *row_seals[(t, e.entity_id)]]
            for t in row_tables
            if e.entity_id is not None
        ]
        if index == len(events) - 1:
            found += [[t, i, *row_seals[(t, i)]] for t, i in extra]
        digests = []
        for t in group_tables:
            if e.entity_id is None or (t, e.entity_id) not in members:
                continue
            hashes = []
            for row_id, now in members[(t, e.entity_id)]:
                was = row_seals.get((t, row_id), (None, None))[0]
                hashed = was if last_alone.get((t, row_id), -1) > index else now
                if hashed is not None:
                    hashes.append((row_id, hashed))
            digests.append([t, e.entity_id, group_digest(hashes), len(hashes)])
        what = {k: v for k, v in (("rows", found), ("groups", digests)) if v}
        fields = {"seq": seq, "prev": prev, **e._asdict(), "seal": what or None}
        prev = event_hash(fields)
        sealed[e.id] = {
            "_id": e.id,
            "_seq": seq,
            "_prev": fields["prev"],
            "_hash": prev,
            "_seal": fields["seal"],
        }
    conn.execute(_SEAL, list(sealed.values()))
    conn.execute(_MOVE_HEAD, {"p_seq": seq, "p_hash": prev})
    _refresh_loaded(session, sealed)
    return len(events)


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


def _group_members(
    conn: Connection, groups: set[tuple[str, int]]
) -> dict[tuple[str, int], list[tuple[int, str]]]:
    """Each group's rows as (id, hash). Stored row hashes are taken as they are (a row
    changed behind the chain's back keeps a hash that no longer matches it, for verify
    to find); rows without one yet (a draft's answers, new rows) are hashed now."""
    members: dict[tuple[str, int], list[tuple[int, str]]] = defaultdict(list)
    for table, key_name in (("results", "period_id"), ("score_entries", "task_id")):
        keys = sorted(k for t, k in groups if t == table)
        changed = []
        if table == "score_entries":
            # A submitted task's answers: a few rows, mostly not hashed yet (a draft's
            # answers never are), read with their content in one statement.
            for row_id, key, stored, now in hash_rows(conn, table, keys=keys):
                assert key is not None
                members[(table, key)].append((row_id, now if stored is None else stored))
                if stored is None:
                    changed.append({"_id": row_id, "_hash": now})
            _store_hashes(conn, table, changed)
            continue
        # A period's results: up to 100,000 rows, nearly all hashed already. Their stored
        # hashes as plain ids and text straight from the driver (row objects would cost
        # more than the read); the content only of the few without one.
        c = MODELS[table].__table__.c
        unhashed: list[int] = []
        for start in range(0, len(keys), 500):
            query = select(c.id, c[key_name], c.row_hash).where(
                c[key_name].in_(keys[start : start + 500])
            )
            for row_id, key, stored in stream(conn, query, 10_000):
                if stored is None:
                    unhashed.append(row_id)
                else:
                    members[(table, key)].append((row_id, stored))
        for row_id, key, _stored, now in hash_rows(conn, table, ids=unhashed):
            assert key is not None
            members[(table, key)].append((row_id, now))
            changed.append({"_id": row_id, "_hash": now})
        _store_hashes(conn, table, changed)
    return {g: members[g] for g in groups}


def _store_hashes(conn: Connection, table: str, changed: list[dict[str, Any]]) -> None:
    if changed:
        conn.execute(_hash_update(table), changed)


@cache
def _hash_update(table: str) -> Update:
    model = MODELS[table]
    c = model.__table__.c
    return update(model).where(c.id == bindparam("_id")).values(row_hash=bindparam("_hash"))


def _lock_head(conn: Connection) -> tuple[int, str]:
    """The chain's head, locked until commit (SELECT … FOR UPDATE on PostgreSQL; SQLite
    lets one writer at a time in, and this transaction has written already)."""
    head = conn.execute(_HEAD).first()
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
