"""Telegram updates in, the conversation core's replies out.

Each update becomes an `Incoming`; `bot.chat.dispatch.handle` runs in one transaction
that also records the update_id, so a webhook retry or a duplicated update changes
nothing. Replies render as Telegram expects: inline keyboards, a form step that edits
its message in place, long texts split under 4,096 characters, pictures as photos and
pay sheets as documents. Text goes without a parse mode, so names and comments can never
be read as markup.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import BotCommand, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import i18n
from bot.chat.dispatch import handle_once
from bot.chat.menu import COMMANDS
from bot.chat.types import Incoming, Kind, Reply
from bot.i18n import _
from bot.workdays import utc_now
from handlers.telegram.transport import keyboard, split
from models import ChatIdentity

log = logging.getLogger(__name__)
PLATFORM = "telegram"


def to_incoming(update: Update) -> Incoming | None:
    """The platform-neutral view of an update; None for updates we do not answer."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "user_id": str(user.id),
        "chat_id": str(chat.id),
        "private": chat.type == "private",
        "language_code": user.language_code,
        "display_name": user.full_name,
    }
    if update.callback_query is not None:
        return Incoming(kind=Kind.BUTTON, payload=update.callback_query.data or "", **common)
    message = update.effective_message
    if message is None:
        return None
    if message.text is not None:
        return Incoming(kind=Kind.TEXT, text=message.text, **common)
    return Incoming(kind=Kind.OTHER, **common)


def process(
    sessions: sessionmaker[Session], update: Update, now: dt.datetime
) -> list[Reply] | None:
    """Run the conversation for one update, once: None if this update_id was seen."""
    return handle_once(sessions, PLATFORM, str(update.update_id), to_incoming(update), now)


async def render(context: ContextTypes.DEFAULT_TYPE, update: Update, replies: list[Reply]) -> None:
    chat = update.effective_chat
    assert chat is not None
    pressed: Message | None = None
    if update.callback_query is not None:
        await update.callback_query.answer()
        maybe = update.callback_query.message
        pressed = maybe if isinstance(maybe, Message) else None
    for reply in replies:
        markup = keyboard(
            [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
        )
        if reply.image:
            await context.bot.send_photo(chat.id, photo=reply.image)
        if reply.file:
            await context.bot.send_document(
                chat.id, document=InputFile(reply.file, filename=reply.file_name or "file")
            )
        parts = split(reply.text)
        if reply.edit and pressed is not None and len(parts) == 1:
            try:
                await pressed.edit_text(parts[0], reply_markup=markup)
            except BadRequest as exc:
                # A double tap re-renders the same step: Telegram refuses an identical edit.
                if "not modified" not in str(exc):
                    raise
            continue
        for n, part in enumerate(parts):
            await context.bot.send_message(
                chat.id, part, reply_markup=markup if n == len(parts) - 1 else None
            )


def build_application(
    token: str,
    sessions: sessionmaker[Session],
    *,
    base_url: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    polling: bool = False,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The python-telegram-bot Application; every update goes through one handler.
    Webhook mode (the default) needs no updater; long polling, for development, does."""
    now = clock or utc_now
    builder = ApplicationBuilder().token(token)
    if not polling:
        builder = builder.updater(None)
    if base_url:
        builder = builder.base_url(base_url)
    app = builder.build()

    async def on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        # The database work runs off the event loop, so one conversation's transaction
        # never stalls the server's other requests.
        replies = await asyncio.to_thread(process, sessions, update, now())
        if not replies:
            return
        try:
            await render(context, update, replies)
        except Forbidden:
            # The user blocked the bot: stop pushing to them; HR can list who.
            await asyncio.to_thread(mark_unreachable, sessions, update)

    app.add_handler(TypeHandler(Update, on_update))
    return app


def mark_unreachable(sessions: sessionmaker[Session], update: Update) -> None:
    user = update.effective_user
    if user is None:
        return
    with sessions() as s, s.begin():
        for ident in s.scalars(
            select(ChatIdentity).where(
                ChatIdentity.platform == PLATFORM, ChatIdentity.external_id == str(user.id)
            )
        ):
            ident.unreachable = True


def poll(token: str, sessions: sessionmaker[Session]) -> None:
    """Long polling for development: no public URL needed. Blocks until Ctrl+C."""

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await set_commands(app)

    app = build_application(token, sessions, polling=True)
    app.post_init = post_init
    app.run_polling(allowed_updates=Update.ALL_TYPES)


async def set_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The command menu in each language (Telegram shows the one matching the user's)."""
    for language, code in (("zh_CN", None), ("zh_CN", "zh"), ("en", "en")):
        with i18n.using(language):
            commands = [BotCommand(name, _(about)) for name, about in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)
