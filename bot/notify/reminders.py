"""What gets pushed to scorers and employees, queued through the outbox.

Each function scans the database and queues at most one message per person per reason
and day (the dedupe key says which), so the scheduler may run it as often as it likes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from typing import NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.infra import i18n
from bot.infra.i18n import _, money, ngettext
from bot.infra.message import Button, Reply
from bot.infra.workdays import default_tz, is_quiet, is_workday, local_now, workdays_between
from bot.notify import outbox
from bot.notify.reach import handout_content, reachable_chats
from models import (
    Employee,
    Institution,
    Period,
    PeriodState,
    Result,
    ScoringTask,
    TaskState,
)
from models.base import EncodedJSON, encode_json
from models.db import flushed, stream

MORNING = dt.time(9, 0)
ESCALATE_AFTER = 2  # workdays overdue before a scorer is named to their head


class Addressee(Protocol):
    """Who a push is for: their id, and their language if they chose one."""

    @property
    def id(self) -> int: ...

    @property
    def language(self) -> str | None: ...


class Scorer(NamedTuple):
    id: int
    language: str | None


P = TypeVar("P", bound=Addressee)


def _push(
    session: Session,
    now: dt.datetime,
    people: Mapping[int, P],
    key: str,
    render: Callable[[P], Reply],
    variant: Callable[[P], Hashable] | None = None,
) -> int:
    """Queue `render(person)` to every live chat of each person, its buttons signed for
    each chat when handed out. With `variant`, people of one language and variant share
    one rendering: a period's opening push differs only in how many people, so 100,000
    scorers need a few dozen messages rendered and encoded, not 100,000."""
    shared: dict[tuple[str, Hashable], EncodedJSON] = {}
    default = i18n.default_language()  # read from the settings: once, not per person

    def content(person: P) -> EncodedJSON:
        language = person.language or default
        shape = None if variant is None else (language, variant(person))
        if shape is not None and (known := shared.get(shape)) is not None:
            return known
        with i18n.using(language):
            encoded = EncodedJSON(encode_json(handout_content(render(person))))
        if shape is not None:
            shared[shape] = encoded
        return encoded

    return outbox.enqueue_many(
        session,
        now,
        (
            outbox.Push(
                ident.platform,
                ident.external_id,
                encoded,
                f"{key}:{emp_id}:{ident.platform}",
                employee_id=emp_id,
            )
            for emp_id, idents in reachable_chats(session, set(people)).items()
            for encoded in (content(people[emp_id]),)
            for ident in idents
        ),
    )


def push(
    session: Session,
    now: dt.datetime,
    people: dict[int, Employee],
    key: str,
    render: Callable[[Employee], Reply],
) -> int:
    """Queue `render(employee)` to each person's reachable chats, once per `key` and
    person; buttons are signed for each chat."""
    return _push(session, now, people, key, render)


def _button(label: str, body: str) -> list[list[Button]]:
    return [[Button(label, body)]]


def queue_period_opened(session: Session, period: Period, now: dt.datetime) -> int:
    """One message per scorer (not per appraisee): how many, the deadline, a button."""
    # Ids, languages and counts in one grouped query, straight from the driver: an ORM
    # object (or an IN list) for each of 100,000 scorers cost more than their message.
    counts: dict[int, int] = {}
    people: dict[int, Scorer] = {}
    for scorer_id, language, n in stream(
        flushed(session),
        select(ScoringTask.scorer_id, Employee.language, func.count(ScoringTask.id))
        .join(Employee, Employee.id == ScoringTask.scorer_id)
        .where(ScoringTask.period_id == period.id)
        .group_by(ScoringTask.scorer_id, Employee.language),
        10_000,
    ):
        counts[scorer_id] = n
        people[scorer_id] = Scorer(scorer_id, language)

    def render(e: Scorer) -> Reply:
        text = ngettext(
            "Appraisal {label} is open: {n} person to score by {deadline}.",
            "Appraisal {label} is open: {n} people to score by {deadline}.",
            counts[e.id],
        ).format(label=period.label, n=counts[e.id], deadline=period.deadline.date())
        return Reply(text, _button(_("Start scoring"), "list"))

    return _push(session, now, people, f"opened:{period.id}", render, lambda e: counts[e.id])


def queue_tasks_moved(
    session: Session, period: Period, now: dt.datetime, counts: Mapping[int, int]
) -> int:
    """Tell each new scorer, once per run (not per task), how many tasks were moved to
    them after an org change, with the deadline and a button."""
    people = {
        emp_id: Scorer(emp_id, language)
        for emp_id, language in session.execute(
            select(Employee.id, Employee.language).where(Employee.id.in_(sorted(counts)))
        ).tuples()
    }

    def render(e: Scorer) -> Reply:
        text = ngettext(
            "Appraisal {label}: after an org change, {n} more person is yours to score "
            "by {deadline}.",
            "Appraisal {label}: after an org change, {n} more people are yours to score "
            "by {deadline}.",
            counts[e.id],
        ).format(label=period.label, n=counts[e.id], deadline=period.deadline.date())
        return Reply(text, _button(_("Start scoring"), "list"))

    return _push(session, now, people, f"moved:{period.id}:{now:%Y%m%d%H%M%S}", render)


def queue_deadline_reminders(session: Session, group_id: int, now: dt.datetime) -> int:
    """Remind scorers with unfinished tasks 1 workday before the deadline, on the day, and
    every workday after; name scorers 2 workdays overdue to their head. Workdays only,
    mornings only, never in quiet hours, never to people on leave."""
    scorer = aliased(Employee)
    rows = session.execute(
        select(
            scorer.id,
            Institution.timezone,
            Institution.head_id,
            func.count(ScoringTask.id),
            func.min(ScoringTask.deadline),
        )
        .select_from(ScoringTask)
        .join(Period, Period.id == ScoringTask.period_id)
        .join(scorer, scorer.id == ScoringTask.scorer_id)
        .join(Institution, Institution.id == scorer.institution_id)
        .where(
            Period.group_id == group_id,
            Period.state == PeriodState.SCORING,
            or_(ScoringTask.state == TaskState.PENDING, ScoringTask.state == TaskState.DRAFT),
            scorer.active.is_(True),
            scorer.on_leave.is_(False),
        )
        .group_by(scorer.id, Institution.timezone, Institution.head_id)
    ).all()
    queued = 0
    escalations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for scorer_id, tz, head_id, left, deadline in rows:
        local = local_now(now, tz)
        today = local.date()
        if not is_workday(today) or is_quiet(local) or local.time() < MORNING:
            continue
        due = deadline.astimezone(local.tzinfo).date()
        gap = workdays_between(today, due)  # >0: workdays left; <0: workdays overdue
        if gap > 1:
            continue
        person = session.get_one(Employee, scorer_id)

        def render(e: Employee, gap: int = gap, left: int = left, due: dt.date = due) -> Reply:
            if gap == 1:
                text = ngettext(
                    "Tomorrow ({due}) is the scoring deadline: {n} person still to score.",
                    "Tomorrow ({due}) is the scoring deadline: {n} people still to score.",
                    left,
                )
            elif gap == 0:
                text = ngettext(
                    "Today ({due}) is the scoring deadline: {n} person still to score.",
                    "Today ({due}) is the scoring deadline: {n} people still to score.",
                    left,
                )
            else:
                text = ngettext(
                    "Scoring was due {due}: {n} person still waits for your scores.",
                    "Scoring was due {due}: {n} people still wait for your scores.",
                    left,
                )
            return Reply(text.format(due=due, n=left), _button(_("Start scoring"), "list"))

        queued += _push(session, now, {scorer_id: person}, f"remind:{today}", render)
        if gap <= -ESCALATE_AFTER and head_id and head_id != scorer_id:
            escalations[head_id].append((scorer_id, left))
    for head_id, late in escalations.items():
        head = session.get_one(Employee, head_id)
        names = {
            e.id: e.name
            for e in session.scalars(
                select(Employee).where(Employee.id.in_([scorer_id for scorer_id, _left in late]))
            )
        }

        def render_head(
            e: Employee, late: list[tuple[int, int]] = late, names: dict[int, str] = names
        ) -> Reply:
            lines = [_("Scorers two or more workdays overdue:")]
            lines += [_("  {name}: {left} left").format(name=names[s], left=n) for s, n in late]
            return Reply("\n".join(lines))

        today = local_now(now, default_tz()).date()
        queued += _push(session, now, {head_id: head}, f"escalate:{today}", render_head)
    return queued


def queue_results_published(session: Session, period: Period, now: dt.datetime) -> int:
    """Each employee: total, grade and pay, with a "why?" button."""
    results = {
        r.employee_id: r
        for r in session.scalars(select(Result).where(Result.period_id == period.id))
    }
    people = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(results)))}
    closes = period.window_closes_at

    def render(e: Employee) -> Reply:
        r = results[e.id]
        text = _(
            "Your appraisal for {label} is published: {total} points, grade {grade}, "
            "performance pay {pay}."
        ).format(label=period.label, total=r.total, grade=r.grade, pay=money(r.pay))
        if closes is not None and closes > now:
            local = closes.astimezone(ZoneInfo(e.institution.timezone))
            text += " " + _(
                "You may confirm it or appeal until {when}; if you do neither, it counts as "
                "confirmed when that window closes."
            ).format(when=local.strftime("%Y-%m-%d %H:%M"))
        return Reply(text, _button(_("Why this pay?"), f"why:{r.id}"))

    return _push(session, now, people, f"published:{period.id}", render)
