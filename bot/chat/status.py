"""HR in chat: the periods at a glance, and what it takes to export the pay sheet (the
export itself runs in the CLI; chat replies carry no files)."""

from __future__ import annotations

import re
import shlex

from sqlalchemy import func, or_, select

from bot.appraisal import export, gaps
from bot.appraisal.periods import state_name
from bot.chat import explain
from bot.chat.context import Ctx
from bot.chat.menu import hr_scope
from bot.infra import render
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.message import Reply
from models import Employee, Institution, Period, PeriodState, ScoringTask, TaskState


def hr_status(ctx: Ctx) -> Reply:
    """The latest periods in HR's scope: state and how much is scored."""
    scope = hr_scope(ctx)
    if not scope:
        return ctx.refuse("status: not HR", text=_("The appraisal status is shown to HR only."))
    q = (
        select(
            Period.label,
            Period.state,
            Period.deadline,
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
        )
        .outerjoin(ScoringTask, ScoringTask.period_id == Period.id)
        .outerjoin(Employee, Employee.id == ScoringTask.appraisee_id)
        .where(Period.group_id == ctx.employee.group_id)
        .group_by(Period.id, Period.label, Period.state, Period.deadline, Period.created_at)
        .order_by(Period.created_at.desc(), Period.id.desc())
        .limit(5)
    )
    if None not in scope:
        insts = [i for i in scope if i is not None]
        q = q.where(or_(Employee.institution_id.in_(insts), ScoringTask.id.is_(None)))
    rows = ctx.session.execute(q).all()
    lines = [
        _("{label} ({state}): {done}/{total} scored, deadline {when}").format(
            label=label,
            state=state_name(state),
            done=done,
            total=total,
            when=render.when(deadline, ctx.tz),
        )
        for label, state, deadline, total, done in rows
    ] or [_("No periods yet.")]
    return Reply(
        _("Appraisal status") + "\n" + "\n".join(lines),
        [[ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


def _word(text: str) -> str:
    """A command-line argument as HR would type it: quoted only when the shell needs it
    (shlex quotes every Chinese name)."""
    return text if re.fullmatch(r"[\w.\-]+", text) else shlex.quote(text)


def _periods_in_scope(ctx: Ctx, scope: list[int | None]) -> list[Period]:
    """HR's periods, newest first: the group's own and those of institutions in scope."""
    q = select(Period).where(Period.group_id == ctx.employee.group_id)
    if None not in scope:
        q = q.where(Period.scope.in_(["group", *(str(i) for i in scope)]))
    return list(ctx.session.scalars(q.order_by(Period.created_at.desc(), Period.id.desc())))


def pay_sheet(ctx: Ctx) -> Reply:
    """ "Export the pay sheet": the newest period that can be exported, how many people
    have an amount and how many not, and the exact command that writes the file."""
    scope = hr_scope(ctx)
    if not scope:
        return ctx.refuse("pay sheet: not HR", text=_("The pay sheet is exported by HR."))
    periods = _periods_in_scope(ctx, scope)
    lines = [_("Pay sheet")]
    ready = next((p for p in periods if p.state in export.EXPORTABLE), None)
    if periods and periods[0] is not ready:
        newest = periods[0]
        lines.append(
            _(
                "Period {label} is {state}: the pay sheet can be exported once scoring is "
                "closed and results are computed."
            ).format(label=newest.label, state=state_name(newest.state))
        )
    if ready is None:
        lines.append(_("No period can be exported yet."))
        return Reply("\n".join(lines), [[ctx.button(_("Menu"), "menu")]], ctx.tapped)
    # An institution's own period, or HR of some institutions only: one sheet each.
    if ready.institution_id is not None:
        wanted: list[Institution | None] = [ctx.session.get(Institution, ready.institution_id)]
    elif None in scope:
        wanted = [None]
    else:
        wanted = list(
            ctx.session.scalars(
                select(Institution)
                .where(Institution.id.in_([i for i in scope if i is not None]))
                .order_by(Institution.name)
            )
        )
    commands = []
    for inst in wanted:
        where = inst.name if inst else _("the whole group")
        try:
            sheet = export.pay_sheet(ctx.session, ready, inst)
        except Refused as exc:
            lines.append(f"{where}: {exc}")
            continue
        lines.append(
            _("{label} ({state}), {where}: {computed} people with an amount.").format(
                label=ready.label,
                state=state_name(ready.state),
                where=where,
                computed=len(sheet.computed),
            )
        )
        if sheet.gaps:
            lines.append(
                _("{count} more people are in the sheet without an amount: {names}").format(
                    count=len(sheet.gaps), names=gaps.named(sheet.gaps, reasons=True)
                )
            )
        command = f"jixiao export pay {_word(ready.label)} --format xlsx"
        if inst is not None:
            command += f" --institution {_word(inst.name)}"
        if ready.state != PeriodState.FINAL:
            command += " --draft"
        commands.append(command)
    if ready.state == PeriodState.SCORING_CLOSED:
        lines.append(
            _("This is a preview: period {label} is not published yet.").format(label=ready.label)
        )
    if commands:
        lines.append(
            _("Files cannot be sent in this chat. To write the sheet, run on the HR computer:")
        )
        lines.extend(commands)
    return Reply("\n".join(lines), [[ctx.button(_("Menu"), "menu")]], ctx.tapped)


def pay_sheet_question(ctx: Ctx) -> Reply:
    """ "工资表", "payroll": HR means the pay sheet; anyone else means their own pay."""
    return pay_sheet(ctx) if hr_scope(ctx) else explain.show(ctx)
