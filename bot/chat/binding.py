"""Binding a chat to an employee with a one-time code: the code itself, `/start CODE`, or
the Telegram deep link, typed or pasted.

Codes are issued and hashed by bot.chat.codes; only the hash is looked up here. A code binds
once: one guarded UPDATE marks it used, and only the request whose update changed the row
binds. Guessing is limited three ways (docs/security.md):

- per chat: 5 wrong codes within an hour lock that chat out for an hour;
- per source (the chat page's IP address; on Telegram and Slack the platform user is the
  source): BIND_FAILURES_PER_SOURCE wrong codes within an hour stop codes from there;
- overall: BIND_FAILURES_PER_MINUTE wrong codes within a minute, across every chat, pause
  code checks for everyone for the rest of that minute, raise a metric and tell HR.

A flood leaves a bounded trail: failure rows older than an hour are pruned as new ones
come, nothing is written for attempts refused by a limit, the audit log gets one event
per lockout (not one per guess), and conversations of never-bound chats idle for a day
are pruned.
"""

from __future__ import annotations

import datetime as dt

from prometheus_client import Counter
from sqlalchemy import CursorResult, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.appraisal.audit import record
from bot.chat.codes import EXAMPLE, argument_code, stored_forms
from bot.chat.context import Ctx, chat_state
from bot.infra import i18n, render
from bot.infra.i18n import _
from bot.infra.message import Reply
from bot.infra.mobile import normalise as normalise_mobile
from bot.infra.settings import get_settings
from bot.notify import outbox
from bot.notify.reach import reachable_identities
from models import (
    AuditEvent,
    BindCode,
    BindFailure,
    ChatIdentity,
    ChatState,
    Employee,
    Role,
    RoleGrant,
)

TRIES = 5
WINDOW = dt.timedelta(hours=1)
LOCKOUT = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
ALERT_EVERY = dt.timedelta(hours=1)
STALE_CHAT = dt.timedelta(days=1)
PRUNE_BATCH = 200
SOURCE = "source"  # bind_failures.platform of the rows counted per source

# Registered into the server's own registry (handlers/server.py); counts this process.
GUESSES = Counter(
    "jixiao_bind_attempts",
    "Bind-code attempts that did not bind, by what stopped them",
    ["outcome"],
    registry=None,
)


def how_to_bind(platform: str = "") -> Reply:
    """All an unbound user sees: how to bind, in the way their platform allows. Slack
    takes any message starting with "/" for a command, so Slack users send the code."""
    if platform == "slack":
        return Reply(
            _(
                "Hello! I am Jixiao, the appraisal assistant. To start, send me the code HR "
                "gave you as a message, for example: {code}"
            ).format(code=EXAMPLE)
        )
    return Reply(
        _(
            "Hello! I am Jixiao, the appraisal assistant. To start, send the code HR gave "
            "you, for example: {code} (or /start {code}, or tap the link HR gave you)."
        ).format(code=EXAMPLE)
    )


# The employee a chat is bound to, through its binding unless revoked: every message
# reads it, so it is built once (its cache key is memoized) and loads the employee alone,
# in one round trip with the binding as a join (a joined eager load of the binding's
# employee was set up anew at every message, a tenth of a form step).
_BOUND = (
    select(Employee)
    .join(ChatIdentity, ChatIdentity.employee_id == Employee.id)
    .where(
        ChatIdentity.platform == bindparam("p_platform"),
        ChatIdentity.external_id == bindparam("p_user"),
        ChatIdentity.revoked_at.is_(None),
    )
)


def bound_employee(session: Session, platform: str, user: str) -> Employee | None:
    """Whom the chat is bound to (active or not), unless the binding is revoked."""
    return session.scalar(_BOUND, {"p_platform": platform, "p_user": user})


def speaker(ctx: Ctx) -> Employee | None:
    return bound_employee(ctx.session, ctx.incoming.platform, ctx.incoming.user_id)


def _locked_out(ctx: Ctx, until: dt.datetime) -> Reply:
    return Reply(
        _("Too many wrong codes. Try again after {when}.").format(when=render.when(until, ctx.tz))
    )


def _source_key(ctx: Ctx) -> str | None:
    """Where the attempt comes from, when that differs from the chat itself."""
    source = ctx.incoming.source
    if not source or source == ctx.incoming.user_id:
        return None
    return f"{ctx.incoming.platform}:{source}"[:128]


def bind(ctx: Ctx, typed: str) -> Reply | Employee:
    """Check the code; bound, it returns the employee, otherwise the refusal to send."""
    chat = ctx.chat
    if chat.locked_until is not None and ctx.now < chat.locked_until:
        GUESSES.labels("locked").inc()
        return _locked_out(ctx, chat.locked_until)
    source = _source_key(ctx)
    if source is not None:
        until = _source_locked_until(ctx, source)
        if until is not None:
            GUESSES.labels("source_limit").inc()
            return _locked_out(ctx, until)
    if _recent_failures(ctx.session, ctx.now) >= get_settings().bind_failures_per_minute:
        GUESSES.labels("overall_limit").inc()
        return Reply(_("Too many people are trying codes right now. Please try again in a minute."))
    code = argument_code(typed)
    found = ctx.session.scalar(select(BindCode).where(BindCode.code_hash.in_(stored_forms(code))))
    if found is not None and ctx.me is not None and found.employee_id == ctx.me.id:
        # Tapping one's own link again: no new binding, no wrong guess either.
        return Reply(
            _("You are already bound as {name} ({number}).").format(
                name=ctx.me.name, number=ctx.me.number
            )
        )
    if found is None or not _claim(ctx.session, found.id, ctx.now):
        return _wrong(ctx, source)
    employee = ctx.session.get_one(Employee, found.employee_id)
    attach(ctx.session, ctx.now, ctx.incoming.platform, ctx.incoming.user_id, employee)
    if not employee.language:
        # Pushes speak the language of the replies: the one chosen before binding, else
        # the one the user's client reports (stored, since pushes have no client to ask).
        chosen = ctx.state.get("lang")
        spoken = chosen if isinstance(chosen, str) else ctx.incoming.language_code
        if spoken:
            employee.language = i18n.resolve(spoken)
    chat.locked_until = None
    ctx.update(form=None, step=None, review=None)
    return employee


def _claim(session: Session, code_id: int, now: dt.datetime) -> bool:
    """Mark the code used, if it still is unused and unexpired: one guarded UPDATE, so of
    any number of simultaneous requests exactly one changes the row (PostgreSQL makes the
    others wait for its row lock and re-check; SQLite serialises writers)."""
    result = session.execute(
        update(BindCode)
        .where(BindCode.id == code_id, BindCode.used_at.is_(None), BindCode.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed = result.rowcount == 1 if isinstance(result, CursorResult) else False
    if claimed:
        session.expire_all()  # the ORM's copy of the row is stale now
    return claimed


def attach(
    session: Session, now: dt.datetime, platform: str, user: str, employee: Employee
) -> ChatIdentity:
    """Bind a platform user to an employee; an earlier identity of the same employee on
    the same platform is revoked (one phone, one account). Audited either way."""
    for old in session.scalars(
        select(ChatIdentity).where(
            ChatIdentity.platform == platform,
            ChatIdentity.employee_id == employee.id,
            ChatIdentity.revoked_at.is_(None),
        )
    ):
        if old.external_id != user:
            old.revoked_at = now
            record(
                session,
                now,
                "identity.revoke",
                "chat_identity",
                old.id,
                actor_id=employee.id,
                note="rebound on the same platform",
            )
    identity = session.scalar(
        select(ChatIdentity).where(
            ChatIdentity.platform == platform, ChatIdentity.external_id == user
        )
    )
    if identity is None:
        identity = ChatIdentity(
            platform=platform, external_id=user, employee_id=employee.id, bound_at=now
        )
        session.add(identity)
    else:
        identity.employee_id = employee.id
        identity.bound_at = now
        identity.revoked_at = None
        identity.unreachable = False
    session.flush()
    record(
        session,
        now,
        "identity.bind",
        "chat_identity",
        identity.id,
        actor_id=employee.id,
        after={"platform": platform, "employee": employee.number},
    )
    return identity


WELCOME = "welcome"  # chat state key: a welcome still to be shown (bound by email)


def bind_by_email(
    session: Session, now: dt.datetime, platform: str, user: str, email: str
) -> Employee | None:
    """Where HR allows it (Slack, Feishu), bind by the platform's verified email instead of
    a code: only to exactly one active employee with that email, and only a user not yet
    bound. The next answer starts with the welcome a code would have given."""
    if not email:
        return None
    return _bind_to_one(
        session, now, platform, user, func.lower(Employee.email) == email.strip().lower()
    )


def bind_by_mobile(
    session: Session, now: dt.datetime, platform: str, user: str, number: str
) -> Employee | None:
    """As `bind_by_email`, by the mobile number on the user's platform profile (any
    spelling: +86 138 1234 5678), matched against the imported one."""
    found = normalise_mobile(number) if number else None
    if found is None:
        return None
    return _bind_to_one(session, now, platform, user, Employee.mobile == found)


def _bind_to_one(
    session: Session, now: dt.datetime, platform: str, user: str, match: ColumnElement[bool]
) -> Employee | None:
    if identity_exists(session, platform, user):
        return None
    matches = session.scalars(select(Employee).where(match, Employee.active.is_(True))).all()
    if len(matches) != 1:
        return None
    attach(session, now, platform, user, matches[0])
    chat = chat_state(session, platform, user, now)
    chat.state = {**chat.state, WELCOME: True}
    return matches[0]


def welcome(employee: Employee) -> str:
    return _("Welcome, {name}! This chat is now linked to employee {number}.").format(
        name=employee.name, number=employee.number
    )


def take_welcome(ctx: Ctx) -> list[Reply]:
    """The welcome owed to a chat bound without a code, once."""
    if not ctx.state.get(WELCOME):
        return []
    ctx.update(**{WELCOME: None})
    return [Reply(welcome(ctx.me))] if ctx.me is not None else []


def identity_exists(session: Session, platform: str, user: str) -> bool:
    return bound_employee(session, platform, user) is not None


def _recent_failures(session: Session, now: dt.datetime) -> int:
    return (
        session.scalar(
            select(func.count(BindFailure.id)).where(
                BindFailure.platform != SOURCE, BindFailure.at > now - MINUTE
            )
        )
        or 0
    )


def _failures(session: Session, platform: str, who: str, since: dt.datetime) -> list[dt.datetime]:
    return list(
        session.scalars(
            select(BindFailure.at)
            .where(
                BindFailure.platform == platform,
                BindFailure.external_id == who,
                BindFailure.at > since,
            )
            .order_by(BindFailure.at)
        )
    )


def _source_locked_until(ctx: Ctx, source: str) -> dt.datetime | None:
    """While a source has its hour's worth of wrong codes, until the oldest ages out."""
    recent = _failures(ctx.session, SOURCE, source, ctx.now - WINDOW)
    limit = get_settings().bind_failures_per_source
    if len(recent) < limit:
        return None
    return recent[-limit] + WINDOW


def _wrong(ctx: Ctx, source: str | None) -> Reply:
    """Count a wrong code (unknown, used or expired alike: the answer tells a guesser
    nothing); the fifth within an hour locks this chat out for an hour."""
    session, now = ctx.session, ctx.now
    platform, user = ctx.incoming.platform, ctx.incoming.user_id
    GUESSES.labels("wrong").inc()
    session.add(BindFailure(platform=platform, external_id=user, at=now))
    if source is not None:
        session.add(BindFailure(platform=SOURCE, external_id=source, at=now))
    session.flush()
    _prune(session, now, keep=ctx.chat.id)
    recent = len(_failures(session, platform, user, now - WINDOW))
    label = f"{platform}:{user}"[:64]
    overall = _recent_failures(session, now)
    if overall >= get_settings().bind_failures_per_minute:
        _alert_hr(session, now, overall)
    if recent >= TRIES:
        ctx.chat.locked_until = now + LOCKOUT
        record(
            session,
            now,
            "identity.bind_locked",
            "chat",
            None,
            actor_label=label,
            note=f"{recent} wrong codes within an hour",
        )
        return _locked_out(ctx, ctx.chat.locked_until)
    if source is not None:
        until = _source_locked_until(ctx, source)
        if until is not None:
            record(
                session,
                now,
                "identity.bind_locked",
                "source",
                None,
                actor_label=source[:64],
                note="wrong codes from one source",
            )
            return _locked_out(ctx, until)
    return Reply(
        _(
            "This code does not work: it is mistyped, already used or expired. Check it, "
            "or ask HR for a new one. Tries left this hour: {left}."
        ).format(left=TRIES - recent)
    )


def _prune(session: Session, now: dt.datetime, keep: int) -> None:
    """Keep what a flood leaves behind bounded: failures past the longest window, and
    conversations of chats never bound that have been idle for a day (not the one
    speaking, `keep`, even if it comes back after days)."""
    session.execute(
        delete(BindFailure)
        .where(BindFailure.at <= now - max(WINDOW, LOCKOUT))
        .execution_options(synchronize_session=False)
    )
    never_bound = ~exists().where(
        ChatIdentity.platform == ChatState.platform,
        ChatIdentity.external_id == ChatState.external_id,
    )
    stale = (
        select(ChatState.id)
        .where(
            ChatState.updated_at < now - STALE_CHAT,
            ChatState.id != keep,
            never_bound,
            (ChatState.locked_until.is_(None)) | (ChatState.locked_until < now),
        )
        .limit(PRUNE_BATCH)
    )
    session.execute(
        delete(ChatState)
        .where(ChatState.id.in_(stale.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def _alert_hr(session: Session, now: dt.datetime, failures: int) -> None:
    """Tell everyone with the HR role, at most once an hour, that codes are being
    guessed; the audit event is the once-an-hour marker."""
    GUESSES.labels("alert").inc()
    last = session.scalar(
        select(func.max(AuditEvent.at)).where(AuditEvent.action == "identity.bind_flood")
    )
    if last is not None and last > now - ALERT_EVERY:
        return
    record(
        session,
        now,
        "identity.bind_flood",
        "chat",
        None,
        actor_label="binding",
        note=f"{failures} wrong bind codes within a minute",
    )
    hr = (
        session.scalars(
            select(Employee)
            .join(RoleGrant, RoleGrant.employee_id == Employee.id)
            .where(RoleGrant.role == Role.HR, Employee.active.is_(True))
        )
        .unique()
        .all()
    )
    people = {e.id: e for e in hr}
    for emp_id, idents in reachable_identities(session, set(people)).items():
        with i18n.using(people[emp_id].language or i18n.default_language()):
            text = _(
                "Warning: {count} wrong bind codes within a minute, across all chats. "
                "Someone may be guessing codes. Code checks pause while it lasts; see the "
                "audit log (identity.bind_flood) and the jixiao_bind_guessing_alarm metric."
            ).format(count=failures)
        for ident in idents:
            outbox.enqueue(
                session,
                now,
                platform=ident.platform,
                chat_id=ident.external_id,
                content=Reply(text).to_content(),
                dedupe_key=f"bind-flood:{now.isoformat()}:{emp_id}:{ident.platform}",
                employee_id=emp_id,
            )


def failures_last_minute(session: Session, now: dt.datetime) -> int:
    """For the metric: wrong codes across every chat within the last minute."""
    return _recent_failures(session, now)
