"""Stored traces back in full.

A result's stored trace (version 2) names the parts it shares with other appraisees'
traces (an indicator's marks and points, the roles present, the grade, the pay) by
digest; `expand` puts them back, giving the self-contained trace (version 1) that
`bot.appraisal.pay.compute` returns and every explanation is rendered from.

A metric indicator's entry (target, actual, completion rate, rule, points) is a part like
any indicator's. A scheme with sections adds a `sections` list (each section's weight,
score, points, roles and whether a missing role was re-weighted within it) written into
the trace itself, and each indicator's entry names its section; traces of schemes
without sections have neither and read exactly as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import TracePart


class MissingParts(LookupError):
    """A trace names parts that are not stored: the data is damaged."""


def expand(session: Session, trace: dict[str, Any]) -> dict[str, Any]:
    """The full trace of a stored one; a version 1 trace is returned as it is."""
    if trace.get("v") != 2:
        return trace
    # A calibrated result carries its grade and pay entries in the trace itself.
    names = {
        trace["roles"],
        *(trace[key] for key in ("grade", "pay") if isinstance(trace[key], str)),
        *trace["indicators"],
        *trace["bonus"]["items"],
        *trace["deduction"]["items"],
    }
    bodies: dict[str, Any] = dict(
        session.execute(
            select(TracePart.digest, TracePart.body).where(
                TracePart.scheme_id == trace["scheme"]["id"], TracePart.digest.in_(names)
            )
        )
        .tuples()
        .all()
    )
    if missing := names - bodies.keys():
        raise MissingParts(", ".join(sorted(missing)))
    full = dict(trace, v=1)
    full["roles"] = bodies[trace["roles"]]
    for key in ("grade", "pay"):
        full[key] = bodies[trace[key]] if isinstance(trace[key], str) else trace[key]
    full["indicators"] = [bodies[name] for name in trace["indicators"]]
    for side in ("bonus", "deduction"):
        full[side] = dict(trace[side], items=[bodies[name] for name in trace[side]["items"]])
    return full
