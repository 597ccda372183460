"""Which chats a push can reach, and buttons signed for each of them: what every
scheduled job and the head's one-tap nudge share, below all of them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.chat.context import secrets_for, sign
from bot.infra.message import Button, Reply
from models import ChatIdentity
from models.db import IN_CHUNK, chunks, flushed, stream


def _live(ids: list[int] | None) -> tuple[ColumnElement[bool], ...]:
    """Chats that a push can reach (of these employees, if given): bound, not revoked,
    not blocked."""
    live = (ChatIdentity.revoked_at.is_(None), ChatIdentity.unreachable.is_(False))
    return live if ids is None else (ChatIdentity.employee_id.in_(ids), *live)


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
    columns = (ChatIdentity.employee_id, ChatIdentity.platform, ChatIdentity.external_id)
    if len(employee_ids) > IN_CHUNK:
        # A push to a whole period: one pass over the live chats of the range of ids
        # (a group's people were numbered together), kept by id here, costs less than
        # twenty IN lists of 5,000 (each bound value processed on its own). Plain rows
        # straight from the driver for 100,000 chats.
        every = stream(
            flushed(session),
            select(*columns)
            .where(
                ChatIdentity.employee_id.between(min(employee_ids), max(employee_ids)),
                *_live(None),
            )
            .order_by(ChatIdentity.id),
            10_000,
        )
        for employee_id, platform, external_id in every:
            if employee_id in employee_ids:
                found[employee_id].append(Chat(platform, external_id))
        return found
    for ids in chunks(employee_ids):
        rows = session.execute(
            select(*columns).where(*_live(ids)).order_by(ChatIdentity.id)
        ).tuples()
        for employee_id, platform, external_id in rows:
            found[employee_id].append(Chat(platform, external_id))
    return found


# Set in a queued push's content whose button bodies are still to be signed: they are
# signed for the recipient's chat when the push is handed out (`sign_handed_out`), so
# queueing 100,000 pushes neither creates 100,000 chat keys nor computes their tags.
SIGN_ON_HANDOUT = "sign"


def handout_content(reply: Reply) -> dict[str, Any]:
    """`reply` as a queued push's content, its buttons signed when handed out."""
    content = reply.to_content()
    if reply.buttons:
        content[SIGN_ON_HANDOUT] = True
    return content


def sign_handed_out(
    session: Session, platform: str, pushes: Sequence[tuple[str, dict[str, Any]]], now: dt.datetime
) -> list[dict[str, Any]]:
    """The contents of pushes (chat id, content) being handed out on `platform`, each
    with its button bodies signed with its chat's key (created if the bot never spoke
    there), exactly as a reply's; a content already signed is kept as it is."""
    chats = [(platform, chat) for chat, content in pushes if content.get(SIGN_ON_HANDOUT)]
    if not chats:
        return [content for _chat, content in pushes]
    keys = secrets_for(session, chats, now)
    out = []
    for chat, content in pushes:
        if content.get(SIGN_ON_HANDOUT):
            buttons = Reply.from_content({"buttons": content.get("buttons")}).buttons
            signed = Reply("", sign_buttons(keys[(platform, chat)], buttons)).to_content()
            content = {k: v for k, v in content.items() if k != SIGN_ON_HANDOUT}
            content["buttons"] = signed["buttons"]
        out.append(content)
    return out


def sign_buttons(secret: str, buttons: list[list[Button]]) -> list[list[Button]]:
    """Each button's body signed with a chat's key."""
    return [[Button(b.label, sign(secret, b.payload)) for b in row] for row in buttons]
