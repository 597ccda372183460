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

from bot.delivery import SENT, Delivery

# A Telegram message is at most 4096 characters.
LIMIT = 4096


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Cut a long answer under the limit at line boundaries (a single over-long line is
    cut where it must be)."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") or p for p in parts]


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
    """Plain text, no parse mode: names and comments can never be read as markup."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, content: dict[str, Any]) -> Delivery:
        try:
            if image := content.get("image"):
                await self.bot.send_photo(
                    chat_id, photo=base64.b64decode(image), caption=content.get("caption")
                )
            parts = split(content.get("text", ""))
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                await self.bot.send_message(
                    chat_id,
                    part,
                    reply_markup=keyboard(content.get("buttons", [])) if last else None,
                )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            return Delivery("retry_after", retry_after=seconds, error=str(exc))
        except Forbidden as exc:
            # "bot was blocked by the user": permanent; the person must restart the bot.
            return Delivery("permanent", error=str(exc))
        except BadRequest as exc:
            # "chat not found" and malformed messages will not fix themselves on retry.
            return Delivery("permanent", error=str(exc))
        except TimedOut as exc:
            # The request may or may not have reached Telegram: never resend blindly.
            return Delivery("unknown", error=str(exc))
        except NetworkError as exc:
            return Delivery("transient", error=str(exc))
        return SENT
