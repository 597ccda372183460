"""The rows the audit chain vouches for (periods, results, score entries): how each is
read for hashing, and which rows an event on an entity seals.

An event on a `period` seals that period's row and the digest of its results; on a
`result` or a `score_entry`, that row; on a submitted `scoring_task`, the digest of the
task's score entries. Events on anything else are chained but seal no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Select, Text, bindparam, cast, select
from sqlalchemy.sql.elements import ColumnElement

from models import Period, Result, ScoreEntry, ScoringTask, TaskState
from models.base import Base
from models.chain import ROW_COLUMNS, row_hash

MODELS: dict[str, type[Base]] = {
    "periods": Period,
    "results": Result,
    "score_entries": ScoreEntry,
}
# The column that names a row's group, for the tables sealed in groups.
GROUP_KEY = {"results": "period_id", "score_entries": "task_id"}
CHUNK = 500


def content_columns(table: str) -> list[ColumnElement[Any]]:
    """The hashed columns in ROW_COLUMNS order; a JSON column as its stored text."""
    columns = MODELS[table].__table__.c
    return [
        cast(columns[name], Text) if name == "trace" else columns[name]
        for name in ROW_COLUMNS[table]
    ]


def hash_rows(
    conn: Connection, table: str, *, ids: Sequence[int] = (), keys: Sequence[int] = ()
) -> Iterator[tuple[int, int | None, str | None, str]]:
    """(id, group key, stored hash, hash of the content now) of the rows with these ids,
    or of the groups with these keys."""
    wanted = ids or keys
    query = _hash_query(table, by_group=not ids)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(query, {"p_wanted": list(wanted[start : start + CHUNK])})
        for row_id, key, stored, *content in rows.tuples():
            yield row_id, key, stored, row_hash(table, content)


@cache
def _hash_query(table: str, *, by_group: bool) -> Select[Any]:
    """Built once per table (its cache key is memoized): sealing runs at every commit
    that records an event, a submitted form among them."""
    c = MODELS[table].__table__.c
    group = c[GROUP_KEY[table]] if table in GROUP_KEY else c.id
    where = group if by_group else c.id
    return select(c.id, group, c.row_hash, *content_columns(table)).where(
        where.in_(bindparam("p_wanted", expanding=True))
    )


_SUBMITTED = select(ScoringTask.id).where(
    ScoringTask.id.in_(bindparam("p_ids", expanding=True)),
    ScoringTask.state == TaskState.SUBMITTED,
)


def subjects(
    conn: Connection, events: Iterable[tuple[str, int | None]]
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """The (table, id) rows and (table, key) groups that events on these entities seal."""
    rows: set[tuple[str, int]] = set()
    groups: set[tuple[str, int]] = set()
    tasks: set[int] = set()
    for entity, entity_id in events:
        if entity_id is None:
            continue
        if entity == "period":
            rows.add(("periods", entity_id))
            groups.add(("results", entity_id))
        elif entity == "result":
            rows.add(("results", entity_id))
        elif entity == "score_entry":
            rows.add(("score_entries", entity_id))
        elif entity == "scoring_task":
            tasks.add(entity_id)
    # A draft's answers change without events until it is submitted: not sealed before.
    wanted = sorted(tasks)
    for start in range(0, len(wanted), CHUNK):
        for task_id in conn.execute(_SUBMITTED, {"p_ids": wanted[start : start + CHUNK]}).scalars():
            groups.add(("score_entries", task_id))
    return rows, groups


def seals_of(entity: str, entity_id: int | None) -> tuple[list[str], list[str]]:
    """Which tables an event on `entity` seals as rows and as groups (for one event)."""
    if entity_id is None:
        return [], []
    return {
        "period": (["periods"], ["results"]),
        "result": (["results"], []),
        "score_entry": (["score_entries"], []),
        "scoring_task": ([], ["score_entries"]),
    }.get(entity, ([], []))
