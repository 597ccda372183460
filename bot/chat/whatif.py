""" "What if" in chat: "如果质量90、态度85，我的绩效工资是多少", or 试算 under the explanation,
then an indicator and a value. Worked out by `bot.appraisal.whatif` from the stored scheme version
and trace; the answer says plainly that it is a hypothesis and nothing changes.

Only the speaker's own published result, or, for a head, the latest computed result of
one of the people of an institution they head (during calibration too). Buttons name the
result and the indicator; each tap checks both again, and refusals are audited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import String, func, literal, select

from bot.appraisal import values, whatif
from bot.chat import menu
from bot.chat.context import Ctx
from bot.chat.myscore import VISIBLE, find
from bot.infra import render
from bot.infra.i18n import _
from bot.infra.message import Button, Reply
from models import Employee, Indicator, IndicatorKind, Period, PeriodState, Result

START = "wi"  # wi:result → pick an indicator; wi:result:indicator → pick a value
VALUE = "wv"  # wv:result:indicator:value
# What a head may look at: results computed and being calibrated, or published.
HEAD_VISIBLE = (PeriodState.SCORING_CLOSED, *VISIBLE)
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _ascii(word: str) -> bool:
    return word.isascii()


def asked(text: str, indicators: Sequence[Indicator]) -> list[tuple[Indicator, str | None]]:
    """The indicators `text` names (by name, or by code as a word) in the order named,
    each with the value typed after it (a number or a rating's level), or None."""
    t = values.normal(text)
    low = t.lower()
    found: list[tuple[int, int, Indicator]] = []
    names = sorted(
        ((word, ind) for ind in indicators for word in {ind.name, ind.code} if word),
        key=lambda pair: -len(pair[0]),
    )
    for word, ind in names:
        if _ascii(word):
            spans = [
                m.span()
                for m in re.finditer(
                    rf"(?<![A-Za-z0-9_]){re.escape(word.lower())}(?![A-Za-z_])", low
                )
            ]
        else:
            spans = [m.span() for m in re.finditer(re.escape(word), t)]
        for start, end in spans:
            if any(start < e and s < end for s, e, _i in found):
                continue
            found.append((start, end, ind))
    found.sort(key=lambda f: f[0])
    out: list[tuple[Indicator, str | None]] = []
    seen: set[int] = set()
    for n, (_start, end, ind) in enumerate(found):
        if ind.id in seen:
            continue
        seen.add(ind.id)
        upto = found[n + 1][0] if n + 1 < len(found) else len(t)
        segment = t[end:upto]
        value: str | None = None
        if ind.kind == IndicatorKind.RATING and ind.levels:
            labels = sorted((str(label) for label, _p in ind.levels), key=len, reverse=True)
            hit = [(segment.find(label), label) for label in labels if label in segment]
            if hit:
                value = min(hit)[1]
        if value is None and (number := _NUMBER.search(segment)):
            value = number.group(0)
        out.append((ind, value))
    return out


def _named(ctx: Ctx, text: str) -> Employee | None:
    """Another employee whose name the text contains (the longest name), among the people
    of the speaker's institution and of those they head: the only people a what-if can
    be about or be refused for. Looked up by institution (indexed), not across the group:
    every answer names whose result it is, so a name from elsewhere is never mistaken."""
    me = ctx.employee
    places = {me.institution_id, *(inst.id for inst in menu.headed(ctx))}
    return ctx.session.scalar(
        select(Employee)
        .where(
            Employee.institution_id.in_(places),
            Employee.id != me.id,
            func.length(Employee.name) >= 2,
            literal(text, String).contains(Employee.name, autoescape=False),
        )
        .order_by(func.length(Employee.name).desc(), Employee.id)
        .limit(1)
    )


def _heads(ctx: Ctx, employee: Employee) -> bool:
    return any(inst.id == employee.institution_id for inst in menu.headed(ctx))


def _latest_for_head(ctx: Ctx, employee: Employee) -> Result | None:
    return ctx.session.scalar(
        select(Result)
        .join(Period, Period.id == Result.period_id)
        .where(Result.employee_id == employee.id, Period.state.in_(HEAD_VISIBLE))
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )


def _result(ctx: Ctx, result_id: int) -> Result | Reply:
    """A result the speaker may ask about: their own published one, or one of their
    institution's people's (as its head) computed or published; else an audited refusal."""
    result = ctx.session.get(Result, result_id)
    if result is None:
        return ctx.refuse("what-if on a result that does not exist", "result", result_id)
    if result.employee_id == ctx.employee.id:
        if result.period.state in VISIBLE:
            return result
        return ctx.refuse("what-if on an unpublished result", "result", result_id)
    if result.period.state in HEAD_VISIBLE and _heads(ctx, result.employee):
        return result
    return ctx.refuse("what-if on someone else's result", "result", result_id)


def _indicators(ctx: Ctx, result: Result) -> dict[int, Indicator]:
    return whatif.indicator_rows(whatif.scheme_of(ctx.session, result.trace))


def _buttons(ctx: Ctx, result: Result) -> list[list[Button]]:
    rows = [[ctx.button(_("What if…"), f"{START}:{result.id}")]]
    if result.employee_id == ctx.employee.id:
        rows.append([ctx.button(_("Why is my pay this amount"), f"why:{result.id}")])
    rows.append([ctx.button(_("Menu"), "menu")])
    return rows


def _shown(ind: Indicator, value: Decimal | str) -> str:
    """A value as the form shows it, with a rating's level named."""
    v = Decimal(value)
    if ind.kind == IndicatorKind.RATING and ind.levels:
        for label, points in ind.levels:
            if Decimal(str(points)) == v:
                return f"{label} ({render.score(v)})"
    return values.shown(ind, v)


def answer(ctx: Ctx, result: Result, chosen: dict[int, Decimal]) -> Reply:
    """The hypothesis worked out and said, clearly marked as one."""
    ctx.update(whatif=None)
    found = whatif.what_if(ctx.session, result, chosen)
    rows = _indicators(ctx, result)
    places = int(found.trace.get("score_places", 2))
    before, after = found.before, found.after
    lines = [_("What if (a hypothetical: nothing is changed or stored).")]
    if result.employee_id != ctx.employee.id:
        person = result.employee
        lines.append(_("For {name} ({number}):").format(name=person.name, number=person.number))
    said = _(", ").join(
        _("{name} were {value} (marked {before})").format(
            name=c.indicator.name,
            value=_shown(rows[c.indicator.id], c.value),
            before="/".join(render.score(v) for v in c.before) or "—",
        )
        for c in found.changes
    )
    lines.append(
        _("{label}, if {changes}:").format(label=found.trace["period"]["label"], changes=said)
    )
    lines.append(
        _("Total {old} → {new} ({diff})").format(
            old=render.points(before.total, places),
            new=render.points(after.total, places),
            diff=render.signed(found.total_difference, places),
        )
    )
    lines.append(
        _("Grade {old} → {new}, coefficient {old_c} → {new_c}").format(
            old=render.grade(before.grade, before.label),
            new=render.grade(after.grade, after.label),
            old_c=render.score(before.coefficient),
            new_c=render.score(after.coefficient),
        )
    )
    lines.append(
        _("Performance pay {old} → {new} (difference {diff})").format(
            old=render.money(before.pay),
            new=render.money(after.pay),
            diff=render.signed_money(found.pay_difference),
        )
    )
    if found.calibrated:
        lines.append(
            _(
                "This result was calibrated; the comparison is with the result as computed "
                "before calibration."
            )
        )
    lines.append(
        _("Worked out with the scheme and marks of {label}, as stored.").format(
            label=found.trace["period"]["label"]
        )
    )
    return Reply("\n".join(lines), _buttons(ctx, result), ctx.tapped)


def _checked(
    ctx: Ctx, result: Result, wanted: list[tuple[Indicator, str | None]]
) -> dict[int, Decimal] | Reply:
    chosen: dict[int, Decimal] = {}
    for ind, text in wanted:
        if text is None:
            return ask_value(ctx, result.id, ind.id)
        try:
            chosen[ind.id] = values.check(ind, text)
        except values.BadValue as bad:
            return Reply(
                _("{name}: {reason}").format(name=ind.name, reason=str(bad)),
                [
                    [ctx.button(_("What if…"), f"{START}:{result.id}:{ind.id}")],
                    [ctx.button(_("Menu"), "menu")],
                ],
                ctx.tapped,
            )
    return chosen


def question(ctx: Ctx, text: str) -> Reply:
    """A typed "what if": about the speaker's own latest published result, or (a head)
    about a named person of their institution."""
    other = _named(ctx, text)
    if other is not None:
        if not _heads(ctx, other):
            return ctx.refuse(
                "what-if about someone else",
                "employee",
                other.id,
                text=_("I can only work out a “what if” on your own result."),
            )
        result = _latest_for_head(ctx, other)
        if result is None:
            return Reply(
                _("{name} has no computed result yet.").format(name=other.name),
                [[ctx.button(_("Menu"), "menu")]],
            )
    else:
        found = find(ctx, None)
        if isinstance(found, Reply):
            return found
        result = found
    wanted = asked(text, list(_indicators(ctx, result).values()))
    if not wanted:
        return pick(ctx, result.id, _("Which indicator? Tap one, or ask such as “如果质量90”."))
    chosen = _checked(ctx, result, wanted)
    if isinstance(chosen, Reply):
        return chosen
    return answer(ctx, result, chosen)


def pick(ctx: Ctx, result_id: int, note: str = "") -> Reply:
    """The indicators of the result's scheme version, one button each."""
    result = _result(ctx, result_id)
    if isinstance(result, Reply):
        return result
    ctx.update(whatif=None)
    inds = sorted(_indicators(ctx, result).values(), key=lambda i: i.position)
    text = _("What if: which indicator would you change? (Nothing is changed or stored.)")
    rows = [[ctx.button(ind.name, f"{START}:{result.id}:{ind.id}")] for ind in inds]
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply(f"{note}\n\n{text}" if note else text, rows, ctx.tapped)


def ask_value(ctx: Ctx, result_id: int, indicator_id: int) -> Reply:
    """The values to choose from (or type one), for one indicator."""
    result = _result(ctx, result_id)
    if isinstance(result, Reply):
        return result
    ind = _indicators(ctx, result).get(indicator_id)
    if ind is None:
        return ctx.refuse("what-if on an indicator not in the scheme", "indicator", indicator_id)
    ctx.update(whatif=[result.id, ind.id])
    rows = [
        [ctx.button(label, f"{VALUE}:{result.id}:{ind.id}:{value}")]
        for label, value in values.choices(ind)
    ]
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply(
        _("What if {name} were…? Tap a value or type one ({range}).").format(
            name=ind.name, range=values.allowed(ind)
        ),
        rows,
        ctx.tapped,
    )


def value_button(ctx: Ctx, result_id: int, indicator_id: int, text: str) -> Reply:
    result = _result(ctx, result_id)
    if isinstance(result, Reply):
        return result
    ind = _indicators(ctx, result).get(indicator_id)
    if ind is None:
        return ctx.refuse("what-if on an indicator not in the scheme", "indicator", indicator_id)
    chosen = _checked(ctx, result, [(ind, text)])
    return chosen if isinstance(chosen, Reply) else answer(ctx, result, chosen)


def typed(ctx: Ctx, text: str) -> Reply | None:
    """A value typed after picking an indicator; None when the text is not one (the
    pick is dropped and the text is taken as a question)."""
    result_id, indicator_id = ctx.state["whatif"]
    result = _result(ctx, int(result_id))
    if isinstance(result, Reply):
        ctx.update(whatif=None)
        return result
    ind = _indicators(ctx, result).get(int(indicator_id))
    if ind is None or not (values.looks_numeric(text) or values.level_label(ind, text)):
        ctx.update(whatif=None)
        return None
    chosen = _checked(ctx, result, [(ind, text)])
    return chosen if isinstance(chosen, Reply) else answer(ctx, result, chosen)
