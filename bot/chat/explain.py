""" "Why is my pay this amount?", answered from the stored traces alone: the formula with
this employee's numbers, the grade band and the way up, each indicator's contribution,
bonuses and deductions, and what changed since the previous period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.chat import render
from bot.chat.context import Ctx
from bot.chat.myscore import VISIBLE, by_role, comments, find
from bot.chat.types import Reply
from bot.i18n import _
from bot.traces import expand
from models import Period, Result

DRIVERS = 3


def _previous(ctx: Ctx, result: Result) -> Result | None:
    """The employee's published result of the period before, of the same kind."""
    period = result.period
    return ctx.session.scalar(
        select(Result)
        .join(Period, Period.id == Result.period_id)
        .where(
            Result.employee_id == result.employee_id,
            Period.state.in_(VISIBLE),
            Period.kind == period.kind,
            Period.starts_on < period.starts_on,
        )
        .order_by(Period.starts_on.desc())
        .limit(1)
    )


def formula(t: dict[str, Any]) -> list[str]:
    pay = t["pay"]
    places = int(t.get("score_places", 2))
    if pay["mode"] == "score":
        line = _("Performance pay = base {base} × total {total} ÷ 100 = {pay}").format(
            base=render.money(pay["base"]),
            total=render.points(t["total"], places),
            pay=render.money(pay["pay"]),
        )
    else:
        line = _("Performance pay = base {base} × coefficient {coefficient} = {pay}").format(
            base=render.money(pay["base"]),
            coefficient=render.score(pay["coefficient"]),
            pay=render.money(pay["pay"]),
        )
    lines = [line]
    if Decimal(pay["raw"]) != Decimal(pay["pay"]):
        lines.append(
            _("(rounded from {raw} to the nearest {quantum})").format(
                raw=pay["raw"], quantum=render.score(pay["quantum"])
            )
        )
    return lines


def grade(t: dict[str, Any]) -> list[str]:
    g = t["grade"]
    places = int(t.get("score_places", 2))
    lines = [
        _("Your total {total} falls in grade {grade} {label}, which starts at {min}.").format(
            total=render.points(t["total"], places),
            grade=g["grade"],
            label=g["label"],
            min=render.score(g["min"]),
        )
    ]
    nxt = g.get("next")
    if nxt:
        lines.append(
            _("Grade {grade} {label} starts at {min}: {gap} points more would reach it.").format(
                grade=nxt["grade"],
                label=nxt["label"],
                min=render.score(nxt["min"]),
                gap=render.points(nxt["gap"], places),
            )
        )
    else:
        lines.append(_("That is the highest grade."))
    return lines


def indicators(t: dict[str, Any]) -> list[str]:
    lines = [_("Each indicator's contribution:")]
    for row in t["indicators"]:
        lines.append(
            _("• {name}: {marks} (weight {weight}) → {points} points, {lost} points lost").format(
                name=row["name"],
                marks=by_role(t, row),
                weight=row["weight"],
                points=render.points(row["points"]),
                lost=render.points(row["lost"]),
            )
        )
        lines.extend(comments(t, row))
    for key, title in (("bonus", _("Bonuses: +{sum}")), ("deduction", _("Deductions: −{sum}"))):
        applied = t[f"{key}_applied"]
        items = [i for i in t[key]["items"] if Decimal(i["applied"])]
        if not items:
            continue
        lines.append(title.format(sum=render.points(applied)))
        for item in items:
            lines.append(f"• {item['name']}: {render.score(item['applied'])}")
            lines.extend(comments(t, item))
        if Decimal(applied) < Decimal(t[key]["sum"]):
            lines.append(_("(capped at {cap})").format(cap=render.score(t[key]["cap"])))
    return lines


def _points(t: dict[str, Any]) -> dict[str, tuple[str, Decimal]]:
    """Points per indicator code, with bonuses and deductions as two more lines."""
    out = {row["code"]: (row["name"], Decimal(row["points"])) for row in t["indicators"]}
    out["+bonus"] = (_("bonuses"), Decimal(t["bonus_applied"]))
    out["-deduction"] = (_("deductions"), -Decimal(t["deduction_applied"]))
    return out


def change(t: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """The pay difference from the previous period and the indicators that drove it."""
    if before is None:
        return [_("There is no earlier published result to compare with.")]
    diff = Decimal(t["pay"]["pay"]) - Decimal(before["pay"]["pay"])
    lines = [
        _("Since {label}: pay {diff} ({old} → {new}), total {old_total} → {new_total}.").format(
            label=before["period"]["label"],
            diff=render.signed_money(diff),
            old=render.money(before["pay"]["pay"]),
            new=render.money(t["pay"]["pay"]),
            old_total=render.points(before["total"]),
            new_total=render.points(t["total"]),
        )
    ]
    if before["grade"]["grade"] != t["grade"]["grade"]:
        lines.append(
            _("Grade {old} → {new}.").format(old=before["grade"]["grade"], new=t["grade"]["grade"])
        )
    now, old = _points(t), _points(before)
    moves = [
        (name, points - old[code][1])
        for code, (name, points) in now.items()
        if code in old and points != old[code][1]
    ]
    moves.sort(key=lambda m: -abs(m[1]))
    if moves:
        lines.append(
            _("What moved it most: {moves}.").format(
                moves=", ".join(f"{name} {render.signed(delta)}" for name, delta in moves[:DRIVERS])
            )
        )
    return lines


def show(ctx: Ctx, result_id: int | None = None) -> Reply:
    """Explain the pay of the speaker's result (the latest when no id is given)."""
    found = find(ctx, result_id)
    if isinstance(found, Reply):
        return found
    t = expand(ctx.session, found.trace)
    prev = _previous(ctx, found)
    parts = [
        [
            _("Why your performance pay for {label} is {pay}").format(
                label=t["period"]["label"], pay=render.money(t["pay"]["pay"])
            )
        ],
        formula(t),
        grade(t),
        indicators(t),
        change(t, expand(ctx.session, prev.trace) if prev else None),
    ]
    return Reply(
        "\n\n".join("\n".join(p) for p in parts),
        [[ctx.button(_("My score"), f"res:{found.id}"), ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


def someone_else(ctx: Ctx) -> Reply:
    """A question about another person's pay: refused, and audited."""
    return ctx.refuse(
        "asked about someone else's pay",
        text=_(
            "I can only explain your own pay. Ask about yours, such as “why is my pay this amount”."
        ),
    )
