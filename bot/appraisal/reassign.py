"""Move unsubmitted manager and head tasks to whoever holds the role now.

While a period is open for scoring, HR may re-import the org with a new direct manager
or institution head for someone. Their task in that role stays with the old scorer, who
may have left or moved. `move_tasks` gives every pending or draft task of the manager
and head roles to the role's current holder. A draft's answers are dropped: they are the
old scorer's judgement, and the new scorer must not submit them by tapping through. A
submitted task never moves; it is listed so HR can decide (an appeal, or a re-score).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session, aliased

from bot.appraisal.audit import record
from bot.appraisal.periods import state_name
from bot.infra.errors import Refused
from bot.infra.i18n import _
from models import (
    Employee,
    Institution,
    Period,
    PeriodState,
    ScoreEntry,
    ScoringTask,
    TaskState,
)

# The roles whose scorer follows the org; a self-assessment always stays with its person.
MOVABLE = ("manager", "head")
ACTION = "task.reassign"


@dataclass(frozen=True, slots=True)
class Move:
    """One task whose scorer no longer holds its role: who it is for and from whom to whom."""

    task_id: int
    role_code: str
    appraisee: str  # "工号 姓名"
    old: str
    new: str
    new_id: int
    state: TaskState
    dropped: int = 0  # draft answers discarded
    withdrawn: bool = False  # the new holder had this task already


@dataclass(slots=True)
class Moves:
    moved: list[Move] = field(default_factory=list)
    submitted: list[Move] = field(default_factory=list)  # stays: HR decides


def _label(e: Employee) -> str:
    return f"{e.number} {e.name}"


def stale_tasks(session: Session, period: Period) -> Moves:
    """Every manager or head task of the period whose scorer is no longer the one the org
    names (a new active holder exists); moved or not, nothing changes here."""
    appraisee, scorer, holder = aliased(Employee), aliased(Employee), aliased(Employee)
    # Who holds the task's role now; compared in SQL, so that a period of 200,000 tasks
    # loads only the few that changed hands.
    now_id = case(
        (ScoringTask.role_code == "manager", appraisee.manager_id), else_=Institution.head_id
    )
    rows = session.execute(
        select(ScoringTask.id, ScoringTask.role_code, ScoringTask.state, appraisee, scorer, holder)
        .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .join(Institution, Institution.id == appraisee.institution_id)
        .join(holder, holder.id == now_id)
        .where(
            ScoringTask.period_id == period.id,
            ScoringTask.role_code.in_(MOVABLE),
            appraisee.active.is_(True),
            holder.active.is_(True),
            holder.id != ScoringTask.scorer_id,
            holder.id != appraisee.id,
        )
        .order_by(appraisee.number, ScoringTask.role_code)
    ).tuples()
    found = Moves()
    for task_id, role_code, state, who, old, new in rows:
        move = Move(task_id, role_code, _label(who), _label(old), _label(new), new.id, state)
        (found.submitted if state == TaskState.SUBMITTED else found.moved).append(move)
    return found


def move_tasks(session: Session, now: dt.datetime, period: Period, actor: str = "cli") -> Moves:
    """Give each unsubmitted stale task to the role's holder now, afresh; audited per task.
    A new holder who already has a task for the same person and role keeps theirs, and
    the stale one is withdrawn (two tasks in one role would be averaged)."""
    if period.state != PeriodState.SCORING:
        raise Refused(
            _(
                "Tasks can be moved only while period {label} is open for scoring; it is {state}."
            ).format(label=period.label, state=state_name(period.state))
        )
    found = stale_tasks(session, period)
    done: list[Move] = []
    for move in found.moved:
        task = session.get_one(ScoringTask, move.task_id)
        dropped = len(task.entries)
        clash = session.scalar(
            select(ScoringTask.id).where(
                ScoringTask.period_id == period.id,
                ScoringTask.appraisee_id == task.appraisee_id,
                ScoringTask.role_code == task.role_code,
                ScoringTask.scorer_id == move.new_id,
            )
        )
        before = {"scorer": move.old, "state": task.state.value, "answers": dropped}
        session.execute(delete(ScoreEntry).where(ScoreEntry.task_id == task.id))
        session.expire(task, ["entries"])
        if clash is not None:
            after: dict[str, object] = {"scorer": move.new, "withdrawn_for": clash}
            session.delete(task)
        else:
            task.scorer_id = move.new_id
            task.state = TaskState.PENDING
            task.cursor = 0
            task.updated_at = now
            after = {"scorer": move.new, "state": TaskState.PENDING.value}
        record(
            session,
            now,
            ACTION,
            "scoring_task",
            move.task_id,
            actor_label=actor,
            before=before,
            after=after,
            note=f"{move.role_code} {move.appraisee}",
        )
        done.append(
            Move(
                move.task_id,
                move.role_code,
                move.appraisee,
                move.old,
                move.new,
                move.new_id,
                move.state,
                dropped,
                clash is not None,
            )
        )
    session.flush()
    return Moves(done, found.submitted)
