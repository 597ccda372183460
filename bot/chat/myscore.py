"""An employee's own published results: the latest with its breakdown, and history.

Everything shown comes from the stored trace, so it never drifts when a scheme changes.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, or_, select

from bot.appraisal import gaps, metrics
from bot.appraisal.adjustments import adjustment_lines
from bot.appraisal.traces import expand
from bot.chat import appeal
from bot.chat.context import Ctx
from bot.infra import i18n, render
from bot.infra.i18n import _
from bot.infra.message import Reply
from bot.notify.chart import history_lines
from models import Period, PeriodState, Result, ScoringTask

VISIBLE = (PeriodState.PUBLISHED, PeriodState.FINAL)
HISTORY = 12


# Points are shown with as many places as they carry, so the lines add up, but no more
# than this: a third carried to 40 digits is shown as ≈ at this many places.
MAX_PLACES = 4


def shown_places(t: dict[str, Any]) -> int:
    """Places that make the breakdown add up: the total's places, or more when a point
    figure carries more (44.9975 + 44.9975 = 89.995 is not 45.00 + 45.00)."""
    places = int(t.get("score_places", 2))
    figures = [row["points"] for row in t["indicators"]]
    figures += [section["points"] for section in t.get("sections", [])]
    figures += [t["weighted"], t["bonus_applied"], t["deduction_applied"], t["total_raw"]]
    return max([places, *(min(render.places_of(f), MAX_PLACES) for f in figures)])


def fig(value: Decimal | str) -> str:
    """An exact figure as it is (93.5), or ≈ at MAX_PLACES when it has more places."""
    d = Decimal(value)
    if render.places_of(d) <= MAX_PLACES:
        return render.score(d)
    return "≈" + render.score(d.quantize(Decimal(1).scaleb(-MAX_PLACES)))


def num(value: Decimal | str, places: int) -> str:
    """A computed figure at `places`, marked ≈ when that drops digits."""
    shown = render.points(value, places)
    return shown if render.places_of(value) <= places else "≈" + shown


def item_line(item: dict[str, Any], sign: str) -> str:
    """A bonus or deduction item: what was entered, the item cap when it applied, and
    what counted."""
    value, applied = Decimal(item["value"]), Decimal(item["applied"])
    entered = render.score(value)
    if "incidents" in item:  # counted by incidents: the count and its points, by hand
        entered = _("{n} times × {each} = {points}").format(
            n=render.score(item["incidents"]),
            each=render.score(item["per_incident"]),
            points=entered,
        )
    if value > applied and item.get("cap") is not None:
        return _("• {name}: {value}, item cap {cap} → {sign}{applied}").format(
            name=item["name"],
            value=entered,
            cap=render.score(item["cap"]),
            sign=sign,
            applied=render.score(applied),
        )
    if "incidents" in item:
        return f"• {item['name']}: {entered} → {sign}{render.score(applied)}"
    return f"• {item['name']}: {sign}{render.score(applied)}"


# Built once: its cache key is computed once per process.
_LATEST = (
    select(Result)
    .join(Period, Period.id == Result.period_id)
    .where(Result.employee_id == bindparam("p_emp"), Period.state.in_(VISIBLE))
    .order_by(Period.starts_on.desc(), Period.id.desc())
    .limit(1)
)


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
    latest = ctx.session.scalar(_LATEST, {"p_emp": ctx.employee.id})
    if latest is None:
        reply = not_yet(ctx)
        if note := no_result_note(ctx, None):
            reply.text = f"{note}\n\n{reply.text}"
        return reply
    return latest


def _newer_without_result(ctx: Ctx, latest: Result | None) -> Period | None:
    """The newest published period covering the speaker, newer than `latest`'s, in
    which the speaker has no result."""
    me = ctx.employee
    has_task = (
        select(ScoringTask.id)
        .where(ScoringTask.period_id == Period.id, ScoringTask.appraisee_id == me.id)
        .exists()
    )
    in_scope = and_(
        Period.group_id == me.group_id,
        or_(Period.institution_id.is_(None), Period.institution_id == me.institution_id),
    )
    query = (
        select(Period)
        .where(Period.state.in_(VISIBLE), or_(has_task, in_scope))
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )
    if latest is not None:
        query = query.where(Period.starts_on > latest.period.starts_on)
    period = ctx.session.scalar(query)
    if period is None:
        return None
    mine = select(Result.id).where(
        Result.period_id == period.id, Result.employee_id == ctx.employee.id
    )
    return None if ctx.session.scalar(mine) is not None else period


def _why_none(gap: gaps.Gap) -> str:
    """Why the speaker has no result, in words for the employee (bot.appraisal.gaps decides)."""
    if gap.tasks and gap.counting and not gap.missing:
        return _("your scores are in, but HR has not computed your result; please ask HR")
    return gap.reason()


def no_result_note(ctx: Ctx, latest: Result | None) -> str:
    """When the newest published period has no result for the speaker: say so, and
    why, so an older result is never taken for this one."""
    period = _newer_without_result(ctx, latest)
    if period is None:
        return ""
    found = gaps.explain(ctx.session, period, [ctx.employee.id])
    reason = _why_none(found[0]) if found else ""
    text = (
        _("You have no result for {label}: {reason}.").format(label=period.label, reason=reason)
        if reason
        else _("You have no result for {label}.").format(label=period.label)
    )
    if latest is not None:
        text += " " + _("Below is your result for the earlier period {label}.").format(
            label=latest.period.label
        )
    return text


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


def figure(value: Decimal | str) -> str:
    """A target or an actual as people say it: 500万 in Chinese, 5,000,000 in English."""
    d = Decimal(value)
    if i18n.current().startswith("zh") and abs(d) >= 10000:
        wan = d.scaleb(-4)
        if render.places_of(wan) <= 2:
            return render.score(wan) + "万"
    return i18n.number(d, places=min(render.places_of(d), MAX_PLACES))


def target_shown(row: dict[str, Any]) -> str:
    """A metric target, and where it came from when it was not the person's own: "500万
    (岗位目标值)". Traces stored before targets said so show the number alone."""
    target = figure(row["target"])
    source = row.get("target_from")
    if source == "position":
        return _("{target} (their position's target)").format(target=target)
    if source == "scheme":
        return _("{target} (their position's target in the scheme)").format(target=target)
    return target


def metric_line(row: dict[str, Any], places: int) -> str:
    """A metric indicator: 存款增量: 目标 500万, 实际 430万, 完成率 86.0% → 按 60%–120% 线性 →
    43.00 分 (权重 50)."""
    rate = Decimal(row["rate"]).quantize(Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)
    return _(
        "• {name}: target {target}, actual {actual}, completion {rate}% → {rule} → "
        "{points} points (weight {weight})"
    ).format(
        name=row["name"],
        target=target_shown(row),
        actual=figure(row["actual"]),
        rate=format(rate, "f"),
        rule=metrics.describe(row["rule"]),
        points=num(row["points"], places),
        weight=render.score(row["weight"]),
    )


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
    at = shown_places(t)
    grade = t["grade"]
    lines = [note] if result_id is None and (note := no_result_note(ctx, found)) else []
    lines += [
        _("{label}: total {total}, grade {grade}, performance pay {pay}.").format(
            label=t["period"]["label"],
            total=render.points(t["total"], places),
            grade=render.grade(grade["grade"], grade["label"]),
            pay=render.money(t["pay"]["pay"]),
        ),
    ]
    if t.get("calibration"):
        lines.append(_("This result was calibrated: “Why is my pay this amount” says how and why."))
    lines.append(_("By indicator:"))
    for row in t["indicators"]:
        if row.get("kind") == "metric":
            lines.append(metric_line(row, at))
            continue
        lines.append(
            _("• {name} (weight {weight}): {marks} → {points} points").format(
                name=row["name"],
                weight=row["weight"],
                marks=by_role(t, row),
                points=num(row["points"], at),
            )
        )
        lines.extend(comments(t, row))
    for key, sign in (("bonus", "+"), ("deduction", "−")):
        items = [i for i in t[key]["items"] if Decimal(i["value"]) or Decimal(i["applied"])]
        for item in items:
            lines.append(item_line(item, sign))
            lines.extend(comments(t, item))
        if items and Decimal(t[f"{key}_applied"]) < Decimal(t[key]["sum"]):
            lines.append(
                _("(the items add up to {sum}, capped at {cap} for the scheme)").format(
                    sum=render.score(t[key]["sum"]), cap=render.score(t[key]["cap"])
                )
            )
    extra, rows = appeal.panel(ctx, found)
    return Reply(
        "\n".join([*lines, *adjustment_lines(ctx.session, found), *extra]),
        [
            *rows,
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
    reply = Reply("\n".join(lines), [*buttons, [ctx.button(_("Menu"), "menu")]], ctx.tapped)
    if len(rows) >= 2:  # one point is no picture
        oldest_first = list(reversed(rows))
        reply.image = history_lines(
            _("{name}: total and performance pay, last {n} periods").format(
                name=ctx.employee.name, n=len(rows)
            ),
            [label for _id, label, *_rest in oldest_first],
            [total for _id, _label, total, _grade, _pay in oldest_first],
            [pay for _id, _label, _total, _grade, pay in oldest_first],
            _("Total score"),
            _("Performance pay (yuan)"),
        )
        reply.image_name = "history.png"
    return reply
