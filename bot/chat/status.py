"""Short progress answers: a head's institution today, HR's periods at a glance."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from bot.chat import render
from bot.chat.context import Ctx
from bot.chat.menu import headed, hr_scope
from bot.chat.types import Reply
from bot.i18n import _
from bot.periods import state_name
from bot.progress import group_progress
from models import Employee, Period, ScoringTask, TaskState


def progress(ctx: Ctx) -> Reply:
    """Completion, yesterday's figure and rank for each institution the speaker heads."""
    mine = headed(ctx)
    if not mine:
        return ctx.refuse("progress: not a head", text=_("Progress is shown to heads only."))
    group = group_progress(ctx.session, ctx.employee.group_id, ctx.now)
    lines = []
    for inst in mine:
        p = group.of(inst.id)
        if p is None or not p.now.total:
            lines.append(_("{name}: nothing to score right now.").format(name=inst.name))
            continue
        lines.append(
            _(
                "{name}: {done}/{total} scored ({rate}%), {before} a day ago; "
                "rank {rank} of {count} institutions."
            ).format(
                name=inst.name,
                done=p.now.done,
                total=p.now.total,
                rate=p.now.rate,
                before=p.yesterday.done,
                rank=p.rank,
                count=len(group.institutions),
            )
        )
        if p.deadline:
            lines.append(_("Deadline: {when}").format(when=render.when(p.deadline, ctx.tz)))
    return Reply(
        _("Today's progress") + "\n" + "\n".join(lines),
        [[ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


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
