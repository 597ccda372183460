"""Which chats a push can reach, and buttons signed for each of them: what every
scheduled job and the head's one-tap nudge share, below all of them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.chat.context import secret_for, sign
from bot.infra.message import Button, Reply
from models import ChatIdentity
from models.db import chunks


def _live(ids: list[int]) -> tuple[ColumnElement[bool], ...]:
    """Chats of these employees that a push can reach: bound, not revoked, not blocked."""
    return (
        ChatIdentity.employee_id.in_(ids),
        ChatIdentity.revoked_at.is_(None),
        ChatIdentity.unreachable.is_(False),
    )


def reachable_identities(session: Session, employee_ids: set[int]) -> dict[int, list[ChatIdentity]]:
    """Each employee's chats that pushes can reach (bound, not revoked, not blocked)."""
    found: dict[int, list[ChatIdentity]] = defaultdict(list)
    if not employee_ids:
        return found
    for ids in chunks(employee_ids):
        for ident in session.scalars(select(ChatIdentity).where(*_live(ids))):
            found[ident.employee_id].append(ident)
    return found


class Chat(NamedTuple):
    """Where a push goes: a platform's chat."""

    platform: str
    external_id: str


def reachable_chats(session: Session, employee_ids: set[int]) -> dict[int, list[Chat]]:
    """`reachable_identities` as plain values, without an ORM object per chat (a period's
    opening push reaches every scorer of the group)."""
    found: dict[int, list[Chat]] = defaultdict(list)
    for ids in chunks(employee_ids):
        rows = session.execute(
            select(ChatIdentity.employee_id, ChatIdentity.platform, ChatIdentity.external_id)
            .where(*_live(ids))
            .order_by(ChatIdentity.id)
        ).tuples()
        for employee_id, platform, external_id in rows:
            found[employee_id].append(Chat(platform, external_id))
    return found


def signed(
    session: Session, ident: ChatIdentity, now: dt.datetime, buttons: list[list[Button]]
) -> list[list[Button]]:
    """Buttons as the recipient's chat will accept them: each body signed with that chat's
    key, exactly like the buttons of a reply."""
    if not buttons:
        return buttons
    return sign_buttons(secret_for(session, ident.platform, ident.external_id, now), buttons)


def sign_buttons(secret: str, buttons: list[list[Button]]) -> list[list[Button]]:
    """Each button's body signed with a chat's key."""
    return [[Button(b.label, sign(secret, b.payload)) for b in row] for row in buttons]


def signed_reply(secret: str, reply: Reply) -> Reply:
    """`reply` with its buttons signed for one chat."""
    if not reply.buttons:
        return reply
    return Reply(
        reply.text,
        sign_buttons(secret, reply.buttons),
        image=reply.image,
        image_name=reply.image_name,
        file=reply.file,
        file_name=reply.file_name,
    )
