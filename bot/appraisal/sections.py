"""Which indicators a scorer role scores: sections (考核维度) decide.

Without sections every role scores every indicator but the metric ones (those come from
business data). With sections a role scores the indicators of the sections that list it,
and the bonus and deduction items when the scheme's 考核人 sheet gives it a weight.

Whose marks *count* for an indicator (`Counting`) is the pay engine's rule (bot/appraisal/pay.py,
SchemeSpec.roles_scoring and the per-indicator weights): a role of weight above 0 within
the indicator's section, else (no section, or a bonus or deduction item) on the scheme's
考核人 sheet. Gaps and appeal revisions decide by it too, so they agree with the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Indicator, IndicatorKind, Scheme, ScorerRole, Section

ITEMS = (IndicatorKind.BONUS, IndicatorKind.DEDUCTION)


def indicators_for(scheme: Scheme, role: str) -> list[Indicator]:
    """The indicators a task of `role` shows, in the scheme's order."""
    inds = [i for i in scheme.indicators if i.kind != IndicatorKind.METRIC]
    if not scheme.sections:
        return inds
    scoring = {s.code for s in scheme.sections if any(code == role for code, _w in s.roles)}
    weights = {r.code: r.weight for r in scheme.roles}
    return [
        i for i in inds if (i.section in scoring) or (i.kind in ITEMS and weights.get(role, 0) > 0)
    ]


def scoring_roles(scheme: Scheme) -> set[str]:
    """The role codes that score anything in `scheme` (no task for the others)."""
    return {r.code for r in scheme.roles if indicators_for(scheme, r.code)}


def _positive(weights: Iterable[Sequence[Any]]) -> frozenset[str]:
    # Section weights are stored as JSON text; Decimal(str()) reads both text and numbers.
    return frozenset(code for code, weight in weights if Decimal(str(weight)) > 0)


@dataclass(frozen=True, slots=True)
class Counting:
    """The roles whose marks count, by the engine's rule: `scheme` from the 考核人 sheet,
    `sections` by section code from each section's own role weights."""

    scheme: frozenset[str]
    sections: Mapping[str, frozenset[str]]

    @classmethod
    def of(
        cls,
        roles: Iterable[Sequence[Any]],
        sections: Iterable[tuple[str, Iterable[Sequence[Any]]]],
    ) -> Counting:
        """From the scheme's (role code, weight) pairs and its (section code, stored
        [[role code, weight], ...]) pairs."""
        return cls(_positive(roles), {code: _positive(stored) for code, stored in sections})

    @classmethod
    def load(cls, session: Session, scheme_id: int) -> Counting:
        roles = session.execute(
            select(ScorerRole.code, ScorerRole.weight).where(ScorerRole.scheme_id == scheme_id)
        ).tuples()
        sections = session.execute(
            select(Section.code, Section.roles).where(Section.scheme_id == scheme_id)
        ).tuples()
        return cls.of(roles, sections)

    def section_of(self, kind: IndicatorKind | str, section: str | None) -> str | None:
        """The section whose role weights apply to an indicator; None: the scheme's."""
        if section is None or kind in ITEMS or section not in self.sections:
            return None
        return section

    def roles_for(self, kind: IndicatorKind | str, section: str | None) -> frozenset[str]:
        """The roles whose marks count for an indicator of `kind` in `section`; none for
        a metric (it comes from business data)."""
        if kind == IndicatorKind.METRIC:
            return frozenset()
        found = self.section_of(kind, section)
        return self.scheme if found is None else self.sections[found]
