"""Confirming or appealing a published result in chat, withdrawing, following the
appeal; and, for the head of the appellant's institution or HR, deciding it.

Buttons carry only ids; every step re-checks on the server whose result or appeal it
is, whether the window is open and who may decide (bot.appraisal.appeals). A refusal is audited
and says nothing of anyone's figures.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.appraisal import appeals
from bot.appraisal.values import visible
from bot.chat.context import Ctx
from bot.infra import render
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.message import Button, Reply
from bot.notify import appeal_notices
from models import (
    Appeal,
    AppealState,
    Employee,
    Indicator,
    Period,
    Result,
    ScoringTask,
    TaskState,
)

SHOWN = 1000  # characters of a reason or answer shown on one screen


def _text(text: str) -> str:
    """An appeal's text as shown: as typed (the platforms show it as plain text, never
    as markup), shortened on a phone screen."""
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def panel(ctx: Ctx, result: Result) -> tuple[list[str], list[list[Button]]]:
    """Under a result or its explanation: the window, this person's confirmation or
    appeal, and the buttons that fit."""
    period = result.period
    me = ctx.employee
    lines: list[str] = []
    rows: list[list[Button]] = []
    latest = appeals.latest_appeal(ctx.session, period.id, me.id)
    if latest is not None:
        lines.append(status_line(latest))
        if latest.state in (AppealState.OPEN, AppealState.REVISING):
            row = [ctx.button(_("Appeal status"), f"apst:{latest.id}")]
            if latest.state == AppealState.OPEN:
                row.append(ctx.button(_("Withdraw appeal"), f"wd:{latest.id}"))
            rows.append(row)
        else:
            rows.append([ctx.button(_("Appeal status"), f"apst:{latest.id}")])
    is_open = appeals.is_open(period, ctx.now)
    mine_open = latest is not None and latest.state in (AppealState.OPEN, AppealState.REVISING)
    if appeals.confirmed(ctx.session, period.id, me.id):
        lines.append(_("You confirmed this result."))
    elif is_open and not mine_open:
        assert period.window_closes_at is not None
        lines.append(
            _(
                "You may confirm or appeal this result until {when}. If you do neither, it "
                "counts as confirmed when the window closes."
            ).format(when=render.when(period.window_closes_at, ctx.tz))
        )
        rows.append(
            [
                ctx.button(_("Confirm result"), f"cf:{result.id}"),
                ctx.button(_("Appeal"), f"appeal:{result.id}"),
            ]
        )
    return lines, rows


def status_line(appeal: Appeal) -> str:
    line = _("Your appeal for {label}: {state}.").format(
        label=appeal.period.label, state=appeals.state_name(appeal.state)
    )
    if appeal.state == AppealState.UPHELD:
        line += " " + _("Answer from {role}: “{answer}”").format(
            role=appeals.role_name(appeal.decided_as), answer=_text(appeal.answer)
        )
    elif appeal.state == AppealState.REVISED:
        line += " " + appeal_notices.revised_text(appeal)
    return line


def _mine(ctx: Ctx, result_id: int) -> Result | Reply:
    result = ctx.session.get(Result, result_id)
    if result is None or result.employee_id != ctx.employee.id:
        return ctx.refuse("result not the speaker's", "result", result_id)
    return result


def _refused(ctx: Ctx, exc: Refused, entity: str, entity_id: int | None) -> Reply:
    """A refused step: audited, answered with the reason (which names no figure)."""
    return ctx.refuse(f"appeal step refused: {str(exc)[:80]}", entity, entity_id, str(exc))


def confirm(ctx: Ctx, result_id: int) -> Reply:
    result = _mine(ctx, result_id)
    if isinstance(result, Reply):
        return result
    try:
        done = appeals.confirm(ctx.session, ctx.now, ctx.employee, result.period)
    except Refused as exc:
        return _refused(ctx, exc, "result", result_id)
    if not done:
        return ctx.refuse(
            "confirmed twice",
            "result",
            result_id,
            _("You have already confirmed your result for {label}.").format(
                label=result.period.label
            ),
        )
    return Reply(
        _("Thank you: your result for {label} is confirmed.").format(label=result.period.label),
        [[ctx.button(_("My score"), f"res:{result.id}"), ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


def _inds(ctx: Ctx, period: Period) -> list[Indicator]:
    return list(
        ctx.session.scalars(
            select(Indicator)
            .where(Indicator.scheme_id == period.scheme_id)
            .order_by(Indicator.position)
        )
    )


def start(ctx: Ctx, result_id: int, toggled: int | None = None) -> Reply:
    """Ask for the reason; the indicators it concerns may be tapped first."""
    result = _mine(ctx, result_id)
    if isinstance(result, Reply):
        return result
    period = result.period
    try:
        appeals.check_may_appeal(ctx.session, ctx.now, ctx.employee, period)
    except Refused as exc:
        ctx.update(appeal=None)
        return _refused(ctx, exc, "result", result_id)
    state = ctx.state.get("appeal") or {}
    chosen: list[int] = list(state.get("inds", [])) if state.get("result") == result.id else []
    inds = _inds(ctx, period)
    if toggled is not None:
        if toggled not in {i.id for i in inds}:
            return ctx.refuse("indicator not in the scheme", "indicator", toggled)
        chosen = [i for i in chosen if i != toggled] if toggled in chosen else [*chosen, toggled]
    ctx.update(appeal={"result": result.id, "inds": chosen})
    names = [i.name for i in inds if i.id in chosen]
    lines = [
        _("Appeal your result for {label}.").format(label=period.label),
        _(
            "Type the reason in one message (required). If it concerns particular "
            "indicators, tap them first."
        ),
    ]
    if names:
        lines.append(_("Indicators: {names}").format(names=_(", ").join(names)))
    rows = [
        [ctx.button(("✅ " if i.id in chosen else "") + i.name, f"ai:{result.id}:{i.id}")]
        for i in inds
    ]
    rows.append([ctx.button(_("Cancel"), "apx")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def cancel(ctx: Ctx) -> Reply:
    ctx.update(appeal=None, answer=None, keep=None)
    return Reply(_("Nothing was sent."), [[ctx.button(_("Menu"), "menu")]], ctx.tapped)


def typed(ctx: Ctx, text: str) -> Reply:
    """The reason of an appeal being written, or a decider's answer."""
    if "answer" in ctx.state:
        return _answer_typed(ctx, int(ctx.state["answer"]), text)
    if "keep" in ctx.state:
        return _keep_typed(ctx, int(ctx.state["keep"]), text)
    state = ctx.state["appeal"]
    result = _mine(ctx, int(state["result"]))
    if isinstance(result, Reply):
        ctx.update(appeal=None)
        return result
    period = result.period
    codes = [i.code for i in _inds(ctx, period) if i.id in state.get("inds", [])]
    try:
        appeals.clean_reason(text)
    except Refused as exc:
        # Stay in the step: the person types the reason again.
        return Reply(str(exc), [[ctx.button(_("Cancel"), "apx")]])
    try:
        appeal = appeals.file_appeal(ctx.session, ctx.now, ctx.employee, period, text, codes)
    except Refused as exc:
        ctx.update(appeal=None)
        return _refused(ctx, exc, "result", result.id)
    ctx.update(appeal=None)
    appeal_notices.appeal_filed(ctx.session, ctx.now, appeal)
    return Reply(
        _(
            "Your appeal for {label} is filed. The head of your institution and HR will "
            "decide by {due}; you will be told, and can follow it here."
        ).format(label=period.label, due=render.when(appeal.due_at, ctx.tz)),
        [
            [
                ctx.button(_("Appeal status"), f"apst:{appeal.id}"),
                ctx.button(_("Withdraw appeal"), f"wd:{appeal.id}"),
            ],
            [ctx.button(_("Menu"), "menu")],
        ],
    )


def withdraw(ctx: Ctx, appeal_id: int) -> Reply:
    try:
        appeal = appeals.withdraw(ctx.session, ctx.now, ctx.employee, appeal_id)
    except Refused as exc:
        return _refused(ctx, exc, "appeal", appeal_id)
    return Reply(
        _("Your appeal for {label} is withdrawn.").format(label=appeal.period.label),
        [[ctx.button(_("My score"), "my"), ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


def _indicator_names(ctx: Ctx, appeal: Appeal) -> str:
    if not appeal.indicators:
        return _("the result as a whole")
    names = dict(
        ctx.session.execute(
            select(Indicator.code, Indicator.name).where(
                Indicator.scheme_id == appeal.period.scheme_id,
                Indicator.code.in_(appeal.indicators),
            )
        )
        .tuples()
        .all()
    )
    return _(", ").join(names.get(c, c) for c in appeal.indicators)


def details(ctx: Ctx, appeal: Appeal) -> list[str]:
    return [
        _("Appeal for {label}, filed {when}: {state}.").format(
            label=appeal.period.label,
            when=render.when(appeal.created_at, ctx.tz),
            state=appeals.state_name(appeal.state),
        ),
        _("Concerns: {what}").format(what=_indicator_names(ctx, appeal)),
        _("Reason: {reason}").format(reason=_text(appeal.reason)),
    ]


def status(ctx: Ctx, appeal_id: int) -> Reply:
    """The employee's own appeal: what they wrote, where it stands, the answer."""
    appeal = ctx.session.get(Appeal, appeal_id)
    if appeal is None or appeal.employee_id != ctx.employee.id:
        return ctx.refuse("appeal not the speaker's", "appeal", appeal_id)
    lines = details(ctx, appeal)
    if appeal.state == AppealState.OPEN:
        lines.append(
            _("A decision is due by {due}.").format(due=render.when(appeal.due_at, ctx.tz))
        )
    elif appeal.state != AppealState.WITHDRAWN:
        lines.append(status_line(appeal))
    rows = []
    if appeal.state == AppealState.OPEN:
        rows.append([ctx.button(_("Withdraw appeal"), f"wd:{appeal.id}")])
    rows.append([ctx.button(_("My score"), "my"), ctx.button(_("Menu"), "menu")])
    return Reply("\n".join(lines), rows, ctx.tapped)


# ---- deciding ---------------------------------------------------------------------


def _decidable(ctx: Ctx, appeal_id: int) -> tuple[Appeal, str] | Reply:
    appeal = ctx.session.get(Appeal, appeal_id)
    role = appeals.decider_role(ctx.session, ctx.employee, appeal) if appeal else None
    if appeal is None or role is None:
        return ctx.refuse("appeal not the speaker's to decide", "appeal", appeal_id)
    return appeal, role


def _waiting(ctx: Ctx) -> list[Appeal]:
    return [
        a
        for a in ctx.session.scalars(
            select(Appeal)
            .where(Appeal.state == AppealState.OPEN)
            .join(Employee, Employee.id == Appeal.employee_id)
            .where(Employee.group_id == ctx.employee.group_id)
            .order_by(Appeal.due_at, Appeal.id)
        )
        if appeals.decider_role(ctx.session, ctx.employee, a)
    ]


def _rescoring(ctx: Ctx) -> list[Appeal]:
    """Appeals the speaker may decide whose revision still waits for a scorer."""
    return [
        a
        for a in ctx.session.scalars(
            select(Appeal)
            .where(Appeal.state == AppealState.REVISING)
            .join(Employee, Employee.id == Appeal.employee_id)
            .where(Employee.group_id == ctx.employee.group_id)
            .order_by(Appeal.due_at, Appeal.id)
        )
        if appeals.decider_role(ctx.session, ctx.employee, a)
    ]


def rescoring(ctx: Ctx) -> int:
    return len(_rescoring(ctx))


def waiting(ctx: Ctx) -> int:
    """How many open appeals wait for the speaker's decision."""
    return len(_waiting(ctx))


def to_decide(ctx: Ctx) -> Reply:
    """The open appeals the speaker may decide, soonest due first."""
    found = _waiting(ctx)
    again = _rescoring(ctx)
    if not found and not again:
        return Reply(
            _("No appeal waits for your decision."),
            [[ctx.button(_("Menu"), "menu")]],
            ctx.tapped,
        )
    lines = [_("Appeals waiting for your decision:")] if found else []
    rows = []
    for a in found[:10]:
        lines.append(
            _("{name} ({number}), {label}, due {due}").format(
                name=a.employee.name,
                number=a.employee.number,
                label=a.period.label,
                due=render.when(a.due_at, ctx.tz),
            )
        )
        rows.append([ctx.button(f"{a.employee.name} · {a.period.label}", f"ap:{a.id}")])
    if again:
        lines.append(_("Decided, waiting for a re-score (finalizing waits for them):"))
        for a in again[:10]:
            lines.append(
                _("{name} ({number}), {label}").format(
                    name=a.employee.name, number=a.employee.number, label=a.period.label
                )
            )
            rows.append([ctx.button(f"{a.employee.name} · {a.period.label}", f"ap:{a.id}")])
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def view(ctx: Ctx, appeal_id: int) -> Reply:
    """An appeal for its decider: who, the result, the reason; uphold or revise."""
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        return found
    appeal, _role = found
    who = appeal.employee
    result = ctx.session.scalar(
        select(Result).where(
            Result.period_id == appeal.period_id, Result.employee_id == appeal.employee_id
        )
    )
    lines = [f"{who.name} ({who.number})", *details(ctx, appeal)]
    if result is not None:
        lines.append(
            _("Result: total {total}, grade {grade}, performance pay {pay}.").format(
                total=render.points(result.total),
                grade=result.grade,
                pay=render.money(result.pay),
            )
        )
    rows = []
    if appeal.state == AppealState.OPEN:
        lines.append(_("Due by {due}.").format(due=render.when(appeal.due_at, ctx.tz)))
        rows.append(
            [
                ctx.button(_("Uphold with an answer"), f"up:{appeal.id}"),
                ctx.button(_("Revise: reopen scoring"), f"rv:{appeal.id}"),
            ]
        )
    elif appeal.state == AppealState.REVISING:
        scorers = _scorers_waiting(ctx, appeal)
        if scorers:
            lines.append(
                _("Being re-scored: waiting for {scorers} to submit again.").format(
                    scorers=_(", ").join(scorers)
                )
            )
            rows.append([ctx.button(_("Keep the original scores"), f"ko:{appeal.id}")])
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def _scorers_waiting(ctx: Ctx, appeal: Appeal) -> list[str]:
    return sorted(
        set(
            ctx.session.scalars(
                select(Employee.name)
                .join(ScoringTask, ScoringTask.scorer_id == Employee.id)
                .where(
                    ScoringTask.appeal_id == appeal.id,
                    ScoringTask.state != TaskState.SUBMITTED,
                )
            )
        )
    )


def keep_start(ctx: Ctx, appeal_id: int) -> Reply:
    """Close a revision whose scorers do not submit again: asks for the reason."""
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        return found
    appeal, _role = found
    scorers = _scorers_waiting(ctx, appeal)
    if appeal.state != AppealState.REVISING or not scorers:
        return ctx.refuse(
            "appeal not being re-scored",
            "appeal",
            appeal_id,
            _("This appeal is {state}: there is no revision to close.").format(
                state=appeals.state_name(appeal.state)
            ),
        )
    ctx.update(keep=appeal.id, answer=None, appeal=None)
    return Reply(
        _(
            "Close the re-scoring of {name} without {scorers}: their scores from before it "
            "count again and the result stays as it was. Type the reason for {name} in one "
            "message."
        ).format(name=appeal.employee.name, scorers=_(", ").join(scorers)),
        [[ctx.button(_("Cancel"), "apx")]],
        ctx.tapped,
    )


def _keep_typed(ctx: Ctx, appeal_id: int, text: str) -> Reply:
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        ctx.update(keep=None)
        return found
    appeal, role = found
    try:
        appeals.keep_original(
            ctx.session, ctx.now, appeal, text, appeals.Actor(role, ctx.employee.id)
        )
    except Refused as exc:
        if appeal.state == AppealState.REVISING and not visible(text):
            return Reply(str(exc), [[ctx.button(_("Cancel"), "apx")]])
        ctx.update(keep=None)
        return _refused(ctx, exc, "appeal", appeal_id)
    ctx.update(keep=None)
    appeal_notices.decided(ctx.session, ctx.now, appeal, _result_id(ctx, appeal))
    return Reply(
        _("Closed: {name}'s result stays as it was, and they are told your reason.").format(
            name=appeal.employee.name
        )
        if appeal.state == AppealState.UPHELD
        else _("Closed: {name}'s result is recomputed with the scores submitted again.").format(
            name=appeal.employee.name
        ),
        [[ctx.button(_("Appeals"), "aps"), ctx.button(_("Menu"), "menu")]],
    )


def uphold_start(ctx: Ctx, appeal_id: int) -> Reply:
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        return found
    appeal, _role = found
    if appeal.state != AppealState.OPEN:
        return ctx.refuse(
            "appeal decided already",
            "appeal",
            appeal_id,
            _("This appeal is {state}: it has been decided or withdrawn.").format(
                state=appeals.state_name(appeal.state)
            ),
        )
    ctx.update(answer=appeal.id, appeal=None)
    return Reply(
        _("Type your answer to {name} in one message: the result stands, because …").format(
            name=appeal.employee.name
        ),
        [[ctx.button(_("Cancel"), "apx")]],
        ctx.tapped,
    )


def _answer_typed(ctx: Ctx, appeal_id: int, text: str) -> Reply:
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        ctx.update(answer=None)
        return found
    appeal, role = found
    actor = appeals.Actor(role, ctx.employee.id)
    try:
        appeals.uphold(ctx.session, ctx.now, appeal, text, actor)
    except Refused as exc:
        if appeal.state == AppealState.OPEN:
            return Reply(str(exc), [[ctx.button(_("Cancel"), "apx")]])
        ctx.update(answer=None)
        return _refused(ctx, exc, "appeal", appeal_id)
    ctx.update(answer=None)
    result_id = _result_id(ctx, appeal)
    appeal_notices.decided(ctx.session, ctx.now, appeal, result_id)
    return Reply(
        _("Upheld: {name} is told your answer.").format(name=appeal.employee.name),
        [[ctx.button(_("Appeals"), "aps"), ctx.button(_("Menu"), "menu")]],
    )


def _result_id(ctx: Ctx, appeal: Appeal) -> int:
    return (
        ctx.session.scalar(
            select(Result.id).where(
                Result.period_id == appeal.period_id, Result.employee_id == appeal.employee_id
            )
        )
        or 0
    )


def revise(ctx: Ctx, appeal_id: int) -> Reply:
    """Reopen the scoring of the indicators the appeal names for their scorers."""
    found = _decidable(ctx, appeal_id)
    if isinstance(found, Reply):
        return found
    appeal, role = found
    try:
        tasks = appeals.revise(
            ctx.session, ctx.now, appeal, None, appeals.Actor(role, ctx.employee.id)
        )
    except Refused as exc:
        return _refused(ctx, exc, "appeal", appeal_id)
    appeal_notices.tasks_reopened(ctx.session, ctx.now, tasks)
    appeal_notices.decided(ctx.session, ctx.now, appeal, _result_id(ctx, appeal))
    scorers = sorted({t.scorer.name for t in tasks})
    return Reply(
        _(
            "Revising: the scoring of {name} is reopened for {scorers}. The result is "
            "recomputed when they submit again."
        ).format(name=appeal.employee.name, scorers=_(", ").join(scorers)),
        [[ctx.button(_("Appeals"), "aps"), ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )
