"""Metric indicators (数据采集): how a target and an actual become points.

A rule is stored on the indicator as plain JSON with its numbers as text:

* ``{"form": "linear", "direction": "higher", "floor": "60", "cap": "120"}``: the
  completion rate counts as it is, 0 below the floor, at most the cap. 86% of target
  on an indicator of weight 50 gives 50 × 86% = 43 points; 130% gives 50 × 120% = 60.
* ``{"form": "stepped", "direction": "higher", "steps": [["100", "100"], ["90", "80"]]}``:
  the first step (highest threshold first) the rate reaches gives that share of the
  indicator's weight; below every step, 0.

The completion rate is ``actual / target × 100`` when higher is better and
``(2 − actual / target) × 100`` when lower is better (complaints, error rates): on target
is 100% either way, and every tenth of the target above it costs ten points of rate.
That form, unlike target / actual, is defined for an actual of 0 (rate 200%, then the
rule's cap or steps apply). A target must be more than 0: the import refuses 0 and
negative targets (bot/importing/metrics.py).

Pure functions over Decimal, no rounding: the total is rounded once, by the scheme.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.infra.i18n import _

HUNDRED = Decimal(100)
ZERO = Decimal(0)
_CTX = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)

LINEAR = "linear"
STEPPED = "stepped"
HIGHER = "higher"
LOWER = "lower"

Rule = Mapping[str, Any]


class BadRule(ValueError):
    """A rule written in the scheme workbook that cannot be read; the message says why."""


def rate(rule: Rule, target: Decimal, actual: Decimal) -> Decimal:
    """The completion rate in percent (86 for 86%), never below 0."""
    ratio = _CTX.divide(actual * HUNDRED, target)
    if rule.get("direction") == LOWER:
        ratio = 2 * HUNDRED - ratio
    return max(ratio, ZERO)


def share(rule: Rule, completion: Decimal) -> Decimal:
    """The percentage of the indicator's weight a completion rate earns (may pass 100
    up to a linear rule's cap)."""
    if rule["form"] == LINEAR:
        if completion < Decimal(rule["floor"]):
            return ZERO
        return min(completion, Decimal(rule["cap"]))
    for threshold, part in rule["steps"]:
        if completion >= Decimal(threshold):
            return Decimal(part)
    return ZERO


def top_share(rule: Rule) -> Decimal:
    """The most a rule can give, in percent of the weight."""
    if rule["form"] == LINEAR:
        return Decimal(rule["cap"])
    return max((Decimal(p) for _t, p in rule["steps"]), default=ZERO)


# 线性 60-120 · linear 60%-120% · 线性 60~120
_LINEAR = re.compile(
    r"^(?:线性|linear|比例)\s*[:：]?\s*(\d+(?:\.\d+)?)\s*%?\s*(?:-|–|—|~|～|至|to)\s*"
    r"(\d+(?:\.\d+)?)\s*%?$",
    re.IGNORECASE,
)
# 阶梯 100:100, 90:80, 80:60 · stepped 100=100; 90=80
_STEPPED = re.compile(r"^(?:阶梯|分档|stepped|steps?)\s*[:：]?\s*(.+)$", re.IGNORECASE)
_STEP = re.compile(r"^(\d+(?:\.\d+)?)\s*%?\s*[:：=→>]\s*(\d+(?:\.\d+)?)\s*%?$")
_SEPARATORS = re.compile(r"[,，、;；\n]+")

DIRECTION_WORDS = {
    "正向": HIGHER,
    "越高越好": HIGHER,
    "越大越好": HIGHER,
    "higher": HIGHER,
    "higherisbetter": HIGHER,
    "反向": LOWER,
    "越低越好": LOWER,
    "越小越好": LOWER,
    "lower": LOWER,
    "lowerisbetter": LOWER,
}


def parse(text: str, direction: str = HIGHER) -> dict[str, Any]:
    """A rule from the workbook's words: "线性 60-120" or "阶梯 100:100, 90:80"."""
    text = text.strip()
    if m := _LINEAR.match(text):
        floor, cap = Decimal(m.group(1)), Decimal(m.group(2))
        if floor >= cap:
            raise BadRule(
                _("the floor {floor}% must be below the cap {cap}%").format(floor=floor, cap=cap)
            )
        return {"form": LINEAR, "direction": direction, "floor": str(floor), "cap": str(cap)}
    if m := _STEPPED.match(text):
        steps: list[tuple[Decimal, Decimal]] = []
        for item in _SEPARATORS.split(m.group(1)):
            item = item.strip()
            if not item:
                continue
            step = _STEP.match(item)
            if step is None:
                raise BadRule(
                    _("write each step as rate:share of marks, such as 阶梯 100:100, 90:80")
                )
            threshold = Decimal(step.group(1))
            if any(threshold == t for t, _p in steps):
                raise BadRule(_("the step {rate}% appears twice").format(rate=threshold))
            steps.append((threshold, Decimal(step.group(2))))
        if not steps:
            raise BadRule(_("a stepped rule needs steps, such as 阶梯 100:100, 90:80"))
        steps.sort(key=lambda s: s[0], reverse=True)
        return {
            "form": STEPPED,
            "direction": direction,
            "steps": [[str(t), str(p)] for t, p in steps],
        }
    raise BadRule(_("is not a rule: write 线性 60-120 or 阶梯 100:100, 90:80"))


def target_problem(target: Decimal, indicator: str, who: str) -> str | None:
    """Why a target cannot be used, naming whose and of which indicator; None if it can.
    The completion rate is actual ÷ target (bot/appraisal/metrics.py): it does not exist for 0,
    and against a negative target it turns meaningless (more of the actual, a lower
    rate), so a negative target is refused rather than given a rule of its own."""
    if target == 0:
        return _(
            "the target of {indicator} for {who} is 0: a target of 0 gives no completion "
            "rate (actual ÷ target); give the real target, more than 0"
        ).format(indicator=indicator, who=who)
    if target < 0:
        return _(
            "the target of {indicator} for {who} is negative: a completion rate (actual ÷ "
            "target) means nothing against a negative target; give a target more than 0 "
            "(for a figure where less is better, the scheme's 方向 column says 反向)"
        ).format(indicator=indicator, who=who)
    return None


def describe(rule: Rule) -> str:
    """The rule in words, as an explanation names it: "60%–120% linear"."""
    if rule["form"] == LINEAR:
        words = _("linear from {floor}% to {cap}%").format(floor=rule["floor"], cap=rule["cap"])
    else:
        words = _("steps {steps}").format(
            steps=_(", ").join(f"≥{t}%→{p}%" for t, p in rule["steps"])
        )
    if rule.get("direction") == LOWER:
        return _("lower is better, {rule}").format(rule=words)
    return words
