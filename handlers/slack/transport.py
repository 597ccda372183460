"""Sending outbox messages to Slack, and classifying what went wrong (the decisions are
bot.notify.delivery's). Slack allows about one message a second per channel."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.infra.message import Reply
from bot.notify.delivery import SENT, Delivery
from handlers.slack.app import TEXT_LIMIT, blocks, direct_message
from handlers.slack.limits import SLACK_LIMITS

__all__ = ["SLACK_LIMITS", "SlackTransport"]

# Errors that retrying will not fix: the person or channel is gone or unreachable, or
# the request itself is wrong (`invalid_arguments`: e.g. a file shared to a user id).
PERMANENT = {
    "channel_not_found",
    "user_not_found",
    "account_inactive",
    "is_archived",
    "not_in_channel",
    "cannot_dm_bot",
    "user_disabled",
    "invalid_auth",
    "invalid_arguments",
}
# Of those, the ones that mean the person cannot be reached at all.
UNREACHABLE = {"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot"}


class SlackTransport:
    """A push is the text with its buttons, then its chart as a file in the same DM: so
    a chart that cannot be uploaded never costs the text and the button. Pushes are
    addressed to a user id (U…); messages and files go to the DM with the app (D…),
    which `conversations.open` gives: files.completeUploadExternal accepts only
    channel ids (C, G, D, Z), never a user id."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._dms: dict[str, str] = {}

    def parts(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        """A push is a Reply (bot.infra.message): its text and buttons, then its picture."""
        reply = Reply.from_content(content)
        out = [Reply(reply.text, reply.buttons).to_content()]
        if reply.image:
            out.append(Reply("", image=reply.image, image_name=reply.image_name).to_content())
        return out

    async def send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        # slack_sdk's WebClient is synchronous: keep the event loop free meanwhile.
        return await asyncio.to_thread(self._send, chat_id, part)

    def _channel(self, chat_id: str) -> str:
        return direct_message(self.client, chat_id, self._dms)

    def _send(self, chat_id: str, part: dict[str, Any]) -> Delivery:
        try:
            channel = self._channel(chat_id)
            reply = Reply.from_content(part)
            if reply.image:
                self.client.files_upload_v2(
                    channel=channel, content=reply.image, filename=reply.image_name or "chart.png"
                )
            else:
                self.client.chat_postMessage(
                    channel=channel, text=reply.text[:TEXT_LIMIT], blocks=blocks(reply)
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if exc.response.status_code == 429:
                wait = float(exc.response.headers.get("Retry-After", 1))
                return Delivery("retry_after", retry_after=wait, error=error)
            if error in PERMANENT:
                return Delivery("permanent", error=error, unreachable=error in UNREACHABLE)
            return Delivery("transient", error=error or str(exc))
        except TimeoutError as exc:
            return Delivery("unknown", error=str(exc))
        except OSError as exc:
            return Delivery("transient", error=str(exc))
        return SENT
