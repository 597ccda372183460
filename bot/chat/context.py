"""What every conversation step gets: who is speaking, their stored state, `now`, and the
helpers to sign buttons and refuse politely (with an audit event)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from bot.appraisal.audit import record
from bot.infra.i18n import _
from bot.infra.message import Button, Incoming, Kind, Reply
from bot.infra.workdays import default_tz
from models import ChatState, Employee, ScoringTask
from models.db import adopt, copy_many, flushed

TAG = 8  # hex characters of the tag: short enough for Telegram's 64-byte callback data


def sign(secret: str, body: str) -> str:
    """A button payload: the body and a tag only this chat's secret produces."""
    # hmac.digest: the same HMAC-SHA256 as hmac.new(...), computed in one C call (a reply
    # signs a button per choice, every step).
    tag = hmac.digest(secret.encode(), body.encode(), hashlib.sha256).hex()[:TAG]
    return f"{body}|{tag}"


def unsign(secret: str, payload: str) -> str | None:
    """The body of a payload this chat was sent, or None for anything else."""
    body = payload.rpartition("|")[0]
    if not body or not hmac.compare_digest(sign(secret, body), payload):
        return None
    return body


# Built once: SQLAlchemy memoizes a statement's cache key, so a statement reused with
# bound values skips the key's rebuilding that every freshly built one pays (profiled as
# a large share of a form step).
_CHATS = cast(Table, ChatState.__table__)
_TOUCH = (
    update(_CHATS)
    .where(
        _CHATS.c.platform == bindparam("p_platform"),
        _CHATS.c.external_id == bindparam("p_external"),
    )
    .values(updated_at=bindparam("p_now", type_=_CHATS.c.updated_at.type))
    .returning(*_CHATS.c)
)
_READ = select(ChatState).where(
    ChatState.platform == bindparam("p_platform"),
    ChatState.external_id == bindparam("p_external"),
)


def chat_state(
    session: Session, platform: str, external_id: str, now: dt.datetime, *, lock: bool = False
) -> ChatState:
    """Where a chat's conversation stands, created (with its button key) the first time
    the bot hears from or speaks to it.

    With `lock`, the conversation's row is written before it is read: two messages of one
    chat handled at the same moment (two `serve` processes, or two threads of one) then
    take their turns, the second reading what the first left, so a form step is never
    lost or doubled. A write rather than SELECT … FOR UPDATE because SQLite has no row
    locks: its first write takes the database's write lock, and the read that follows
    is of the latest state."""
    where = {"p_platform": platform, "p_external": external_id}
    chat: ChatState | None
    if lock:
        # The write and the read in one round trip (RETURNING), run by Core.
        row = flushed(session).execute(_TOUCH, {**where, "p_now": now}).one_or_none()
        chat = None if row is None else adopt(session, ChatState, row._asdict())
    else:
        chat = session.scalar(_READ, where)
    if chat is None:
        chat = ChatState(
            platform=platform,
            external_id=external_id,
            secret=secrets.token_hex(16),
            state={},
            updated_at=now,
        )
        session.add(chat)
        session.flush()
    return chat


def secrets_for(
    session: Session, chats: Iterable[tuple[str, str]], now: dt.datetime
) -> dict[tuple[str, str], str]:
    """The button keys of many chats (platform, external id) at once, created for chats
    the bot has never spoken to: a query per thousand chats, not one per chat, for the
    pushes a sender hands out together."""
    wanted = sorted(set(chats))
    found = _secrets(session, wanted)
    new: list[tuple[str, str, str, dict[str, Any], dt.datetime]] = [
        (platform, external_id, secrets.token_hex(16), {}, now)
        for platform, external_id in wanted
        if (platform, external_id) not in found
    ]
    if new:
        # Through the driver (COPY on PostgreSQL), not an ORM object each: a period's
        # opening push reaches every scorer. A chat whose first message lands meanwhile
        # keeps the key it made, which is then the one read back.
        copy_many(
            flushed(session),
            ChatState,
            ("platform", "external_id", "secret", "state", "updated_at"),
            new,
            unless_taken=("platform", "external_id"),
        )
        found.update(_secrets(session, [(c[0], c[1]) for c in new]))
    return found


def _secrets(session: Session, chats: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for at in range(0, len(chats), 1000):
        chunk = chats[at : at + 1000]
        for platform in {p for p, _id in chunk}:
            ids = [e for p, e in chunk if p == platform]
            found.update(
                ((platform, external_id), secret)
                for external_id, secret in session.execute(
                    select(ChatState.external_id, ChatState.secret).where(
                        ChatState.platform == platform, ChatState.external_id.in_(ids)
                    )
                ).tuples()
            )
    return found


@dataclass
class Ctx:
    session: Session
    incoming: Incoming
    now: dt.datetime
    chat: ChatState
    me: Employee | None
    # The open form's task as read with the speaker (bot.chat.tasks.speaker_and_form),
    # held here for `tasks.own`, which still checks it: the session keeps loaded rows
    # only while something refers to them.
    form_task: ScoringTask | None = None

    @property
    def employee(self) -> Employee:
        """The bound employee; steps past binding may rely on it."""
        assert self.me is not None
        return self.me

    @property
    def state(self) -> dict[str, Any]:
        return self.chat.state

    def update(self, **changes: Any) -> None:
        """Change the stored state; a key set to None is dropped."""
        new = {**self.chat.state, **changes}
        new = {k: v for k, v in new.items() if v is not None}
        if new == self.chat.state and self.chat.updated_at == self.now:
            return  # unchanged: the row stays out of the flush
        self.chat.state = new
        self.chat.updated_at = self.now

    @property
    def tapped(self) -> bool:
        return self.incoming.kind == Kind.BUTTON

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.me.institution.timezone if self.me else default_tz())

    def button(self, label: str, body: str) -> Button:
        return Button(label, sign(self.chat.secret, body))

    def refuse(
        self, note: str, entity: str = "chat", entity_id: int | None = None, text: str = ""
    ) -> Reply:
        """Answer politely and put the attempt in the audit log."""
        record(
            self.session,
            self.now,
            "chat.refused",
            entity,
            entity_id,
            actor_id=self.me.id if self.me else None,
            actor_label=f"{self.incoming.platform}:{self.incoming.user_id}"[:64],
            note=note,
        )
        return Reply(
            text or _("Sorry, that is not available to you."),
            [[self.button(_("Menu"), "menu")]] if self.me else [],
        )
