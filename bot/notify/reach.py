"""Which chats a push can reach, and buttons signed for each of them: what every
scheduled job and the head's one-tap nudge share, below all of them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.chat.context import secret_for, sign
from bot.infra.message import Button, Reply
from models import ChatIdentity

# Ids per IN (…) list: SQLite's default build refuses more than 32,766 parameters, and a
# period's opening push reaches every scorer of the group.
IN_CHUNK = 5000


def reachable_identities(session: Session, employee_ids: set[int]) -> dict[int, list[ChatIdentity]]:
    """Each employee's chats that pushes can reach (bound, not revoked, not blocked)."""
    found: dict[int, list[ChatIdentity]] = defaultdict(list)
    if not employee_ids:
        return found
    wanted = sorted(employee_ids)
    for at in range(0, len(wanted), IN_CHUNK):
        for ident in session.scalars(
            select(ChatIdentity).where(
                ChatIdentity.employee_id.in_(wanted[at : at + IN_CHUNK]),
                ChatIdentity.revoked_at.is_(None),
                ChatIdentity.unreachable.is_(False),
            )
        ):
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
    wanted = sorted(employee_ids)
    for at in range(0, len(wanted), IN_CHUNK):
        rows = session.execute(
            select(ChatIdentity.employee_id, ChatIdentity.platform, ChatIdentity.external_id)
            .where(
                ChatIdentity.employee_id.in_(wanted[at : at + IN_CHUNK]),
                ChatIdentity.revoked_at.is_(None),
                ChatIdentity.unreachable.is_(False),
            )
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
