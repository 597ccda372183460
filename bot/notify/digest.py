"""The head's daily digest: one short message, one chart, one button.

Built at 09:00 local time on workdays while a period is open, queued in the outbox with
a dedupe key per institution and day, so a job that runs twice sends once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal import rollout, scorers
from bot.appraisal.progress import (
    Completion,
    GroupProgress,
    Overdue,
    departments_by_institution,
    group_progress,
    overdue_by_institution,
)
from bot.infra import i18n
from bot.infra.i18n import _, ngettext, pct
from bot.infra.message import Button, Reply
from bot.infra.workdays import is_quiet, is_workday, local_now
from bot.notify import outbox
from bot.notify.chart import completion_bars
from bot.notify.reach import handout_content
from models import Appeal, AppealState, ChatIdentity, Employee, Institution, Period

DIGEST_HOUR = 9
REMIND_PAYLOAD = "nudge"


@dataclass
class Digest:
    text: str
    buttons: list[list[Button]]
    chart: bytes | None = None  # PNG: completion by department


@dataclass
class GroupFacts:
    """Everything the digests need, read for the whole group in a few grouped queries."""

    progress: GroupProgress
    departments: dict[int, list[tuple[str, Completion]]]
    overdue: dict[int, list[Overdue]]
    # Each institution's rollout line (stage, target, acceptance), by institution id.
    rollout: dict[int, rollout.Line] = field(default_factory=dict)


def _rollout(session: Session, group_id: int, now: dt.datetime) -> dict[int, rollout.Line]:
    return {x.institution_id: x for x in rollout.lines(session, group_id, now)}


def facts(session: Session, group_id: int, now: dt.datetime) -> GroupFacts:
    return GroupFacts(
        group_progress(session, group_id, now),
        departments_by_institution(session, group_id),
        overdue_by_institution(session, group_id, now),
        _rollout(session, group_id, now),
    )


def build(
    session: Session,
    institution: Institution,
    now: dt.datetime,
    progress: GroupProgress | GroupFacts,
    *,
    chart: bool = True,
) -> Digest | None:
    """The digest for one institution in the current language, or None if it has no
    open scoring."""
    known = (
        progress
        if isinstance(progress, GroupFacts)
        else GroupFacts(
            progress,
            departments_by_institution(session, institution.group_id, institution.id),
            overdue_by_institution(session, institution.group_id, now, institution.id),
            _rollout(session, institution.group_id, now),
        )
    )
    progress = known.progress
    mine = progress.of(institution.id)
    local = local_now(now, institution.timezone)
    count, waiting = appeal_lines(session, institution, local.tzinfo)
    spread = scorers.digest_lines(session, institution)
    if mine is None or not mine.now.total:
        if not waiting and not spread:
            return None
        title = (
            _("{name} · appeals {date}") if waiting else _("{name} · how scorers scored {date}")
        ).format(name=institution.name, date=local.date().isoformat())
        return Digest(
            "\n".join([title, *waiting, *spread]),
            [_decide_button(count)] if waiting else [],
            None,
        )
    lines = [
        _("{name} · scoring progress {date}").format(
            name=institution.name, date=local.date().isoformat()
        ),
        _("Submitted {done}/{total} ({rate}%), {change:+d} since yesterday.").format(
            done=mine.now.done,
            total=mine.now.total,
            rate=pct(mine.now.rate),
            change=mine.now.done - mine.yesterday.done,
        ),
    ]
    if mine.deadline is not None:
        days = (mine.deadline.astimezone(local.tzinfo).date() - local.date()).days
        lines.append(
            ngettext(
                "{n} day left until the deadline.", "{n} days left until the deadline.", days
            ).format(n=days)
            if days >= 0
            else _("The deadline passed {n} days ago.").format(n=-days)
        )
    lines.append(
        _("Rank {rank} of {count} institutions; group average {average}%.").format(
            rank=mine.rank, count=len(progress.institutions), average=pct(progress.average)
        )
    )
    plan = known.rollout.get(institution.id)
    if plan is not None:
        lines.append(rollout.own_line(plan))
    overdue = known.overdue.get(institution.id, [])
    if overdue:
        lines.append(_("Overdue scorers:"))
        lines.extend(
            _("  {name}: {left} left").format(name=o.name, left=o.left) for o in overdue[:10]
        )
        if len(overdue) > 10:
            lines.append(_("  … and {n} more").format(n=len(overdue) - 10))
    depts = known.departments.get(institution.id, [])
    if depts:
        lines.append(_("By department:"))
        lines.extend(
            _("  {dept}: {done}/{total}").format(
                dept=path or _("(no department)"), done=c.done, total=c.total
            )
            for path, c in depts
        )
    lines.extend(waiting)
    lines.extend(spread)
    buttons = (
        [[Button(_("Remind all overdue"), f"{REMIND_PAYLOAD}:{institution.id}")]] if overdue else []
    )
    if waiting:
        buttons.append(_decide_button(count))
    picture = (
        completion_bars(
            _("{name}: completion by department").format(name=institution.name),
            [(path or _("(no department)"), c.rate) for path, c in depts],
            _("Submitted (%)"),
        )
        if depts and chart
        else None
    )
    return Digest("\n".join(lines), buttons, picture)


def appeal_lines(session: Session, institution: Institution, tz: Any) -> tuple[int, list[str]]:
    """The institution's appeals waiting for a decision, soonest due first: how many,
    and a heading with a line each (at most 10), or nothing."""
    rows = session.execute(
        select(Employee.name, Employee.number, Period.label, Appeal.due_at)
        .join(Appeal, Appeal.employee_id == Employee.id)
        .join(Period, Period.id == Appeal.period_id)
        .where(Employee.institution_id == institution.id, Appeal.state == AppealState.OPEN)
        .order_by(Appeal.due_at, Appeal.id)
    ).all()
    if not rows:
        return 0, []
    lines = [_("Appeals waiting for a decision: {n}").format(n=len(rows))]
    lines += [
        _("  {name} ({number}), {label}, due {due}").format(
            name=name, number=number, label=label, due=due.astimezone(tz).date().isoformat()
        )
        for name, number, label, due in rows[:10]
    ]
    return len(rows), lines


def _decide_button(n: int) -> list[Button]:
    return [Button(_("Appeals to decide: {n}").format(n=n), "aps")]


def queue_head_digests(session: Session, group_id: int, now: dt.datetime) -> int:
    """Queue today's digest for each head whose local time is past 09:00 on a workday,
    outside quiet hours; returns how many were newly queued.

    The job runs every quarter of an hour: what was queued today is skipped before
    anything is built, each institution's digest (and chart) is built once per language,
    and all are built before the first write, so drawing never holds the write lock."""
    due = []
    for institution, head, identity in session.execute(
        select(Institution, Employee, ChatIdentity)
        .join(Employee, Employee.id == Institution.head_id)
        .join(ChatIdentity, ChatIdentity.employee_id == Employee.id)
        .where(
            Institution.group_id == group_id,
            ChatIdentity.revoked_at.is_(None),
            ChatIdentity.unreachable.is_(False),
            Employee.active.is_(True),
        )
    ).all():
        local = local_now(now, institution.timezone)
        if local.hour < DIGEST_HOUR or is_quiet(local) or not is_workday(local.date()):
            continue
        key = f"digest:{institution.id}:{identity.platform}:{local.date()}"
        due.append((institution, head, identity, key))
    done = outbox.queued_before(session, (key for *_, key in due))
    due = [row for row in due if row[3] not in done]
    if not due:
        return 0
    known = facts(session, group_id, now)
    digests: dict[tuple[int, str], Digest | None] = {}
    for institution, head, _identity, _key in due:
        language = head.language or i18n.default_language()
        if (institution.id, language) not in digests:
            with i18n.using(language):
                digests[institution.id, language] = build(session, institution, now, known)
    queued = 0
    for institution, head, identity, key in due:
        digest = digests[institution.id, head.language or i18n.default_language()]
        if digest is None:
            continue
        content = handout_content(Reply(digest.text, digest.buttons, image=digest.chart or None))
        queued += outbox.enqueue(
            session,
            now,
            platform=identity.platform,
            chat_id=identity.external_id,
            content=content,
            dedupe_key=key,
            employee_id=head.id,
        )
    return queued
