"""A scorer's tasks: the list with done / draft / not started marks, "next person", and the
server-side check that a task is the speaker's own and still open for scoring."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from bot.chat import render
from bot.chat.context import Ctx
from bot.chat.types import Button, Reply
from bot.i18n import _
from models import Employee, Period, PeriodState, Scheme, ScoringTask, TaskState

PAGE = 10
MARK = {TaskState.SUBMITTED: "✅", TaskState.DRAFT: "✏️", TaskState.PENDING: "⬜"}


class Denied(Exception):
    """The task may not be touched by this speaker now; carries the polite reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def _open(ctx: Ctx) -> list[ScoringTask]:
    """The speaker's tasks in periods open for scoring, in list order."""
    return list(
        ctx.session.scalars(
            select(ScoringTask)
            .join(Period, Period.id == ScoringTask.period_id)
            .join(Employee, Employee.id == ScoringTask.appraisee_id)
            .where(ScoringTask.scorer_id == ctx.employee.id, Period.state == PeriodState.SCORING)
            .options(joinedload(ScoringTask.appraisee), joinedload(ScoringTask.period))
            .order_by(Period.deadline, Period.id, Employee.number, ScoringTask.role_code)
        )
    )


def left(ctx: Ctx) -> tuple[int, int]:
    """(tasks left, all tasks) in periods open for scoring, for the menu button."""
    total, done = ctx.session.execute(
        select(
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
        )
        .join(Period, Period.id == ScoringTask.period_id)
        .where(ScoringTask.scorer_id == ctx.employee.id, Period.state == PeriodState.SCORING)
    ).one()
    return total - done, total


def deadline(ctx: Ctx) -> str | None:
    value = ctx.session.scalar(
        select(func.min(ScoringTask.deadline))
        .join(Period, Period.id == ScoringTask.period_id)
        .where(
            ScoringTask.scorer_id == ctx.employee.id,
            Period.state == PeriodState.SCORING,
            ScoringTask.state != TaskState.SUBMITTED,
        )
    )
    return render.when(value, ctx.tz) if value else None


def show_list(ctx: Ctx, page: int = 0) -> Reply:
    """List the people to score with their marks, progress and deadline; asks whom next."""
    tasks = _open(ctx)
    if not tasks:
        return Reply(
            _("You have nobody to score right now."), [[ctx.button(_("Menu"), "menu")]], ctx.tapped
        )
    lines = []
    for period in dict.fromkeys(t.period for t in tasks):
        mine = [t for t in tasks if t.period_id == period.id]
        done = sum(t.state == TaskState.SUBMITTED for t in mine)
        lines.append(
            _("Period {label}: {done}/{total} done, deadline {deadline}.").format(
                label=period.label,
                done=done,
                total=len(mine),
                deadline=render.when(period.deadline, ctx.tz),
            )
        )
    lines.append(_("✅ done  ✏️ draft  ⬜ not started. Whom do you want to score?"))
    page = max(0, min(page, (len(tasks) - 1) // PAGE))
    rows: list[list[Button]] = [
        [ctx.button(f"{MARK[t.state]} {t.appraisee.name} ({t.appraisee.number})", f"task:{t.id}")]
        for t in tasks[page * PAGE : (page + 1) * PAGE]
    ]
    nav = []
    if page:
        nav.append(ctx.button(_("‹ Previous"), f"list:{page - 1}"))
    if (page + 1) * PAGE < len(tasks):
        nav.append(ctx.button(_("More ›"), f"list:{page + 1}"))
    rows.append([*nav, ctx.button(_("Menu"), "menu")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def next_task(ctx: Ctx) -> ScoringTask | None:
    return next((t for t in _open(ctx) if t.state != TaskState.SUBMITTED), None)


def own(ctx: Ctx, task_id: int) -> ScoringTask:
    """The task, if it is the speaker's and its period is open for scoring."""
    # One round trip for what every form step reads: period, scheme, indicators, answers.
    task = ctx.session.get(
        ScoringTask,
        task_id,
        options=[
            joinedload(ScoringTask.period)
            .joinedload(Period.scheme)
            .selectinload(Scheme.indicators),
            selectinload(ScoringTask.entries),
            joinedload(ScoringTask.appraisee),
        ],
    )
    if task is None or task.scorer_id != ctx.employee.id:
        raise Denied(ctx.refuse("task not the speaker's", "scoring_task", task_id))
    if task.period.state != PeriodState.SCORING:
        raise Denied(
            ctx.refuse(
                "scoring closed",
                "scoring_task",
                task_id,
                _("Scoring for {label} is not open: scores can no longer change.").format(
                    label=task.period.label
                ),
            )
        )
    return task
