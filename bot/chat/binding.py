"""Binding a chat to an employee with a one-time code: `/start CODE` or the deep link.

Codes are issued and hashed by bot.codes; only the hash is looked up here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import i18n
from bot.audit import record
from bot.chat import render
from bot.chat.context import Ctx
from bot.chat.types import Reply
from bot.codes import hash_code
from bot.i18n import _
from models import BindCode, BindFailure, ChatIdentity, Employee

TRIES = 5
WINDOW = dt.timedelta(hours=1)
LOCKOUT = dt.timedelta(hours=1)


def how_to_bind() -> Reply:
    """All an unbound user sees: how to bind."""
    return Reply(
        _(
            "Hello! I am Jixiao, the appraisal assistant. To start, send /start followed by the "
            "code HR gave you, for example: /start K7Q2M9XD"
        )
    )


def active_identity(session: Session, platform: str, user: str) -> ChatIdentity | None:
    """The chat's binding to an employee, unless revoked."""
    return session.scalar(
        select(ChatIdentity).where(
            ChatIdentity.platform == platform,
            ChatIdentity.external_id == user,
            ChatIdentity.revoked_at.is_(None),
        )
    )


def identity_of(ctx: Ctx) -> ChatIdentity | None:
    return active_identity(ctx.session, ctx.incoming.platform, ctx.incoming.user_id)


def _locked_out(ctx: Ctx, until: dt.datetime) -> Reply:
    return Reply(
        _("Too many wrong codes. Try again after {when}.").format(when=render.when(until, ctx.tz))
    )


def bind(ctx: Ctx, code: str) -> Reply | Employee:
    """Check the code; bound, it returns the employee, otherwise the refusal to send."""
    chat = ctx.chat
    if chat.locked_until is not None and ctx.now < chat.locked_until:
        return _locked_out(ctx, chat.locked_until)
    found = ctx.session.scalar(select(BindCode).where(BindCode.code_hash == hash_code(code)))
    if found is None or found.used_at is not None or found.expires_at <= ctx.now:
        return _wrong(ctx, found)
    found.used_at = ctx.now
    employee = found.employee
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


def bind_by_email(
    session: Session, now: dt.datetime, platform: str, user: str, email: str
) -> Employee | None:
    """Where HR allows it (Slack), bind by the workspace's verified email instead of a
    code: only to exactly one active employee with that email, and only a user not yet
    bound."""
    if not email or identity_exists(session, platform, user):
        return None
    matches = session.scalars(
        select(Employee).where(
            func.lower(Employee.email) == email.strip().lower(), Employee.active.is_(True)
        )
    ).all()
    if len(matches) != 1:
        return None
    attach(session, now, platform, user, matches[0])
    return matches[0]


def identity_exists(session: Session, platform: str, user: str) -> bool:
    return active_identity(session, platform, user) is not None


def _wrong(ctx: Ctx, found: BindCode | None) -> Reply:
    """Count a wrong code; the fifth within an hour locks this user out for an hour."""
    platform, user = ctx.incoming.platform, ctx.incoming.user_id
    ctx.session.add(BindFailure(platform=platform, external_id=user, at=ctx.now))
    ctx.session.flush()
    recent = (
        ctx.session.scalar(
            select(func.count(BindFailure.id)).where(
                BindFailure.platform == platform,
                BindFailure.external_id == user,
                BindFailure.at > ctx.now - WINDOW,
            )
        )
        or 0
    )
    record(
        ctx.session,
        ctx.now,
        "identity.bind_failed",
        "chat",
        None,
        actor_label=f"{platform}:{user}"[:64],
        note=f"wrong code {recent}/{TRIES}",
    )
    if recent >= TRIES:
        ctx.chat.locked_until = ctx.now + LOCKOUT
        return _locked_out(ctx, ctx.chat.locked_until)
    if found is not None and found.used_at is not None:
        reason = _("This code has already been used.")
    elif found is not None:
        reason = _("This code has expired.")
    else:
        reason = _("This code is not right.")
    return Reply(
        reason
        + " "
        + _("Check it, or ask HR for a new one. Tries left this hour: {left}.").format(
            left=TRIES - recent
        )
    )
