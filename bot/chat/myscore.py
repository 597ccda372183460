"""An employee's own published results: the latest with its breakdown, and history.

Everything shown comes from the stored trace, so it never drifts when a scheme changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.chat import render
from bot.chat.context import Ctx
from bot.chat.types import Reply
from bot.i18n import _
from bot.traces import expand
from models import Period, PeriodState, Result, ScoringTask

VISIBLE = (PeriodState.PUBLISHED, PeriodState.FINAL)
HISTORY = 12


def find(ctx: Ctx, result_id: int | None) -> Result | Reply:
    """The speaker's result (the latest published one when no id is given), or the reply
    instead: a refusal for anyone else's or an unpublished one, or when to expect one."""
    if result_id is not None:
        result = ctx.session.get(Result, result_id)
        if result is None or result.employee_id != ctx.employee.id:
            return ctx.refuse("result not the speaker's", "result", result_id)
        if result.period.state not in VISIBLE:
            return ctx.refuse("result not published", "result", result_id)
        return result
    latest = ctx.session.scalar(
        select(Result)
        .join(Period, Period.id == Result.period_id)
        .where(Result.employee_id == ctx.employee.id, Period.state.in_(VISIBLE))
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )
    return not_yet(ctx) if latest is None else latest


def not_yet(ctx: Ctx) -> Reply:
    """No published result: say when to expect one."""
    period = ctx.session.scalar(
        select(Period)
        .join(ScoringTask, ScoringTask.period_id == Period.id)
        .where(
            ScoringTask.appraisee_id == ctx.employee.id,
            Period.state.in_((PeriodState.SCORING, PeriodState.SCORING_CLOSED)),
        )
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )
    if period is None:
        text = _("You have no published results yet.")
    elif period.state == PeriodState.SCORING:
        text = _(
            "Your result for {label} is not published yet. Scoring closes {when}; you will "
            "see it here as soon as HR publishes it."
        ).format(label=period.label, when=render.when(period.deadline, ctx.tz))
    else:
        text = _(
            "Scoring for {label} has closed and HR is preparing the results; you will see "
            "yours here as soon as they are published."
        ).format(label=period.label)
    return Reply(text, [[ctx.button(_("Menu"), "menu")]], ctx.tapped)


def role_names(trace: dict[str, Any]) -> dict[str, str]:
    return {r["code"]: r["name"] for r in trace.get("roles", [])}


def by_role(trace: dict[str, Any], row: dict[str, Any]) -> str:
    """Each role's marks: 直接上级 90, 一把手 85."""
    names = role_names(trace)
    marks = row.get("by_role", {})
    order = [r for r in names if r in marks] + [r for r in marks if r not in names]
    return ", ".join(
        f"{names.get(role, role)} {'/'.join(render.score(v) for v in marks[role])}"
        for role in order
    )


def comments(trace: dict[str, Any], row: dict[str, Any]) -> list[str]:
    names = role_names(trace)
    return [f"   {names.get(role, role)}: “{text}”" for role, text in row.get("comments", [])]


def show(ctx: Ctx, result_id: int | None = None) -> Reply:
    """The result with its breakdown by indicator and scorer role; offers the explanation."""
    found = find(ctx, result_id)
    if isinstance(found, Reply):
        return found
    t = expand(ctx.session, found.trace)
    places = int(t.get("score_places", 2))
    grade = t["grade"]
    lines = [
        _("{label}: total {total}, grade {grade} {name}, performance pay {pay}.").format(
            label=t["period"]["label"],
            total=render.points(t["total"], places),
            grade=grade["grade"],
            name=grade["label"],
            pay=render.money(t["pay"]["pay"]),
        ),
        _("By indicator:"),
    ]
    for row in t["indicators"]:
        lines.append(
            _("• {name} (weight {weight}): {marks} → {points} points").format(
                name=row["name"],
                weight=row["weight"],
                marks=by_role(t, row),
                points=render.points(row["points"]),
            )
        )
        lines.extend(comments(t, row))
    for key, sign in (("bonus", "+"), ("deduction", "−")):
        for item in t[key]["items"]:
            if item["applied"] != "0":
                lines.append(f"• {item['name']}: {sign}{render.score(item['applied'])}")
                lines.extend(comments(t, item))
    return Reply(
        "\n".join(lines),
        [
            [ctx.button(_("Why is my pay this amount"), f"why:{found.id}")],
            [ctx.button(_("History"), "hist"), ctx.button(_("Menu"), "menu")],
        ],
        ctx.tapped,
    )


def history(ctx: Ctx) -> Reply:
    """Earlier published results, newest first; each opens its breakdown."""
    rows = ctx.session.execute(
        select(Result.id, Period.label, Result.total, Result.grade, Result.pay)
        .join(Period, Period.id == Result.period_id)
        .where(Result.employee_id == ctx.employee.id, Period.state.in_(VISIBLE))
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(HISTORY)
    ).all()
    if not rows:
        return not_yet(ctx)
    lines = [_("Your results:")]
    lines.extend(
        _("{label}: {total}, grade {grade}, {pay}").format(
            label=label, total=render.points(total), grade=grade, pay=render.money(pay)
        )
        for _id, label, total, grade, pay in rows
    )
    buttons = [[ctx.button(label, f"res:{rid}")] for rid, label, *_rest in rows]
    return Reply("\n".join(lines), [*buttons, [ctx.button(_("Menu"), "menu")]], ctx.tapped)
