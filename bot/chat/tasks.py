"""A scorer's tasks: the list with done / draft / not started marks, "next person", and the
server-side check that a task is the speaker's own and still open for scoring."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import instance_dict

from bot.appraisal import scheme_parts
from bot.appraisal.appeals import reopened_open
from bot.chat.binding import speaker
from bot.chat.context import Ctx
from bot.infra import render
from bot.infra.i18n import _
from bot.infra.message import Button, Reply
from models import (
    ChatIdentity,
    Employee,
    Period,
    PeriodState,
    Scheme,
    ScoreEntry,
    ScorerRole,
    ScoringTask,
    TaskState,
)
from models.db import flushed, link

PAGE = 10
MARK = {TaskState.SUBMITTED: "✅", TaskState.DRAFT: "✏️", TaskState.PENDING: "⬜"}


class Denied(Exception):
    """The task may not be touched by this speaker now; carries the polite reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def scorable() -> ColumnElement[bool]:
    """Tasks open for scoring: their period's, or reopened after publication by an
    appeal's "revise" decision and not yet submitted again."""
    return or_(
        Period.state == PeriodState.SCORING,
        and_(
            Period.state == PeriodState.PUBLISHED,
            ScoringTask.appeal_id.is_not(None),
            ScoringTask.state != TaskState.SUBMITTED,
        ),
    )


def _open_tasks_of(scorer: int | BindParameter[int]) -> Select[tuple[ScoringTask]]:
    return (
        select(ScoringTask)
        .join(Period, Period.id == ScoringTask.period_id)
        .join(Employee, Employee.id == ScoringTask.appraisee_id)
        .where(ScoringTask.scorer_id == scorer, scorable())
        .order_by(Period.deadline, Period.id, Employee.number, ScoringTask.role_code)
    )


def _open_tasks(ctx: Ctx) -> Select[tuple[ScoringTask]]:
    """The speaker's tasks in periods open for scoring, in list order."""
    return _open_tasks_of(ctx.employee.id)


# "Next person" runs after every Confirm: built once, its cache key is computed once.
_NEXT = (
    _open_tasks_of(bindparam("p_scorer"))
    .with_only_columns(ScoringTask.id)
    .where(ScoringTask.state != TaskState.SUBMITTED)
    .limit(1)
)


def _open(ctx: Ctx) -> list[ScoringTask]:
    return list(
        ctx.session.scalars(
            _open_tasks(ctx).options(
                joinedload(ScoringTask.appraisee), joinedload(ScoringTask.period)
            )
        )
    )


@dataclass(frozen=True, slots=True)
class Left:
    """Tasks left and all tasks in periods open for scoring, and the earliest deadline
    of those left (rendered), for the menu button."""

    left: int
    total: int
    deadline: str | None


def left(ctx: Ctx) -> Left:
    total, done, due = ctx.session.execute(
        select(
            func.count(ScoringTask.id),
            func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
            func.min(ScoringTask.deadline).filter(ScoringTask.state != TaskState.SUBMITTED),
        )
        .join(Period, Period.id == ScoringTask.period_id)
        .where(ScoringTask.scorer_id == ctx.employee.id, scorable())
    ).one()
    return Left(total - done, total, render.when(due, ctx.tz) if due else None)


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
    # When one scorer scores in several roles (a head who is also the direct manager),
    # the same person can be listed twice: the role tells the two apart.
    several = len({t.role_code for t in tasks}) > 1
    rows: list[list[Button]] = [
        [
            ctx.button(
                f"{MARK[t.state]} {who(t)} · {role_name(t)}"
                if several
                else f"{MARK[t.state]} {who(t)}",
                f"task:{t.id}",
            )
        ]
        for t in tasks[page * PAGE : (page + 1) * PAGE]
    ]
    nav = []
    if page:
        nav.append(ctx.button(_("‹ Previous"), f"list:{page - 1}"))
    if (page + 1) * PAGE < len(tasks):
        nav.append(ctx.button(_("More ›"), f"list:{page + 1}"))
    rows.append([*nav, ctx.button(_("Menu"), "menu")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def who(task: ScoringTask) -> str:
    return f"{task.appraisee.name} ({task.appraisee.number})"


def role(task: ScoringTask) -> ScorerRole | None:
    """The scheme's role this task scores in."""
    return next((r for r in task.period.scheme.roles if r.code == task.role_code), None)


def role_name(task: ScoringTask) -> str:
    found = role(task)
    return found.name if found else task.role_code


def next_task(ctx: Ctx) -> int | None:
    """The first task in list order not yet submitted."""
    # An id, not a row to load: by Core, without the ORM's per-query set-up.
    return flushed(ctx.session).execute(_NEXT, {"p_scorer": ctx.employee.id}).scalar()


# What every form step reads, in one round trip: the task with its period, the period's
# scheme, the appraisee and the answers so far (a row per answer; one row with no answer
# when there is none yet). The scheme's indicators and roles come from memory
# (bot.appraisal.scheme_parts). The rows are selected as entities and linked by hand: the
# ORM's joined eager loads did the same but set their loaders up anew at every step, the
# largest share of a step (profiled in docs/performance.md). Built once, so its cache key
# is computed once per process.
_OWN = (
    select(ScoringTask, Period, Scheme, Employee, ScoreEntry)
    .join(Period, Period.id == ScoringTask.period_id)
    .join(Scheme, Scheme.id == Period.scheme_id)
    .join(Employee, Employee.id == ScoringTask.appraisee_id)
    .outerjoin(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
    .where(ScoringTask.id == bindparam("p_task"))
)


def _task(ctx: Ctx, task_id: int) -> ScoringTask | None:
    """The task with its period, scheme, appraisee and answers loaded: as this step read
    it already with the speaker (`speaker_and_form`), else read now."""
    held = ctx.form_task
    if held is not None and held.id == task_id and _read_whole(held):
        return held
    rows = ctx.session.execute(_OWN, {"p_task": task_id}).tuples().all()
    if not rows:
        return None
    return _linked(*rows[0][:4], [entry for *_row, entry in rows if entry is not None])


def _linked(
    task: ScoringTask,
    period: Period,
    scheme: Scheme,
    appraisee: Employee,
    entries: list[ScoreEntry],
) -> ScoringTask:
    link(task, "period", period)
    link(period, "scheme", scheme)
    link(task, "appraisee", appraisee)
    link(task, "entries", entries)
    return task


def _read_whole(task: ScoringTask) -> bool:
    """Whether everything `own` reads of the task is loaded in the session."""
    held = instance_dict(task)
    return all(name in held for name in ("period", "appraisee", "entries")) and (
        "scheme" in instance_dict(held["period"])
    )


# Every message reads who speaks (bot.chat.binding.bound_employee); while a form is open,
# nearly every message then reads the form's task as `own` does. Both in one round trip:
# the speaker's employee, and the task with all `own` reads (nothing when there is none).
_APPRAISEE = aliased(Employee)
_SPEAKER_AND_TASK = (
    select(Employee, ScoringTask, Period, Scheme, _APPRAISEE, ScoreEntry)
    .select_from(ChatIdentity)
    .join(Employee, Employee.id == ChatIdentity.employee_id)
    .outerjoin(ScoringTask, ScoringTask.id == bindparam("p_task"))
    .outerjoin(Period, Period.id == ScoringTask.period_id)
    .outerjoin(Scheme, Scheme.id == Period.scheme_id)
    .outerjoin(_APPRAISEE, _APPRAISEE.id == ScoringTask.appraisee_id)
    .outerjoin(ScoreEntry, ScoreEntry.task_id == ScoringTask.id)
    .where(
        ChatIdentity.platform == bindparam("p_platform"),
        ChatIdentity.external_id == bindparam("p_user"),
        ChatIdentity.revoked_at.is_(None),
    )
)


def speaker_and_form(ctx: Ctx) -> Employee | None:
    """Whom the chat is bound to (`binding.speaker`); with a form open, its task is read
    in the same round trip and kept as `ctx.form_task` for `own`, which still checks it."""
    form = ctx.state.get("form")
    if not isinstance(form, int):
        return speaker(ctx)
    where = {"p_platform": ctx.incoming.platform, "p_user": ctx.incoming.user_id}
    rows = ctx.session.execute(_SPEAKER_AND_TASK, {**where, "p_task": form}).tuples().all()
    if not rows:
        return None
    employee, task, period, scheme, appraisee, _entry = rows[0]
    if task is not None:
        entries = [entry for *_row, entry in rows if entry is not None]
        ctx.form_task = _linked(task, period, scheme, appraisee, entries)
    return employee


def _moved_from(ctx: Ctx, task_id: int) -> bool:
    """Whether HR moved this task away from the speaker (bot.appraisal.reassign); read
    only on a refusal, so a normal step pays nothing for it."""
    from models import AuditEvent

    return any(
        (before or {}).get("scorer", "").startswith(f"{ctx.employee.number} ")
        for before in ctx.session.scalars(
            select(AuditEvent.before).where(
                AuditEvent.action == "task.reassign",
                AuditEvent.entity == "scoring_task",
                AuditEvent.entity_id == task_id,
            )
        )
    )


def own(ctx: Ctx, task_id: int) -> ScoringTask:
    """The task, if it is the speaker's and its period is open for scoring."""
    task = _task(ctx, task_id)
    if task is None or task.scorer_id != ctx.employee.id:
        moved = task is not None and _moved_from(ctx, task_id)
        raise Denied(
            ctx.refuse(
                "task not the speaker's",
                "scoring_task",
                task_id,
                _(
                    "HR has moved scoring {who} to the person who now holds that role: "
                    "this task is no longer yours, and nothing was saved."
                ).format(who=who(task))
                if moved and task is not None
                else "",
            )
        )
    scheme_parts.attach(ctx.session, task.period.scheme)
    if task.period.state != PeriodState.SCORING and not reopened_open(ctx.session, task):
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
