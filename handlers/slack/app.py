"""Slack events in, the conversation core's replies out, through slack-bolt.

Bolt verifies every request's signature and refuses stale ones (older than five
minutes). Each listener acknowledges at once; the conversation runs afterwards in bolt's
worker thread, inside one transaction that also records the event, so Slack's retries
change nothing. Replies are Block Kit: plain-text sections (names and comments are never
read as markup) and buttons whose values are the core's opaque payloads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

from bot.chat import binding
from bot.chat.context import Ctx
from bot.chat.dispatch import converse, handle_once
from bot.chat.sheet import save_sheet
from bot.chat.types import Incoming, Kind, Reply
from bot.workdays import utc_now
from handlers.slack import modal

log = logging.getLogger(__name__)
PLATFORM = "slack"
TEXT_LIMIT = 3000  # a section block's text


def blocks(reply: Reply) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    text = reply.text or " "
    for start in range(0, len(text), TEXT_LIMIT):
        out.append(
            {
                "type": "section",
                "text": {"type": "plain_text", "text": text[start : start + TEXT_LIMIT]},
            }
        )
    n = 0
    for row in reply.buttons:
        elements = []
        for button in row:
            n += 1
            elements.append(
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": button.label[:75]},
                    "value": button.payload,
                    "action_id": f"jx-{n}",
                }
            )
        if elements:
            out.append({"type": "actions", "elements": elements[:25]})
    return out


def run_once(
    sessions: sessionmaker[Session], key: str, incoming: Incoming, now: dt.datetime
) -> list[Reply] | None:
    """The conversation for one Slack event, once: None if `key` was handled before."""
    return handle_once(sessions, PLATFORM, key, incoming, now)


def modal_for(payload: str) -> Callable[[Ctx], dict[str, Any] | None]:
    def step(ctx: Ctx) -> dict[str, Any] | None:
        sheet = modal.sheet_for_button(ctx, payload)
        return None if sheet is None else modal.view(sheet)

    return step


def build_app(
    token: str,
    signing_secret: str,
    sessions: sessionmaker[Session],
    *,
    base_url: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    bind_by_email: bool = False,
) -> App:
    now = clock or utc_now
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        request_verification_enabled=True,
    )

    def email_binding(user: str) -> None:
        """HR may let Slack users bind by their workspace email instead of a code."""
        if not bind_by_email:
            return
        with sessions() as s:
            if binding.identity_exists(s, PLATFORM, user):
                return
        info: dict[str, Any] = client.users_info(user=user).data  # type: ignore[assignment]
        profile = info.get("user", {}).get("profile", {})
        with sessions() as s, s.begin():
            binding.bind_by_email(s, now(), PLATFORM, user, profile.get("email") or "")

    def send(channel: str, replies: list[Reply] | None) -> None:
        for reply in replies or []:
            client.chat_postMessage(
                channel=channel, text=reply.text[:TEXT_LIMIT], blocks=blocks(reply)
            )

    @app.command("/jixiao")
    def command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        ack()
        private = command.get("channel_name") == "directmessage"
        text = (command.get("text") or "").strip()
        incoming = Incoming(
            PLATFORM,
            command["user_id"],
            command["channel_id"],
            text=text if text.startswith("/") else (f"/{text}" if text else "/menu"),
            private=private,
        )
        email_binding(command["user_id"])
        key = f"cmd:{command.get('trigger_id', '')}"
        send(command["channel_id"], run_once(sessions, key, incoming, now()))

    @app.event("message")
    def message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return  # our own messages and edits are not questions
        email_binding(event["user"])
        kind = Kind.OTHER if event.get("subtype") == "file_share" else Kind.TEXT
        incoming = Incoming(
            PLATFORM,
            event["user"],
            event["channel"],
            kind=kind,
            text=event.get("text") or "",
            private=event.get("channel_type") == "im",
        )
        send(event["channel"], run_once(sessions, f"evt:{body.get('event_id')}", incoming, now()))

    @app.action({"action_id": re.compile(r"^jx-\d+$")})
    def button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id") or body["user"]["id"]
        incoming = Incoming(
            PLATFORM,
            body["user"]["id"],
            channel,
            kind=Kind.BUTTON,
            payload=action.get("value", ""),
            private=(body.get("channel") or {}).get("name") in (None, "directmessage")
            or channel.startswith("D"),
        )
        if (
            incoming.private
            and body.get("trigger_id")
            and incoming.payload.startswith(modal.TASK_BUTTON)
        ):
            # A person to score opens Slack's own form: a modal with every indicator.
            # (The prefix only spares other taps a second transaction; the signature is
            # checked inside.)
            with sessions() as s, s.begin():
                opened = converse(s, incoming, now(), modal_for(incoming.payload))
            if isinstance(opened, dict):
                client.views_open(trigger_id=body["trigger_id"], view=opened)
                return
            if isinstance(opened, list):  # refused: say why
                send(channel, opened)
                return
        key = f"act:{body.get('trigger_id') or action.get('action_ts')}"
        send(channel, run_once(sessions, key, incoming, now()))

    @app.view(modal.CALLBACK)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Problems go back inline beside each input; otherwise saved, or submitted once."""
        user = body["user"]["id"]
        task_id = int(json.loads(view.get("private_metadata") or "{}").get("task", 0))
        given, submit = modal.answers(view.get("state") or {})
        incoming = Incoming(PLATFORM, user, user, kind=Kind.BUTTON, private=True)
        with sessions() as s, s.begin():
            result = converse(
                s, incoming, now(), lambda ctx: save_sheet(ctx, task_id, given, submit)
            )
        if isinstance(result, dict):
            ack(response_action="errors", errors={f"ind-{k}": v for k, v in result.items()})
            return
        ack()
        send(user, result)

    @app.event("app_home_opened")
    def home(event: dict[str, Any], body: dict[str, Any]) -> None:
        """The App Home tab: the latest result, then the menu (tasks left, why this pay)."""
        if event.get("tab") not in (None, "home"):
            return
        user = event["user"]
        email_binding(user)
        replies = []
        for command in ("/myscore", "/menu"):  # the latest result first, then the menu
            incoming = Incoming(PLATFORM, user, user, text=command)
            replies += (
                run_once(sessions, f"evt:{body.get('event_id')}{command}", incoming, now()) or []
            )
        if replies:
            view = {"type": "home", "blocks": [b for r in replies for b in blocks(r)][:100]}
            client.views_publish(user_id=user, view=view)

    return app


def socket_mode(settings_token: str, app_token: str, sessions: sessionmaker[Session]) -> Any:
    """Socket Mode, for development without a public URL: the same app, over Slack's
    websocket instead of signed HTTP requests. Returns the handler; `.start()` blocks."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app = build_app(settings_token, "", sessions)
    return SocketModeHandler(app, app_token)
