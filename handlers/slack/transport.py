"""Sending outbox messages to Slack, and classifying what went wrong (the decisions are
bot.delivery's). Slack allows about one message a second per channel."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chat.types import Button, Reply
from bot.delivery import SENT, Delivery, Limits
from handlers.slack.app import TEXT_LIMIT, blocks

# Errors that retrying will not fix: the person or channel is gone or unreachable.
PERMANENT = {
    "channel_not_found",
    "user_not_found",
    "account_inactive",
    "is_archived",
    "not_in_channel",
    "cannot_dm_bot",
    "user_disabled",
    "invalid_auth",
}

SLACK_LIMITS = Limits(per_second=20.0, per_chat_interval=1.05)


class SlackTransport:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    async def send(self, chat_id: str, content: dict[str, Any]) -> Delivery:
        # slack_sdk's WebClient is synchronous: keep the event loop free meanwhile.
        return await asyncio.to_thread(self._send, chat_id, content)

    def _send(self, chat_id: str, content: dict[str, Any]) -> Delivery:
        reply = Reply(
            str(content.get("text", "")),
            [[Button(b["label"], b["payload"]) for b in row] for row in content.get("buttons", [])],
        )
        try:
            if image := content.get("image"):
                self.client.files_upload_v2(
                    channel=chat_id, content=base64.b64decode(image), filename="chart.png"
                )
            self.client.chat_postMessage(
                channel=chat_id, text=reply.text[:TEXT_LIMIT], blocks=blocks(reply)
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if exc.response.status_code == 429:
                wait = float(exc.response.headers.get("Retry-After", 1))
                return Delivery("retry_after", retry_after=wait, error=error)
            if error in PERMANENT:
                return Delivery("permanent", error=error)
            return Delivery("transient", error=error or str(exc))
        except TimeoutError as exc:
            return Delivery("unknown", error=str(exc))
        except OSError as exc:
            return Delivery("transient", error=str(exc))
        return SENT
