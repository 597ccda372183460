"""Sending outbox messages with python-telegram-bot, and classifying what went wrong.

Only Telegram's own failures are classified here; what to do about them (wait, back off,
give up, tell HR) is decided by bot.delivery.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.chat.types import Reply
from bot.delivery import SENT, Delivery

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
    """Plain text, no parse mode: names and comments can never be read as markup. A long
    text goes as several messages, the last carrying the buttons; a chart follows the
    text, so a picture that cannot be sent never costs the text and its buttons."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def parts(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        """A push is a Reply (bot.chat.types): its text in Telegram-sized messages with
        the buttons on the last, then its picture."""
        reply = Reply.from_content(content)
        buttons = [[{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons]
        out: list[dict[str, Any]] = []
        if reply.text or not reply.image:
            out = [{"text": part} for part in split(reply.text)]
            out[-1]["buttons"] = buttons
        if reply.image:
            out.append(
                {
                    "image": base64.b64encode(reply.image).decode(),
                    "caption": None,
                    "buttons": [] if out else buttons,
                }
            )
        return out

    async def send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        markup = keyboard(part.get("buttons", []))
        try:
            if image := part.get("image"):
                await self.bot.send_photo(
                    chat_id,
                    photo=base64.b64decode(image),
                    caption=part.get("caption"),
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


def retry_seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
