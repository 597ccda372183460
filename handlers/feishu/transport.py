"""Sending outbox messages to Feishu, and sorting what went wrong (the decisions are
bot.notify.delivery's). A push is one card: its text, its buttons and its chart together.

Feishu's documented limits for sending messages (im/v1/messages): 1,000 a minute and 50
a second per app, and 5 a second to one user or one group (shared by the group's bots).
Over them it answers HTTP 429 (older APIs 400) with code 99991400 and the seconds to
wait in `x-ogw-ratelimit-reset`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import requests

from bot.notify.delivery import SENT, Delivery
from handlers.feishu.cards import from_outbox
from handlers.feishu.client import Failed, send_card
from handlers.feishu.limits import FEISHU_LIMITS

__all__ = ["FEISHU_LIMITS", "FeishuTransport"]

# Codes retrying will not fix: the person cannot be reached there, or the message is wrong.
UNREACHABLE = {
    230013,  # Bot has NO availability to this user (outside the app's visibility, left)
    230002,  # the bot is not in the chat
    230006,  # the bot's capability is off for this user
    99992351,  # no such open_id
    99992361,  # the open_id belongs to another app
}
PERMANENT = UNREACHABLE | {
    230001,  # invalid parameter
    230025,  # message too long
    230099,  # the card could not be built
    234001,  # invalid image
    99991663,  # the app's credentials are refused
}


def classify(exc: Failed) -> Delivery:
    if exc.retry_after or exc.status == 429:
        return Delivery("retry_after", retry_after=exc.retry_after or 1.0, error=str(exc))
    if exc.code in PERMANENT:
        return Delivery("permanent", error=str(exc), unreachable=exc.code in UNREACHABLE)
    return Delivery("transient", error=str(exc))


class FeishuTransport:
    def __init__(self, client: Any) -> None:
        self.client = client

    def parts(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        return [content]  # one card, picture included

    async def send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        # The SDK's calls are synchronous: keep the event loop free meanwhile.
        return await asyncio.to_thread(self._send, chat_id, part)

    def _send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        try:
            send_card(self.client, chat_id, from_outbox(part))
        except Failed as exc:
            return classify(exc)
        except requests.Timeout as exc:
            # It may or may not have reached Feishu: never resent blindly.
            return Delivery("unknown", error=str(exc))
        except (requests.RequestException, OSError) as exc:
            return Delivery("transient", error=str(exc))
        return SENT
