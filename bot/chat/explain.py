""" "Why is my pay this amount?", answered from the stored traces alone: the formula with
this employee's numbers, the grade band and the way up, each indicator's contribution,
bonuses and deductions, and what changed since the previous period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

from bot.appraisal.adjustments import adjustment_lines
from bot.appraisal.traces import expand
from bot.chat import appeal
from bot.chat.context import Ctx
from bot.chat.myscore import (
    VISIBLE,
    by_role,
    comments,
    fig,
    find,
    item_line,
    metric_line,
    no_result_note,
    num,
    shown_places,
)
from bot.infra import render
from bot.infra.i18n import _
from bot.infra.message import Reply
from models import Period, Result

DRIVERS = 3
ZERO = Decimal(0)


def _previous(ctx: Ctx, result: Result) -> Result | None:
    """The employee's published result of the period before, of the same kind."""
    period = result.period
    return ctx.session.scalar(
        _PREVIOUS,
        {"p_emp": result.employee_id, "p_kind": period.kind, "p_before": period.starts_on},
    )


# Built once: its cache key is computed once per process.
_PREVIOUS = (
    select(Result)
    .join(Period, Period.id == Result.period_id)
    .where(
        Result.employee_id == bindparam("p_emp"),
        Period.state.in_(VISIBLE),
        Period.kind == bindparam("p_kind"),
        Period.starts_on < bindparam("p_before"),
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
        rule = pay.get("rounding")
        if rule:
            lines.append(
                _("({raw} rounded to the nearest {quantum} yuan by {rule})").format(
                    raw=render.score(pay["raw"]),
                    quantum=render.score(pay["quantum"]),
                    rule=render.rounding(rule),
                )
            )
        else:
            lines.append(
                _("(rounded from {raw} to the nearest {quantum})").format(
                    raw=pay["raw"], quantum=render.score(pay["quantum"])
                )
            )
    return lines


def calibration(t: dict[str, Any]) -> list[str]:
    """That a calibration changed the computed result: from what to what, by which role
    (never by name), and why."""
    c = t.get("calibration")
    if not c:
        return []
    who = {"head": _("the head of your institution"), "hr": _("HR")}.get(c["role"], c["role"])
    computed = c["computed"]
    places = int(t.get("score_places", 2))
    old_grade = render.grade(computed["grade"], computed.get("label") or computed["grade"])
    new_grade = render.grade(t["grade"]["grade"], t["grade"]["label"])
    if c.get("grade"):
        lines = [
            _("Your result was calibrated by {who}: grade {old} → {new}.").format(
                who=who, old=old_grade, new=new_grade
            )
        ]
    else:
        lines = [
            _(
                "Your result was calibrated by {who}: total {old_total} → {new_total} "
                "({adjust} points), grade {old} → {new}."
            ).format(
                who=who,
                old_total=render.points(computed["total"], places),
                new_total=render.points(t["total"], places),
                adjust=render.signed(Decimal(c["total_adjust"]), places),
                old=old_grade,
                new=new_grade,
            )
        ]
    if Decimal(computed["pay"]) != Decimal(t["pay"]["pay"]):
        lines.append(
            _("Performance pay as computed: {old}; after calibration: {new}.").format(
                old=render.money(computed["pay"]), new=render.money(t["pay"]["pay"])
            )
        )
    lines.append(_("Reason given: {reason}").format(reason=c["reason"]))
    return lines


def grade(t: dict[str, Any]) -> list[str]:
    g = t["grade"]
    places = int(t.get("score_places", 2))
    c = t.get("calibration")
    if c and c.get("grade"):
        return [
            _(
                "Your grade {grade} was set by calibration; your total {total} by itself "
                "gives grade {computed}."
            ).format(
                grade=render.grade(g["grade"], g["label"]),
                total=render.points(t["total"], places),
                computed=render.grade(
                    c["computed"]["grade"], c["computed"].get("label") or c["computed"]["grade"]
                ),
            )
        ]
    lines = [
        _("Your total {total} falls in grade {grade}, which starts at {min}.").format(
            total=render.points(t["total"], places),
            grade=render.grade(g["grade"], g["label"]),
            min=render.score(g["min"]),
        )
    ]
    nxt = g.get("next")
    if nxt:
        lines.append(
            _("Grade {grade} starts at {min}: {gap} points more would reach it.").format(
                grade=render.grade(nxt["grade"], nxt["label"]),
                min=render.score(nxt["min"]),
                gap=render.points(nxt["gap"], places),
            )
        )
    else:
        lines.append(_("That is the highest grade."))
    return lines


def _percent(weight: Decimal, used: Decimal) -> str | None:
    """A role's share of an indicator as a percentage, if it is exact at two places."""
    share = weight * 100 / used
    return None if render.places_of(share) > 2 else render.score(share) + "%"


def _normal(row: dict[str, Any], value: Decimal) -> Decimal | None:
    """A mark on the 0–100 scale, as the engine normalises it (docs/computation.md step 1)."""
    low, high = Decimal(row.get("min", "0")), Decimal(row.get("max", "100"))
    if row.get("kind") == "rating":
        return value * 100 / high if high > 0 else None
    if low == 0 and high == 100:
        return value
    return (value - low) * 100 / (high - low) if high > low else None


def combination(t: dict[str, Any], row: dict[str, Any]) -> tuple[str, list[str]]:
    """How the roles' marks made this indicator's 0–100 mark: each role's mark, its share
    and the result, then notes (a role of weight 0 not counted, a missing role whose
    weight went to the others). Only from what the trace stored; when the stored numbers
    do not reproduce its mark, the marks are listed without a formula."""
    roles = {r["code"]: r for r in t.get("roles", [])}
    marks = row.get("by_role", {})
    order = [r for r in roles if r in marks] + [r for r in marks if r not in roles]
    norm = Decimal(row["norm"])
    listed = by_role(t, row)
    if not all(r in roles and "weight" in roles[r] for r in order):
        return listed, []
    weights = {r: Decimal(roles[r]["weight"]) for r in order}
    counting = [r for r in order if weights[r] > 0]
    uncounted = [r for r in order if weights[r] <= 0]
    notes = [
        _("{role} {marks} has weight 0 and does not count.").format(
            role=roles[r]["name"], marks="/".join(render.score(v) for v in marks[r])
        )
        for r in uncounted
    ]
    used = sum((weights[r] for r in counting), Decimal(0))
    if not counting or used <= 0:
        return listed, notes
    terms: list[tuple[str, Decimal, str]] = []  # (role shown with its mark, mark, weight)
    for r in counting:
        values = [Decimal(v) for v in marks[r]]
        normed = [_normal(row, v) for v in values]
        if any(n is None for n in normed):
            return listed, notes
        mean = sum((n for n in normed if n is not None), Decimal(0)) / len(normed)
        entered = "/".join(render.score(v) for v in marks[r])
        shown = f"{roles[r]['name']} {entered}"
        if len(values) > 1:
            shown += _(" (average {mean})").format(mean=fig(mean))
        elif normed[0] != values[0]:
            shown += _(" (= {normal} of 100)").format(normal=fig(mean))
        terms.append((shown, mean, render.score(weights[r])))
    combined = sum((m * weights[r] for (_s, m, _w), r in zip(terms, counting, strict=True)), ZERO)
    combined /= used
    if abs(combined - norm) > Decimal("1e-20"):
        return listed, notes  # the stored mark came by rules this trace does not state
    shares = [_percent(weights[r], used) for r in counting]
    if all(shares):
        text = " + ".join(
            f"{shown} × {share}" for (shown, _m, _w), share in zip(terms, shares, strict=True)
        )
    else:
        text = (
            "("
            + " + ".join(f"{shown} × {w}" for shown, _m, w in terms)
            + f") ÷ {render.score(used)}"
        )
    text += f" = {fig(norm)}"
    absent = [
        r["name"]
        for code, r in roles.items()
        if code not in marks and Decimal(r.get("weight", "0")) > 0
    ]
    if absent and t.get("rule") == "reweight_present_roles":
        counted = _(", ").join(
            _("{role} counts {share}").format(
                role=roles[r]["name"],
                share=share or f"{render.score(weights[r])}/{render.score(used)}",
            )
            for r, share in zip(counting, shares, strict=True)
        )
        notes.append(
            _("{missing} did not score this; {counted}.").format(
                missing=_(", ").join(absent), counted=counted
            )
        )
    return text, notes


def indicators(t: dict[str, Any]) -> list[str]:
    at = shown_places(t)
    roles = t.get("roles", [])
    lines = [_("Each indicator's contribution:")]
    if roles and all("weight" in r for r in roles):
        lines[0] = _("Each indicator's contribution (scorer roles weigh {weights}):").format(
            weights=_(", ").join(f"{r['name']} {render.score(r['weight'])}" for r in roles)
        )
    if "sections" in t:
        lines[0] = _("Each section and its indicators:")
        for section in t["sections"]:
            lines.extend(_section(t, section, at))
    else:
        for row in t["indicators"]:
            lines.extend(_indicator(t, row, at))
    for key, title, sign in (
        ("bonus", _("Bonuses: +{sum}"), "+"),
        ("deduction", _("Deductions: −{sum}"), "−"),
    ):
        applied = t[f"{key}_applied"]
        items = [i for i in t[key]["items"] if Decimal(i["value"]) or Decimal(i["applied"])]
        if not items:
            continue
        lines.append(title.format(sum=num(applied, at)))
        for item in items:
            lines.append(item_line(item, sign))
            lines.extend(comments(t, item))
        if Decimal(applied) < Decimal(t[key]["sum"]):
            lines.append(
                _("(the items add up to {sum}, capped at {cap} for the scheme)").format(
                    sum=render.score(t[key]["sum"]), cap=render.score(t[key]["cap"])
                )
            )
    return lines


def _indicator(t: dict[str, Any], row: dict[str, Any], at: int) -> list[str]:
    """One indicator's lines: a metric's figures and rule, or the marks and the sum."""
    if row.get("kind") == "metric":
        return [metric_line(row, at)]
    marks, notes = combination(t, row)
    lines = [
        _(
            "• {name} (weight {weight}): {marks} → {weight} × {norm} ÷ 100 = {points} "
            "points, {lost} points lost"
        ).format(
            name=row["name"],
            marks=marks,
            weight=render.score(row["weight"]),
            norm=fig(row["norm"]),
            points=num(row["points"], at),
            lost=num(row["lost"], at),
        )
    ]
    lines.extend("   " + note for note in notes)
    lines.extend(comments(t, row))
    return lines


def _section(t: dict[str, Any], section: dict[str, Any], at: int) -> list[str]:
    """A section (考核维度): its score and points in the total, whether a missing role was
    re-weighted within it, then its indicators (weights are shares of the section)."""
    lines = [
        _(
            "{name} (section weight {weight}): score {score} → {weight} × {score} ÷ 100 = "
            "{points} points"
        ).format(
            name=section["name"],
            weight=render.score(section["weight"]),
            score=fig(section["score"]),
            points=num(section["points"], at),
        )
    ]
    roles = section["roles"]
    if roles:
        lines.append(
            "   "
            + _("Scored by {weights}.").format(
                weights=_(", ").join(f"{r['name']} {render.score(r['weight'])}" for r in roles)
            )
        )
    else:
        lines.append("   " + _("From business data: nobody scores it."))
    if section.get("reweighted"):
        missing = [r for r in roles if not r["present"] and Decimal(r["weight"]) > 0]
        present = [r for r in roles if r["present"] and Decimal(r["weight"]) > 0]
        used = sum((Decimal(r["weight"]) for r in present), ZERO)
        counted = _(", ").join(
            _("{role} counts {share}").format(
                role=r["name"], share=fig(Decimal(r["weight"]) * 100 / used) + "%"
            )
            for r in present
        )
        lines.append(
            "   "
            + _("Re-weighted within this section only: {missing} did not score; {counted}.").format(
                missing=_(", ").join(r["name"] for r in missing), counted=counted
            )
        )
    # The marks are combined by this section's roles and weights.
    inner = dict(t, roles=roles, rule="reweight_present_roles_in_section")
    for row in t["indicators"]:
        if row.get("section") == section["code"]:
            lines.extend("  " + line for line in _indicator(inner, row, at))
    return lines


def total(t: dict[str, Any]) -> list[str]:
    """The sum line by line, and the total's rounding: what it was, the rule, the move."""
    at = shown_places(t)
    shown = int(t.get("score_places", 2))
    # With sections, the weighted score is the sum of the sections' points.
    points = [row["points"] for row in t.get("sections") or t["indicators"]]
    lines = [
        _("Weighted score: {terms} = {weighted}").format(
            terms=" + ".join(num(p, at) for p in points) or "0",
            weighted=num(t["weighted"], at),
        )
    ]
    bonus, deduction = Decimal(t["bonus_applied"]), Decimal(t["deduction_applied"])
    if bonus or deduction:
        lines.append(
            _("Total before rounding: {weighted} + {bonus} − {deduction} = {raw}").format(
                weighted=num(t["weighted"], at),
                bonus=num(bonus, at),
                deduction=num(deduction, at),
                raw=num(t["total_raw"], at),
            )
        )
    raw, final = Decimal(t["total_raw"]), Decimal(t["total"])
    rule = t.get("total_rounding")
    if raw != final:
        moved = final - raw
        text = (
            _(
                "Rounded to {places} decimal places by {rule}: {raw} → {total} "
                "(rounding moved the total by {moved})."
            )
            if rule
            else _(
                "Rounded to {places} decimal places: {raw} → {total} "
                "(rounding moved the total by {moved})."
            )
        )
        lines.append(
            text.format(
                places=shown,
                rule=render.rounding(rule) if rule else "",
                raw=render.score(raw),
                total=render.points(final, shown),
                moved=("+" if moved > 0 else "−") + render.score(abs(moved)),
            )
        )
    elif rule:
        lines.append(
            _(
                "Total: {total} (kept to {places} decimal places by {rule}; no rounding needed)."
            ).format(total=render.points(final, shown), places=shown, rule=render.rounding(rule))
        )
    else:
        lines.append(_("Total: {total}").format(total=render.points(final, shown)))
    return lines


def _points(t: dict[str, Any]) -> dict[str, tuple[str, Decimal]]:
    """Points per indicator code, with bonuses and deductions as two more lines."""
    # With sections an indicator's points are within its section: its part of the total
    # is that times the section's weight.
    share = {sec["code"]: Decimal(sec["weight"]) / 100 for sec in t.get("sections", [])}
    out = {
        row["code"]: (row["name"], Decimal(row["points"]) * share.get(row.get("section"), 1))
        for row in t["indicators"]
    }
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
    note = no_result_note(ctx, found) if result_id is None else ""
    parts = [
        [
            _("Why your performance pay for {label} is {pay}").format(
                label=t["period"]["label"], pay=render.money(t["pay"]["pay"])
            )
        ],
        formula(t),
        calibration(t),
        grade(t),
        indicators(t),
        total(t),
        change(t, expand(ctx.session, prev.trace) if prev else None),
    ]
    if note:
        parts.insert(0, [note])
    if adjusted := adjustment_lines(ctx.session, found):
        parts.append(adjusted)
    extra, rows = appeal.panel(ctx, found)
    if extra:
        parts.append(extra)
    return Reply(
        "\n\n".join("\n".join(p) for p in parts if p),
        [
            *rows,
            [ctx.button(_("What if…"), f"wi:{found.id}")],
            [ctx.button(_("My score"), f"res:{found.id}"), ctx.button(_("Menu"), "menu")],
        ],
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
