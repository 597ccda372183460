"""Which indicators a scorer role scores: sections (考核维度) decide.

Without sections every role scores every indicator but the metric ones (those come from
business data). With sections a role scores the indicators of the sections that list it,
and the bonus and deduction items when the scheme's 考核人 sheet gives it a weight.
"""

from __future__ import annotations

from models import Indicator, IndicatorKind, Scheme

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
