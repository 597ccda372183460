"""audit chain: events hash-chained in commit order, periods/results/score entries sealed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:30:00

The events that exist are chained in id order, then one `audit.seal` event per period
vouches for the period's row and its results, and further ones for its submitted tasks'
score entries (a thousand tasks each), so `jixiao audit verify` has a chain to check from
the first day. Hashes come from models.chain, the one definition the application uses.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import models.base
from models.chain import GENESIS, ROW_COLUMNS, event_hash, group_digest, row_hash

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TASKS_PER_EVENT = 1000


def upgrade() -> None:
    for table in ("periods", "results", "score_entries"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("seal", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pending", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(batch.f("uq_audit_events_seq"), ["seq"])
        batch.create_index(batch.f("ix_audit_events_pending"), ["pending"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    _chain(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index(batch.f("ix_audit_events_pending"))
        batch.drop_constraint(batch.f("uq_audit_events_seq"), type_="unique")
        for column in ("pending", "seal", "hash", "prev_hash", "seq"):
            batch.drop_column(column)
    for table in ("score_entries", "results", "periods"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("row_hash")


# The tables as this revision knows them (not the models of later revisions).
_when = models.base.AwareDateTime(timezone=True)
_dec = models.base.ExactDecimal()
_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("at", _when),
    sa.column("actor_id", sa.Integer),
    sa.column("actor_label", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("note", sa.Text),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
    sa.column("seal", sa.JSON),
)
_types = {
    "periods": {
        "group_id": sa.Integer,
        "institution_id": sa.Integer,
        "scope": sa.String,
        "label": sa.String,
        "kind": sa.String,
        "starts_on": sa.Date,
        "ends_on": sa.Date,
        "scheme_id": sa.Integer,
        "state": sa.String,
        "deadline": _when,
        "created_at": _when,
        "opened_at": _when,
        "closed_at": _when,
        "published_at": _when,
        "finalized_at": _when,
    },
    "results": {
        "period_id": sa.Integer,
        "employee_id": sa.Integer,
        "total": _dec,
        "grade": sa.String,
        "coefficient": _dec,
        "pay_base": _dec,
        "pay": _dec,
        "trace": sa.JSON,
        "computed_at": _when,
    },
    "score_entries": {
        "task_id": sa.Integer,
        "indicator_id": sa.Integer,
        "value": _dec,
        "comment": sa.Text,
        "entered_by": sa.Integer,
        "entered_at": _when,
    },
}
_tables = {
    name: sa.table(
        name,
        sa.column("id", sa.Integer),
        sa.column("row_hash", sa.String),
        *(sa.column(col, kind) for col, kind in columns.items()),
    )
    for name, columns in _types.items()
}
_tasks = sa.table(
    "scoring_tasks",
    sa.column("id", sa.Integer),
    sa.column("period_id", sa.Integer),
    sa.column("state", sa.String),
)


def _content(table: str) -> list[sa.ColumnElement]:
    t = _tables[table]
    return [
        sa.cast(t.c[c], sa.Text) if c == "trace" else t.c[c] for c in ROW_COLUMNS[table]
    ]


def _hash_all(conn: sa.Connection, table: str, where: sa.ColumnElement) -> list[tuple[int, str]]:
    """Hash these rows, store each hash, return (id, hash)."""
    t = _tables[table]
    found = [
        (row_id, row_hash(table, content))
        for row_id, *content in conn.execute(
            sa.select(t.c.id, *_content(table)).where(where).order_by(t.c.id)
        ).tuples()
    ]
    if found:
        conn.execute(
            sa.update(t).where(t.c.id == sa.bindparam("_id")).values(row_hash=sa.bindparam("_h")),
            [{"_id": i, "_h": h} for i, h in found],
        )
    return found


def _chain(conn: sa.Connection) -> None:
    seq, prev = 0, GENESIS

    def seal(fields: dict) -> None:
        nonlocal seq, prev
        seq += 1
        fields.update(seq=seq, prev=prev)
        prev = event_hash(fields)
        conn.execute(
            sa.update(_events)
            .where(_events.c.id == fields["id"])
            .values(seq=seq, prev_hash=fields["prev"], hash=prev, seal=fields["seal"])
        )

    columns = [_events.c[n] for n in ("id", "at", "actor_id", "actor_label", "action")]
    columns += [_events.c[n] for n in ("entity", "entity_id", "before", "after", "note")]
    for row in conn.execute(sa.select(*columns).order_by(_events.c.id)).mappings().all():
        seal({**row, "seal": None})

    now = dt.datetime.now(dt.UTC)
    periods, results, entries = _tables["periods"], _tables["results"], _tables["score_entries"]
    for (period_id,) in conn.execute(sa.select(periods.c.id).order_by(periods.c.id)).all():
        (period_hash,) = [h for _i, h in _hash_all(conn, "periods", periods.c.id == period_id)]
        members = _hash_all(conn, "results", results.c.period_id == period_id)
        _seal_event(
            conn,
            seal,
            now,
            period_id,
            {
                "rows": [["periods", period_id, None, period_hash]],
                "groups": [["results", period_id, group_digest(members), len(members)]],
            },
        )
        submitted = conn.execute(
            sa.select(_tasks.c.id)
            .where(_tasks.c.period_id == period_id, _tasks.c.state == "submitted")
            .order_by(_tasks.c.id)
        ).scalars().all()
        for start in range(0, len(submitted), _TASKS_PER_EVENT):
            chunk = submitted[start : start + _TASKS_PER_EVENT]
            by_task: dict[int, list[tuple[int, str]]] = {t: [] for t in chunk}
            hashed = _hash_all(conn, "score_entries", entries.c.task_id.in_(chunk))
            owner = dict(
                conn.execute(
                    sa.select(entries.c.id, entries.c.task_id).where(entries.c.task_id.in_(chunk))
                ).tuples().all()
            )
            for row_id, h in hashed:
                by_task[owner[row_id]].append((row_id, h))
            groups = [
                ["score_entries", t, group_digest(m), len(m)] for t, m in by_task.items()
            ]
            _seal_event(conn, seal, now, period_id, {"groups": groups})

    conn.execute(sa.text("DELETE FROM audit_head"))
    conn.execute(
        sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, :seq, :hash)"),
        {"seq": seq, "hash": prev},
    )


def _seal_event(conn: sa.Connection, seal, now: dt.datetime, period_id: int, what: dict) -> None:
    fields = {
        "at": now,
        "actor_id": None,
        "actor_label": "migration",
        "action": "audit.seal",
        "entity": "period",
        "entity_id": period_id,
        "before": None,
        "after": None,
        "note": "sealed when the audit chain was added",
    }
    new_id = conn.execute(sa.insert(_events).values(**fields).returning(_events.c.id)).scalar_one()
    seal({**fields, "id": new_id, "seal": what})
