"""Telegram updates in, the conversation core's replies out.

Each update becomes an `Incoming`; `bot.chat.dispatch.handle` runs in one transaction
that also records the update_id, so a webhook retry or a duplicated update changes
nothing. Replies render as Telegram expects: inline keyboards, a form step that edits
its message in place, long texts split under 4,096 UTF-16 units, pictures as photos and
pay sheets as documents. Text goes without a parse mode, so names and comments can never
be read as markup.

No answer is dropped: a 429 is waited out (within `REPLY_WAIT`), a text Telegram still
finds too long is split further, and what cannot go now is queued in the outbox, whose
sender delivers it as soon as Telegram allows. A user who blocks the bot (a 403, or the
`my_chat_member` update saying "kicked") is marked unreachable, so pushes stop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import BotCommand, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.chat.dispatch import handle_once
from bot.chat.menu import COMMANDS
from bot.infra import i18n
from bot.infra.i18n import _
from bot.infra.message import Button, Incoming, Kind, Reply
from bot.infra.workdays import utc_now
from bot.notify import delivery, outbox
from handlers.telegram.transport import Send, keyboard, retry_seconds, sends, shorten, split

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


# How long a reply may wait for Telegram's flood control in all before what is left of it
# goes through the outbox instead.
REPLY_WAIT = 10.0
# Below this many units, a text Telegram still refuses as too long is shortened instead.
SMALLEST = 512


async def render(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    replies: list[Reply],
    wait: float = REPLY_WAIT,
) -> list[Send]:
    """Send the replies; returns what could not be sent within `wait` s of 429s (the
    caller queues it), empty when all went."""
    chat = update.effective_chat
    assert chat is not None
    pressed: Message | None = None
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except (RetryAfter, BadRequest):
            # Only stops the button's spinner ("query is too old" after a slow answer):
            # never a reason to lose the answer itself.
            log.info("could not answer a callback query", exc_info=True)
        maybe = update.callback_query.message
        pressed = maybe if isinstance(maybe, Message) else None
    todo = deque(sends(replies, pressed is not None))
    while todo:
        send = todo[0]
        try:
            await _send(context, chat.id, send, pressed)
        except RetryAfter as exc:
            pause = retry_seconds(exc)
            if pause > wait:
                return list(todo)
            wait -= pause
            await asyncio.sleep(pause)
            continue
        except BadRequest as exc:
            message = str(exc).lower()
            if "not modified" in message:
                pass  # a double tap re-renders the same step: Telegram refuses the same edit
            elif "too long" in message and send.image is None and send.file is None:
                todo.popleft()
                todo.extendleft(reversed(_smaller(send)))
                continue
            else:
                raise
        todo.popleft()
    return []


def _smaller(send: Send) -> list[Send]:
    """A text Telegram refused as too long: in halves, or shortened with a note."""
    limit = send.limit // 2
    if limit < SMALLEST:
        note = _("(Shortened: this message was too long for Telegram.)")
        return [Send(shorten(send.text, limit, note), send.buttons, limit=limit)]
    parts = split(send.text, limit)
    return [
        Send(part, send.buttons if n == len(parts) - 1 else [], limit=limit)
        for n, part in enumerate(parts)
    ]


async def _send(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, send: Send, pressed: Message | None
) -> None:
    markup = keyboard(send.buttons)
    if send.image is not None:
        await context.bot.send_photo(chat_id, photo=send.image, reply_markup=markup)
    elif send.file is not None:
        await context.bot.send_document(
            chat_id, document=InputFile(send.file, filename=send.file_name), reply_markup=markup
        )
    elif send.edit and pressed is not None:
        await pressed.edit_text(send.text, reply_markup=markup)
    else:
        await context.bot.send_message(chat_id, send.text, reply_markup=markup)


def queue_rest(
    sessions: sessionmaker[Session], update: Update, rest: list[Send], now: dt.datetime
) -> None:
    """What flood control kept back goes through the outbox, in order; a file cannot,
    so the user is told to ask for it again."""
    chat = update.effective_chat
    assert chat is not None
    user = update.effective_user
    language = i18n.resolve(user.language_code if user else None)
    with sessions() as s, s.begin():
        for n, send in enumerate(rest):
            if send.file is not None:
                with i18n.using(language):
                    reply = Reply(
                        _(
                            "Telegram is busy: the file {name} could not be sent. "
                            "Please ask for it again in a minute."
                        ).format(name=send.file_name)
                    )
            else:
                buttons = [[Button(b["label"], b["payload"]) for b in row] for row in send.buttons]
                reply = Reply(send.text, buttons, image=send.image)
            content = reply.to_content()
            outbox.enqueue(
                s,
                now,
                platform=PLATFORM,
                chat_id=str(chat.id),
                content=content,
                dedupe_key=f"reply:{update.update_id}:{n}",
                is_group=chat.type != "private",
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
        if update.my_chat_member is not None:
            await asyncio.to_thread(member_changed, sessions, update)
            return
        replies = await asyncio.to_thread(process, sessions, update, now())
        if not replies:
            return
        try:
            rest = await render(context, update, replies)
        except Forbidden:
            # The user blocked the bot: stop pushing to them; HR can list who.
            await asyncio.to_thread(mark_unreachable, sessions, update)
            return
        if rest:
            log.warning("flood control held back %d sends; queued in the outbox", len(rest))
            await asyncio.to_thread(queue_rest, sessions, update, rest, now())

    app.add_handler(TypeHandler(Update, on_update))
    return app


def mark_unreachable(
    sessions: sessionmaker[Session], update: Update, unreachable: bool = True
) -> None:
    user = update.effective_user
    if user is None:
        return
    with sessions() as s, s.begin():
        delivery.mark_unreachable(s, PLATFORM, str(user.id), unreachable)


def member_changed(sessions: sessionmaker[Session], update: Update) -> None:
    """Telegram says the user blocked the bot ("kicked" in their private chat) or started
    it again ("member"): pushes stop, or resume."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    if status in ("kicked", "left"):
        mark_unreachable(sessions, update)
    elif status == "member":
        mark_unreachable(sessions, update, unreachable=False)


def poll(token: str, sessions: sessionmaker[Session], base_url: str | None = None) -> None:
    """Long polling for development: no public URL needed. Blocks until Ctrl+C."""

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await set_commands(app)

    app = build_application(token, sessions, polling=True, base_url=base_url)
    app.post_init = post_init
    app.run_polling(allowed_updates=Update.ALL_TYPES)


async def set_commands(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The command menu in each language (Telegram shows the one matching the user's)."""
    for language, code in (("zh_CN", None), ("zh_CN", "zh"), ("en", "en")):
        with i18n.using(language):
            commands = [BotCommand(name, _(about)) for name, about in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)
