"""Slack events in, the conversation core's replies out, through slack-bolt.

Bolt verifies every request's signature and refuses stale ones (older than five
minutes). Each listener acknowledges at once; the conversation runs afterwards in bolt's
worker thread, inside one transaction that also records the event, so Slack's retries
change nothing. Replies are Block Kit: plain-text sections (names and comments are never
read as markup) and buttons whose values are the core's opaque payloads.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.orm import Session, sessionmaker

from bot.chat import binding, language
from bot.chat.context import Ctx
from bot.chat.dispatch import converse, handle_once
from bot.chat.sheet import save_sheet
from bot.infra import i18n
from bot.infra.i18n import _
from bot.infra.message import Incoming, Kind, Reply
from bot.infra.workdays import utc_now
from handlers.slack import modal

log = logging.getLogger(__name__)
PLATFORM = "slack"
TEXT_LIMIT = 3000  # a section block's text
ACK_BUDGET = 2.0  # seconds of a modal's work before it is acknowledged regardless


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


def dm(channel: object) -> bool:
    """Whether a channel id is a direct message's (D…), by Slack's id scheme."""
    return isinstance(channel, str) and channel.startswith("D")


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


def direct_message(client: WebClient, chat_id: str, known: dict[str, str]) -> str:
    """The app's own DM (D…) with a user id (U…/W…), opened once and remembered in
    `known`. A user id as chat.postMessage's channel lands in the user's DM with
    *Slackbot*, not with the app (Slack's chat.postMessage docs; SlackNet#212), and
    files.completeUploadExternal refuses it outright (bolt-js#2115)."""
    if not chat_id.startswith(("U", "W")):
        return chat_id  # already a conversation
    if chat_id not in known:
        opened = client.conversations_open(users=chat_id)
        known[chat_id] = str((opened.get("channel") or {}).get("id") or chat_id)
    return known[chat_id]


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
    workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-modal")
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    dms: dict[str, str] = {}  # user id → the app's DM with them
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

    def send(user: str, replies: list[Reply] | None) -> None:
        """Replies go to the speaker's own direct messages with the app (its D… id),
        never to the channel a request names: figures stay there, and a refused button
        pressed elsewhere is not answered in someone else's chat."""
        channel = direct_message(client, user, dms) if replies else user
        for reply in replies or []:
            client.chat_postMessage(
                channel=channel, text=reply.text[:TEXT_LIMIT], blocks=blocks(reply)
            )
            if reply.image:
                picture(channel, reply)

    def picture(channel: str, reply: Reply) -> None:
        """A reply's chart follows its text as a file in the same DM. A failed upload
        costs the picture only: the text (which has every figure) is already there."""
        try:
            client.files_upload_v2(
                channel=channel, content=reply.image, filename=reply.image_name or "chart.png"
            )
        except SlackApiError as exc:
            log.warning("slack: chart upload failed: %s", exc.response.get("error", ""))

    def whisper(channel: str, user: str, replies: list[Reply] | None) -> None:
        """Replies in a channel: seen only by the speaker (they carry no figures: the
        core answers a public chat with "I'll reply privately")."""
        for reply in replies or []:
            client.chat_postEphemeral(
                channel=channel, user=user, text=reply.text[:TEXT_LIMIT], blocks=blocks(reply)
            )

    @app.command("/jixiao")
    def command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        user = command["user_id"]
        # A direct message (a D… id); answers go to the user's own DM with the app, so
        # a DM between two people never shows them. Anywhere else, only a note the
        # speaker alone sees.
        private = dm(command.get("channel_id"))
        text = (command.get("text") or "").strip()
        incoming = Incoming(
            PLATFORM,
            user,
            user,
            text=text if text.startswith("/") else (f"/{text}" if text else "/menu"),
            private=private,
        )
        email_binding(user)
        replies = run_once(sessions, f"cmd:{command.get('trigger_id', '')}", incoming, now())
        if private:
            send(user, replies)
            return
        for reply in replies or []:
            respond(text=reply.text[:TEXT_LIMIT], response_type="ephemeral")

    @app.event("message")
    def message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return  # our own messages and edits are not questions
        if event.get("channel_type") != "im":
            return  # a channel's talk is not addressed to the bot: no public replies
        email_binding(event["user"])
        kind = Kind.OTHER if event.get("subtype") == "file_share" else Kind.TEXT
        incoming = Incoming(
            PLATFORM,
            event["user"],
            event["user"],
            kind=kind,
            text=event.get("text") or "",
            private=True,
        )
        send(event["user"], run_once(sessions, f"evt:{body.get('event_id')}", incoming, now()))

    @app.event("app_mention")
    def mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        """@Jixiao in a channel: answered, where only the speaker sees it, by the core's
        own public-chat answer (how to bind, or "I'll reply privately")."""
        user, channel = event.get("user"), event.get("channel")
        if not user or not channel or event.get("bot_id"):
            return
        incoming = Incoming(PLATFORM, user, channel, text="/menu", private=False)
        whisper(channel, user, run_once(sessions, f"evt:{body.get('event_id')}", incoming, now()))

    @app.action({"action_id": re.compile(r"^jx-\d+$")})
    def button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user = body["user"]["id"]
        # Private by the channel id's type, never by its name: a D… id is a direct
        # message; no channel at all is the App Home or a modal, answered in the DM.
        channel = (body.get("channel") or {}).get("id")
        private = channel is None or dm(channel)
        incoming = Incoming(
            PLATFORM,
            user,
            user,
            kind=Kind.BUTTON,
            payload=action.get("value", ""),
            private=private,
        )
        if private and body.get("trigger_id") and incoming.payload.startswith(modal.TASK_BUTTON):
            # A person to score opens Slack's own form: a modal with every indicator.
            # (The prefix only spares other taps a second transaction; the signature is
            # checked inside.)
            with sessions() as s, s.begin():
                opened = converse(s, incoming, now(), modal_for(incoming.payload))
            if isinstance(opened, dict):
                client.views_open(trigger_id=body["trigger_id"], view=opened)
                return
            if isinstance(opened, list):  # refused: say why
                send(user, opened)
                return
        key = f"act:{body.get('trigger_id') or action.get('action_ts')}"
        replies = run_once(sessions, key, incoming, now())
        if private or channel is None:
            send(user, replies)
        else:
            whisper(channel, user, replies)

    @app.view(modal.CALLBACK)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Problems go back inline beside each input; otherwise saved, or submitted once.
        A submission the app never built (forged metadata or fields), or by someone no
        longer bound, is answered politely and writes nothing."""
        user = body["user"]["id"]
        try:
            task_id, given, submit = modal.submission(view)
        except modal.Malformed:
            ack()
            log.warning("slack: a malformed modal submission was refused")
            return
        incoming = Incoming(PLATFORM, user, user, kind=Kind.BUTTON, private=True)

        def step(ctx: Ctx) -> dict[int, str] | list[Reply]:
            if ctx.me is None:
                return [binding.how_to_bind()]
            return save_sheet(ctx, task_id, given, submit)

        def work() -> dict[int, str] | list[Reply]:
            with sessions() as s, s.begin():
                return converse(s, incoming, now(), step)

        # Slack waits 3 s for the acknowledgement. Problems are shown inline when the
        # database answers in time; when it is slow the modal closes at once and the
        # outcome (saved, or what to correct) arrives in the DM, never a timeout.
        pending = workers.submit(work)
        try:
            result = pending.result(timeout=ACK_BUDGET)
        except TimeoutError:
            ack()
            pending.add_done_callback(lambda done: late(user, done.result()))
            return
        if isinstance(result, dict):
            ack(response_action="errors", errors={f"ind-{k}": v for k, v in result.items()})
            return
        ack()
        send(user, result)

    def late(user: str, result: dict[int, str] | list[Reply]) -> None:
        """The outcome of a modal acknowledged before its work finished."""
        if isinstance(result, dict):
            with i18n.using(language_of_user(user)):
                lines = [_("Nothing was saved from the form; please open it again and correct:")]
                lines += [f"- {problem}" for problem in result.values()]
            result = [Reply("\n".join(lines))]
        send(user, result)

    def language_of_user(user: str) -> str:
        incoming = Incoming(PLATFORM, user, user, kind=Kind.OTHER, private=True)
        with sessions() as s:
            spoken = converse(s, incoming, now(), language.of)
            s.rollback()
        return spoken if isinstance(spoken, str) else i18n.default_language()

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


def socket_mode(
    settings_token: str,
    app_token: str,
    sessions: sessionmaker[Session],
    base_url: str | None = None,
) -> Any:
    """Socket Mode, for development without a public URL: the same app, over Slack's
    websocket instead of signed HTTP requests. Returns the handler; `.start()` blocks."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app = build_app(settings_token, "", sessions, base_url=base_url)
    return SocketModeHandler(app, app_token)
