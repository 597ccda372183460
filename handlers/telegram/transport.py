"""Sending outbox messages with python-telegram-bot, and classifying what went wrong.

Only Telegram's own failures are classified here; what to do about them (wait, back off,
give up, tell HR) is decided by bot.notify.delivery.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.infra.message import Reply
from bot.notify.delivery import SENT, Delivery

# A Telegram message is at most 4,096 units long and a photo's caption 1,024, counted in
# UTF-16 code units as Telegram counts text (an emoji such as 🙂 is two). Reports differ on
# whether the length check itself counts code points; cutting by code units fits either.
LIMIT = 4096
CAPTION_LIMIT = 1024


def units(text: str) -> int:
    """Telegram's length of `text`: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` units (never half a surrogate pair)."""
    used = 0
    for n, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return n
    return len(text)


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut a long answer under the limit (in UTF-16 units) at line boundaries (a single
    over-long line is cut where it must be)."""
    parts: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        while units(line) > limit:
            if current:
                parts.append(current)
                current, size = "", 0
            at = max(1, _cut(line, limit))
            parts.append(line[:at])
            line = line[at:]
        n = units(line)
        if size + n > limit:
            parts.append(current)
            current, size = "", 0
        current += line
        size += n
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]


def shorten(text: str, limit: int, note: str) -> str:
    """`text` cut to fit `limit` units with `note` saying so at its end."""
    room = max(0, limit - units(note) - 2)
    return text[: _cut(text, room)].rstrip() + "\n" + note


@dataclass
class Send:
    """One request of a reply: a text (new, or edited in place), a photo or a file."""

    text: str = ""
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    edit: bool = False
    image: bytes | None = None
    file: bytes | None = None
    file_name: str = ""
    limit: int = LIMIT


def sends(replies: list[Reply], editable: bool) -> list[Send]:
    """The one renderer, for answers and pushes alike: the requests that show `replies`,
    in order. A long text goes as several messages, the last carrying the buttons; a
    picture or file follows the text, so one that cannot be sent never costs the text
    and its buttons (without text, it carries the buttons itself)."""
    out: list[Send] = []
    for reply in replies:
        buttons = [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
        attached = reply.image is not None or reply.file is not None
        parts = split(reply.text) if reply.text or not attached else []
        if reply.edit and editable and len(parts) == 1:
            out.append(Send(parts[0], buttons, edit=True))
        else:
            out.extend(
                Send(part, buttons if n == len(parts) - 1 else []) for n, part in enumerate(parts)
            )
        if reply.image is not None:
            out.append(Send(image=reply.image, buttons=[] if parts else buttons))
        if reply.file is not None:
            unlabelled = parts or reply.image is not None
            out.append(
                Send(
                    file=reply.file,
                    file_name=reply.file_name or "file",
                    buttons=[] if unlabelled else buttons,
                )
            )
    return out


def keyboard(buttons: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["label"], callback_data=b["payload"]) for b in row]
            for row in buttons
        ]
    )


class TelegramTransport:
    """Plain text, no parse mode: names and comments can never be read as markup. A push
    is a Reply, sent as `sends` renders every answer."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def parts(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        return [_part(send) for send in sends([Reply.from_content(content)], editable=False)]

    async def send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        markup = keyboard(part.get("buttons", []))
        try:
            if image := part.get("image"):
                await self.bot.send_photo(
                    chat_id, photo=base64.b64decode(image), reply_markup=markup
                )
            elif document := part.get("file"):
                await self.bot.send_document(
                    chat_id,
                    document=InputFile(base64.b64decode(document), filename=part["file_name"]),
                    reply_markup=markup,
                )
            else:
                await self.bot.send_message(chat_id, part.get("text", ""), reply_markup=markup)
        except RetryAfter as exc:
            return Delivery("retry_after", retry_after=retry_seconds(exc), error=str(exc))
        except Forbidden as exc:
            # "bot was blocked by the user", "user is deactivated": permanent, and nothing
            # more is queued to them until they talk to the bot again.
            return Delivery("permanent", error=str(exc), unreachable=True)
        except BadRequest as exc:
            # "chat not found" and malformed messages will not fix themselves on retry.
            return Delivery("permanent", error=str(exc))
        except TimedOut as exc:
            # The request may or may not have reached Telegram: never resend blindly.
            return Delivery("unknown", error=str(exc))
        except NetworkError as exc:
            return Delivery("transient", error=str(exc))
        return SENT


def _part(send: Send) -> dict[str, Any]:
    """A send as the sender holds it between attempts."""
    if send.image is not None:
        return {"image": base64.b64encode(send.image).decode(), "buttons": send.buttons}
    if send.file is not None:
        data = base64.b64encode(send.file).decode()
        return {"file": data, "file_name": send.file_name, "buttons": send.buttons}
    return {"text": send.text, "buttons": send.buttons}


def retry_seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
