"""`jixiao audit verify`: walk the audit chain, then check every sealed row against it.

The chain: each event's hash is recomputed from its content and the hash before it
(models.chain); the first event that does not fit is named, with what most likely
happened to it (altered, deleted before it, inserted), and the head row must name the
last event. The rows: each period, result and score entry must hash to the hash stored
with it, and that hash must be the one the latest event about it recorded; rows sealed as
a group (a period's results, a task's answers) must give the digest that event recorded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, aliased

from bot.appraisal.audit import EVENT_COLUMNS
from bot.appraisal.audit_rows import GROUP_KEY, MODELS, content_columns
from bot.infra.i18n import _, ngettext
from models import (
    AuditEvent,
    AuditHead,
    Employee,
    Indicator,
    Period,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from models.chain import GENESIS, event_hash, group_digest, row_hash

_BATCH = 5000


@dataclass
class Verdict:
    events: int = 0
    head: str = GENESIS
    # The first break in the chain (one line), then every row that does not match it.
    chain: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.chain and not self.rows


def when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class _Seals:
    """What the chain vouches for, gathered on the walk (in chain order)."""

    rows: dict[tuple[str, int], list[tuple[int, str | None, str | None, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    groups: dict[tuple[str, int], tuple[int, str, int, int]] = field(default_factory=dict)


def events(conn: Connection, *, chained: bool = True) -> Iterator[Any]:
    """Every sealed event in chain order (or every unsealed one in id order), as the
    hash reads them, streamed."""
    columns = (*EVENT_COLUMNS, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
    query = select(*columns, AuditEvent.seal)
    if chained:
        query = query.where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    else:
        query = query.where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
    # Streamed by the statement's own option: Connection.execution_options() would leave
    # the whole connection streaming, and a later write in its transaction would fail.
    yield from conn.execute(query.execution_options(yield_per=_BATCH))


def verify(session: Session) -> Verdict:
    conn = session.connection()
    verdict = Verdict()
    seals = _walk(conn, verdict)
    _check_rows(conn, seals, verdict)
    return verdict


def _walk(conn: Connection, verdict: Verdict) -> _Seals:
    seals = _Seals()
    expected, prev = 1, GENESIS
    last: Any = None
    try:
        for e in events(conn):
            verdict.events += 1
            prev, expected = _link(e, seals, verdict, prev, expected)
            last = e
    except (ValueError, TypeError, LookupError, AttributeError) as exc:
        # A value no column type can read (a date that is not one): name where.
        verdict.chain.append(
            _("Altered: the event after id {id} cannot be read ({error}).").format(
                id=last.id if last is not None else "—", error=exc
            )
        )
        return seals
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    head_seq, head_hash = (head[0], head[1]) if head else (0, GENESIS)
    verdict.head = prev
    if not verdict.chain and (head_seq, head_hash) != (expected - 1, prev):
        if head_seq > expected - 1:
            n = head_seq - (expected - 1)
            verdict.chain.append(
                ngettext(
                    "Deleted: {n} event at the end of the chain is missing (the head names "
                    "event {seq}; the last one left is id {id} at {at}).",
                    "Deleted: {n} events at the end of the chain are missing (the head names "
                    "event {seq}; the last one left is id {id} at {at}).",
                    n,
                ).format(
                    n=n,
                    seq=head_seq,
                    id=last.id if last else "—",
                    at=when(last.at) if last else "—",
                )
            )
        else:
            verdict.chain.append(
                _(
                    "Inserted: event id {id} at {at} comes after the chain's head (event "
                    "{seq}) and was not sealed by the application."
                ).format(id=last.id, at=when(last.at), seq=head_seq)
            )
    for e in events(conn, chained=False):
        verdict.events += 1
        if not verdict.chain:
            verdict.chain.append(
                _(
                    "Inserted: event id {id} at {at} has no place in the chain (never sealed)."
                ).format(id=e.id, at=when(e.at))
            )
    return seals


def _link(e: Any, seals: _Seals, verdict: Verdict, prev: str, expected: int) -> tuple[str, int]:
    """Check one event against the one before it and gather its seal; returns this
    event's hash and the position expected next."""
    # By position: a million events make every attribute lookup count.
    event_id, at, actor_id, label, action, entity, entity_id, before, after, note = e[:10]
    seq, prev_hash, hashed, seal = e[10:]
    if not verdict.chain:
        fields = {
            "seq": seq,
            "prev": prev_hash,
            "id": event_id,
            "at": at,
            "actor_id": actor_id,
            "actor_label": label,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "note": note,
            "seal": seal,
        }
        problem = _break(e, expected, prev, event_hash(fields))
        if problem:
            verdict.chain.append(problem)
    if isinstance(seal, dict):
        try:
            for table, row_id, was, now in seal.get("rows", ()):
                seals.rows[(table, row_id)].append((seq, was, now, event_id))
            for table, key, digest, count in seal.get("groups", ()):
                seals.groups[(table, key)] = (seq, digest, event_id, count)
        except (TypeError, ValueError):
            pass  # a seal rewritten out of shape: its hash no longer matches either
    return hashed, seq + 1


def _break(e: Any, expected: int, prev: str, recomputed: str) -> str | None:
    """Why this event does not continue the chain, or None when it does."""
    if recomputed == e.hash and e.seq == expected and e.prev_hash == prev:
        return None
    where = {"id": e.id, "at": when(e.at), "seq": e.seq}
    if recomputed != e.hash:
        return _(
            "Altered: event id {id} at {at} (position {seq}) no longer matches its hash."
        ).format(**where)
    if e.seq > expected:
        n = e.seq - expected
        return ngettext(
            "Deleted: {n} event is missing just before event id {id} at {at} (position {seq}).",
            "Deleted: {n} events are missing just before event id {id} at {at} (position {seq}).",
            n,
        ).format(n=n, **where)
    return _(
        "Inserted: event id {id} at {at} (position {seq}) does not follow the event "
        "before it in the chain."
    ).format(**where)


def _check_rows(conn: Connection, seals: _Seals, verdict: Verdict) -> None:
    submitted = set(
        conn.execute(
            select(ScoringTask.id).where(ScoringTask.state == TaskState.SUBMITTED)
        ).scalars()
    )
    bad: list[tuple[str, int, str]] = []
    group_bad: list[tuple[str, int, int]] = []
    for table in MODELS:
        _check_table(conn, table, seals, submitted, bad, group_bad)
    names = _Names(conn)
    for table, row_id, why in bad:
        verdict.rows.append(names.row_problem(table, row_id, why))
    for table, group_key, event_id in group_bad:
        verdict.rows.append(names.group_problem(table, group_key, event_id))


def _check_table(
    conn: Connection,
    table: str,
    seals: _Seals,
    submitted: set[int],
    bad: list[tuple[str, int, str]],
    group_bad: list[tuple[str, int, int]],
) -> None:
    """Every row of `table`, in group order, so each group's digest is built as its rows
    stream by (a task's answers, a period's results) and nothing large is held."""
    c = MODELS[table].__table__.c
    grouped = table in GROUP_KEY
    key = c[GROUP_KEY[table]] if grouped else c.id
    query = select(c.id, key, c.row_hash, *content_columns(table)).order_by(key, c.id)
    present: set[int] = set()
    keys: set[int] = set()
    current: int | None = None
    members: list[tuple[int, str]] = []

    def close(group_key: int | None, members: list[tuple[int, str]]) -> None:
        sealed = seals.groups.get((table, group_key)) if group_key is not None else None
        if sealed and group_digest(members) != sealed[1]:
            group_bad.append((table, group_key or 0, sealed[2]))

    for row_id, group_key, stored, *content in conn.execute(
        query.execution_options(yield_per=_BATCH)
    ):
        if grouped and group_key != current:
            close(current, members)
            current, members = group_key, []
            keys.add(group_key)
        now = row_hash(table, content)
        group = seals.groups.get((table, group_key)) if grouped else None
        own = seals.rows.get((table, row_id), [])
        if own:
            present.add(row_id)  # only rows sealed alone can be missed as deleted
        if group is not None:
            # Its hash when the group was sealed: as stored, unless an event since
            # sealed the row alone and recorded the hash it had then.
            later = [s for s in own if s[0] > group[0]]
            was = later[0][1] if later else stored
            if was is not None:
                members.append((row_id, was))
        if group is None and not own:
            # A draft's answers are sealed only when it is submitted.
            if not (table == "score_entries" and group_key not in submitted):
                bad.append((table, row_id, "unsealed"))
            continue
        if stored != now:
            bad.append((table, row_id, "content"))
            continue
        latest = own[-1] if own else None
        if latest and (group is None or latest[0] > group[0]) and stored != latest[2]:
            bad.append((table, row_id, "event"))
    if grouped:
        close(current, members)
        # Groups sealed with rows that have all gone since.
        for (t, k), sealed in seals.groups.items():
            if t == table and sealed[3] and k not in keys:
                group_bad.append((table, k, sealed[2]))
    for (t, row_id), own in seals.rows.items():
        if t == table and row_id not in present and own[-1][2] is not None:
            bad.append((table, row_id, "deleted"))


class _Names:
    """Rows named as HR knows them: period label, 工号, indicator code."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def period(self, period_id: int) -> str:
        label = self.conn.scalar(select(Period.label).where(Period.id == period_id))
        return label or f"#{period_id}"

    def result(self, result_id: int) -> str:
        row = self.conn.execute(
            select(Employee.number, Employee.name, Period.label)
            .join(Result, Result.employee_id == Employee.id)
            .join(Period, Period.id == Result.period_id)
            .where(Result.id == result_id)
        ).first()
        if row is None:
            return _("result id {id}").format(id=result_id)
        return _("result id {id} ({number} {name}, period {period})").format(
            id=result_id, number=row[0], name=row[1], period=row[2]
        )

    def task(self, task_id: int) -> str:
        appraisee, scorer = aliased(Employee), aliased(Employee)
        row = self.conn.execute(
            select(appraisee.number, appraisee.name, scorer.number, Period.label)
            .select_from(ScoringTask)
            .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
            .join(scorer, scorer.id == ScoringTask.scorer_id)
            .join(Period, Period.id == ScoringTask.period_id)
            .where(ScoringTask.id == task_id)
        ).first()
        if row is None:
            return _("task id {id}").format(id=task_id)
        return _("task id {id} ({number} {name} scored by {scorer}, period {period})").format(
            id=task_id, number=row[0], name=row[1], scorer=row[2], period=row[3]
        )

    def entry(self, entry_id: int) -> str:
        row = self.conn.execute(
            select(ScoreEntry.task_id, Indicator.code)
            .join(Indicator, Indicator.id == ScoreEntry.indicator_id)
            .where(ScoreEntry.id == entry_id)
        ).first()
        if row is None:
            return _("score entry id {id}").format(id=entry_id)
        return _("score entry id {id} (indicator {code}, {task})").format(
            id=entry_id, code=row[1], task=self.task(row[0])
        )

    def row(self, table: str, row_id: int) -> str:
        if table == "periods":
            return _("period {label} (id {id})").format(label=self.period(row_id), id=row_id)
        if table == "results":
            return self.result(row_id)
        return self.entry(row_id)

    def row_problem(self, table: str, row_id: int, why: str) -> str:
        what = self.row(table, row_id)
        if why == "content":
            return _("Altered: {row} no longer matches its hash.").format(row=what)
        if why == "event":
            return _(
                "Altered: {row} was changed without a matching event (its hash is not the "
                "one the chain last recorded for it)."
            ).format(row=what)
        if why == "deleted":
            return _("Deleted: {row} is sealed in the chain but no longer exists.").format(row=what)
        return _("Inserted: {row} is not vouched for by any event in the chain.").format(row=what)

    def group_problem(self, table: str, key: int, event_id: int) -> str:
        if table == "results":
            return _(
                "Altered: the results of period {period} no longer match event id {event} "
                "(a result was changed, added or deleted and its hash rewritten)."
            ).format(period=self.period(key), event=event_id)
        return _(
            "Altered: the answers of {task} no longer match event id {event} (a score entry "
            "was changed, added or deleted and its hash rewritten)."
        ).format(task=self.task(key), event=event_id)
