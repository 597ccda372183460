"""Group leadership's weekly report (Monday 09:00) and HR's one-off announcements."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from bot.appraisal import quotas, rollout
from bot.appraisal.progress import Completion, group_progress
from bot.infra import i18n
from bot.infra.i18n import _, ngettext, pct
from bot.infra.message import Reply
from bot.infra.workdays import default_tz, is_quiet, local_now
from bot.notify import outbox
from bot.notify.chart import completion_bars
from models import (
    ChatIdentity,
    Employee,
    Institution,
    Period,
    PeriodState,
    Role,
    RoleGrant,
    ScoringTask,
    TaskState,
)

REPORT_HOUR = 9


@dataclass(frozen=True)
class Row:
    name: str
    completion: Decimal
    on_time: Decimal
    published: bool
    rank: int


def rows(session: Session, group_id: int, now: dt.datetime) -> list[Row]:
    """One row per institution, best completion first."""
    progress = group_progress(session, group_id, now)
    appraisee = aliased(Employee)
    timely: dict[int, int] = {
        inst: n
        for inst, n in session.execute(
            select(
                appraisee.institution_id,
                func.count(ScoringTask.id).filter(
                    and_(
                        ScoringTask.state == TaskState.SUBMITTED,
                        ScoringTask.submitted_at <= ScoringTask.deadline,
                    )
                ),
            )
            .join(appraisee, appraisee.id == ScoringTask.appraisee_id)
            .join(Period, Period.id == ScoringTask.period_id)
            .where(Period.group_id == group_id, Period.state == PeriodState.SCORING)
            .group_by(appraisee.institution_id)
        )
    }
    # An institution counts as published when its latest period is published or final.
    latest: dict[int | None, PeriodState] = {}
    for inst_id, state in session.execute(
        select(Period.institution_id, Period.state)
        .where(Period.group_id == group_id)
        .order_by(Period.starts_on, Period.id)
    ):
        latest[inst_id] = state
    done = (PeriodState.PUBLISHED, PeriodState.FINAL)
    out = []
    for p in progress.institutions:
        state = latest.get(p.institution_id, latest.get(None))
        on_time = Completion(timely.get(p.institution_id, 0), p.now.total).rate
        out.append(Row(p.name, p.now.rate, on_time, state in done, p.rank))
    return out


def table_lines(table: list[Row]) -> list[str]:
    """The ranking table's heading and one line per institution, as every report shows it."""
    return [_("Rank · institution · completion · on time · results published")] + [
        _("{rank}. {name} · {completion}% · {on_time}% · {published}").format(
            rank=r.rank,
            name=r.name,
            completion=pct(r.completion),
            on_time=pct(r.on_time),
            published=_("yes") if r.published else _("no"),
        )
        for r in table
    ]


def render(
    table: list[Row],
    today: dt.date,
    overridden: Sequence[quotas.Override] = (),
    plan: list[rollout.Line] | None = None,
) -> tuple[str, bytes | None]:
    lines = [_("Weekly appraisal report, week of {date}").format(date=today.isoformat())]
    lines.extend(table_lines(table))
    # Publications that went ahead over broken grade quotas, with HR's written reason.
    lines.extend(
        ngettext(
            "Published over grade quotas: {period} ({n} violation), reason: {reason}",
            "Published over grade quotas: {period} ({n} violations), reason: {reason}",
            o.violations,
        ).format(period=o.period, n=o.violations, reason=o.reason)
        for o in overridden
    )
    # The pilots' rollout: stage, against target, last acceptance, rank, laggards.
    lines.extend(rollout.table_lines(plan or []))
    chart = (
        completion_bars(
            _("Completion by institution"),
            [(r.name, r.completion) for r in table],
            _("Submitted (%)"),
        )
        if table
        else None
    )
    return "\n".join(lines), chart


def queue_weekly_report(session: Session, group_id: int, now: dt.datetime) -> int:
    """Each leadership member gets the report once on Monday from 09:00 (Shanghai)."""
    local = local_now(now, default_tz())
    if local.weekday() != 0 or local.hour < REPORT_HOUR or is_quiet(local):
        return 0
    leaders = session.execute(
        select(Employee, ChatIdentity)
        .join(RoleGrant, RoleGrant.employee_id == Employee.id)
        .join(ChatIdentity, ChatIdentity.employee_id == Employee.id)
        .where(
            RoleGrant.role == Role.LEADERSHIP,
            Employee.group_id == group_id,
            Employee.active.is_(True),
            ChatIdentity.revoked_at.is_(None),
            ChatIdentity.unreachable.is_(False),
        )
    ).all()
    due = [
        (leader, identity, f"weekly:{group_id}:{identity.platform}:{leader.id}:{local.date()}")
        for leader, identity in leaders
    ]
    done = outbox.queued_before(session, (key for *_, key in due))
    due = [row for row in due if row[2] not in done]
    if not due:
        return 0
    table = rows(session, group_id, now)
    overridden = quotas.overrides(session, now - dt.timedelta(days=7), now, group_id)
    plan = rollout.lines(session, group_id, now)
    # One text and chart per language, all drawn before the first write.
    reports: dict[str, tuple[str, bytes | None]] = {}
    for leader, _identity, _key in due:
        language = leader.language or i18n.default_language()
        if language not in reports:
            with i18n.using(language):
                reports[language] = render(table, local.date(), overridden, plan)
    queued = 0
    for leader, identity, key in due:
        text, chart = reports[leader.language or i18n.default_language()]
        content = Reply(text, image=chart or None).to_content()
        queued += outbox.enqueue(
            session,
            now,
            platform=identity.platform,
            chat_id=identity.external_id,
            content=content,
            dedupe_key=key,
            employee_id=leader.id,
        )
    return queued


def announce(
    session: Session,
    now: dt.datetime,
    group_id: int,
    text: str,
    *,
    role: Role | None = None,
    institution_id: int | None = None,
) -> int:
    """HR's one-off message to everyone with a role, or everyone in an institution (or
    both filters), through the same outbox; the same text to the same person goes once."""
    q = (
        select(Employee, ChatIdentity)
        .join(ChatIdentity, ChatIdentity.employee_id == Employee.id)
        .where(
            Employee.group_id == group_id,
            Employee.active.is_(True),
            ChatIdentity.revoked_at.is_(None),
            ChatIdentity.unreachable.is_(False),
        )
    )
    if role is not None:
        q = q.join(RoleGrant, RoleGrant.employee_id == Employee.id).where(RoleGrant.role == role)
        if role == Role.HEAD:
            q = q.join(Institution, Institution.head_id == Employee.id)
    if institution_id is not None:
        q = q.where(Employee.institution_id == institution_id)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    queued = 0
    for employee, identity in session.execute(q.distinct()).all():
        queued += outbox.enqueue(
            session,
            now,
            platform=identity.platform,
            chat_id=identity.external_id,
            content=Reply(text).to_content(),
            dedupe_key=f"announce:{digest}:{identity.platform}:{employee.id}",
            employee_id=employee.id,
        )
    return queued
