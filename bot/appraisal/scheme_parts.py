"""A scheme version's indicators, scorer roles, grade bands and sections, read once per
process.

A scheme version never changes once stored: a change is imported as a new version, a new
row, and periods keep theirs. Every scoring-form step reads those parts, and reading them
was a large share of a step (three loader round trips, each with SQLAlchemy's Python
overhead), so they are kept in memory, per database and per scheme version.

What is kept are detached, fully loaded rows: attribute reads work, nothing on them is ever
written (a write would not be saved), and `.scheme` on them is not available. Code that
wants the parts as usual keeps reading `scheme.indicators`; `attach` only fills those
collections from memory before they are read, when the session has not loaded them yet.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from models import GradeBand, Indicator, Scheme, ScorerRole, Section

# A process talks to a few databases at most (tests make many); each engine's entries go
# with it.
_Key = tuple[int, int, str, int, dt.datetime]
_KEEP: weakref.WeakKeyDictionary[Engine, dict[_Key, _Parts]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Parts:
    indicators: tuple[Indicator, ...]
    roles: tuple[ScorerRole, ...]
    grades: tuple[GradeBand, ...]
    # Read by every step too (which indicators a role scores): a lazy load a step before.
    sections: tuple[Section, ...]


def _detached(session: Session, model: Any, scheme_id: int, *order: Any) -> tuple[Any, ...]:
    """The scheme's rows of `model` as detached instances, read by columns (so they never
    enter, or are expired with, the caller's session)."""
    table = model.__table__
    rows = session.execute(select(table).where(table.c.scheme_id == scheme_id).order_by(*order))
    found = []
    for row in rows:
        obj = model(**row._asdict())
        make_transient_to_detached(obj)
        found.append(obj)
    return tuple(found)


def _read(session: Session, scheme: Scheme) -> _Parts:
    return _Parts(
        _detached(session, Indicator, scheme.id, Indicator.position),
        _detached(session, ScorerRole, scheme.id, ScorerRole.position),
        _detached(session, GradeBand, scheme.id, GradeBand.min_score.desc()),
        _detached(session, Section, scheme.id, Section.position),
    )


def attach(session: Session, scheme: Scheme) -> None:
    """Fill `scheme.indicators`, `.roles`, `.grades` and `.sections` from memory, when
    not loaded yet in this session (one read per scheme version and database per
    process)."""
    state = inspect(scheme)
    names = ("indicators", "roles", "grades", "sections")
    unloaded = state.unloaded  # a set worked out at each read: once
    wanted = [name for name in names if name in unloaded]
    if not wanted or not state.persistent:
        return
    engine = session.get_bind().engine
    key = (scheme.id, scheme.group_id, scheme.code, scheme.version, scheme.created_at)
    with _LOCK:
        parts = _KEEP.get(engine, {}).get(key)
    if parts is None:
        parts = _read(session, scheme)
        with _LOCK:
            _KEEP.setdefault(engine, {})[key] = parts
    for name in wanted:
        set_committed_value(scheme, name, list(getattr(parts, name)))
