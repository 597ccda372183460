"""What has not reached its reader yet, and who cannot be reached at all.

Read-only queries on the outbox and chat identities, for `jixiao undelivered` and
`jixiao announce`: a message is delivered only once it is sent, so anything queued,
claimed, on the wire, failed or of unknown outcome is reported, each for what it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from models import ChatIdentity, Employee, Institution, OutboxMessage, OutboxState, Role, RoleGrant

S = OutboxState


@dataclass(frozen=True, slots=True)
class Person:
    number: str
    name: str
    institution: str = ""


@dataclass(frozen=True, slots=True)
class Failed:
    person: Person | None  # None: a group chat, not one employee
    platform: str
    state: OutboxState  # FAILED, or UNKNOWN when the sender died mid-send
    error: str
    messages: int


@dataclass(slots=True)
class Backlog:
    queued: int = 0
    oldest_queued: dt.datetime | None = None
    retrying: int = 0  # queued again after a transient error, waiting for next_attempt_at
    in_flight: int = 0  # claimed or being sent by a live sender (lease still running)
    stranded: int = 0  # claimed or being sent, but the lease ran out: the sender is gone
    stranded_since: dt.datetime | None = None
    stranded_by: list[str] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    unreachable: list[tuple[Person, list[str]]] = field(default_factory=list)
    # Messages that failed because their person is unreachable there: told once, with
    # the person, not again among the failures.
    not_delivered_to: dict[Person, int] = field(default_factory=dict)

    @property
    def all_delivered(self) -> bool:
        return not (
            self.queued or self.in_flight or self.stranded or self.failed or self.not_delivered_to
        )


def backlog(session: Session, now: dt.datetime) -> Backlog:
    report = Backlog()
    m = OutboxMessage
    report.queued, report.oldest_queued, report.retrying = session.execute(
        select(
            func.count(),
            func.min(m.created_at),
            func.count().filter(m.next_attempt_at > now),
        ).where(m.state == S.QUEUED)
    ).one()
    if report.oldest_queued is not None and report.oldest_queued.tzinfo is None:
        report.oldest_queued = report.oldest_queued.replace(tzinfo=dt.UTC)
    busy = m.state.in_([S.CLAIMED, S.SENDING])
    expired = or_(m.lease_until.is_(None), m.lease_until < now)
    report.in_flight = session.scalar(select(func.count()).where(busy, ~expired)) or 0
    report.stranded = session.scalar(select(func.count()).where(busy, expired)) or 0
    if report.stranded:
        report.stranded_since = session.scalar(select(func.min(m.lease_until)).where(busy, expired))
        if report.stranded_since is not None and report.stranded_since.tzinfo is None:
            report.stranded_since = report.stranded_since.replace(tzinfo=dt.UTC)
        report.stranded_by = sorted(
            w for w in session.scalars(select(m.claimed_by).where(busy, expired).distinct()) if w
        )
    rows = session.execute(
        select(
            Employee.number,
            Employee.name,
            m.platform,
            m.state,
            func.max(m.last_error),
            func.count(),
        )
        .outerjoin(Employee, Employee.id == m.employee_id)
        .where(m.state.in_([S.FAILED, S.UNKNOWN]))
        .group_by(Employee.number, Employee.name, m.platform, m.state)
        .order_by(Employee.number, m.platform)
    ).all()
    platforms: dict[Person, list[str]] = {}
    for number, name, platform in session.execute(
        select(Employee.number, Employee.name, ChatIdentity.platform)
        .join(Employee, Employee.id == ChatIdentity.employee_id)
        .where(ChatIdentity.unreachable.is_(True), ChatIdentity.revoked_at.is_(None))
        .order_by(Employee.number, ChatIdentity.platform)
    ):
        platforms.setdefault(Person(number, name), []).append(platform)
    report.unreachable = list(platforms.items())
    for number, name, platform, state, error, count in rows:
        person = Person(number, name) if number is not None else None
        if person is not None and state == S.FAILED and platform in platforms.get(person, ()):
            report.not_delivered_to[person] = report.not_delivered_to.get(person, 0) + count
            continue
        report.failed.append(Failed(person, platform, S(state), error or "", count))
    return report


def audience(
    group_id: int, role: Role | None = None, institution_id: int | None = None
) -> Select[tuple[int, str, str]]:
    """Everyone an announcement is meant for, whether or not they have a chat: the same
    people bot.notify.weekly.announce queues to when they do."""
    q = select(Employee.id, Employee.number, Employee.name).where(
        Employee.group_id == group_id, Employee.active.is_(True)
    )
    if role is not None:
        q = q.where(exists().where(RoleGrant.employee_id == Employee.id, RoleGrant.role == role))
        if role == Role.HEAD:
            q = q.where(exists().where(Institution.head_id == Employee.id))
    if institution_id is not None:
        q = q.where(Employee.institution_id == institution_id)
    return q


@dataclass(frozen=True, slots=True)
class Reach:
    recipients: int
    reachable: int
    no_chat: list[Person]  # never bound, or every binding revoked
    blocked: list[Person]  # bound, but the bot can no longer reach them


def reach(
    session: Session, group_id: int, role: Role | None = None, institution_id: int | None = None
) -> Reach:
    usable = and_(
        ChatIdentity.employee_id == Employee.id,
        ChatIdentity.revoked_at.is_(None),
    )
    q = audience(group_id, role, institution_id).add_columns(
        select(Institution.name)
        .where(Institution.id == Employee.institution_id)
        .scalar_subquery()
        .label("institution"),
        exists().where(usable, ChatIdentity.unreachable.is_(False)).label("reachable"),
        exists().where(usable).label("bound"),
    )
    reachable = 0
    no_chat: list[Person] = []
    blocked: list[Person] = []
    for _id, number, name, institution, can_reach, bound in session.execute(
        q.order_by(Employee.number)
    ):
        if can_reach:
            reachable += 1
        elif bound:
            blocked.append(Person(number, name, institution or ""))
        else:
            no_chat.append(Person(number, name, institution or ""))
    return Reach(reachable + len(no_chat) + len(blocked), reachable, no_chat, blocked)
