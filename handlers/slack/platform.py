"""Slack as a Jixiao platform (bot.platforms): signed events, sender, app link,
`jixiao slack-socket`."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from bot.infra.i18n import N_
from bot.infra.message import Reply
from bot.infra.settings import Settings
from bot.platforms import BindLink, Counters, DevCommand, Platform, Served
from handlers.slack.limits import SLACK_LIMITS
from handlers.slack.settings import ENV_EXAMPLE, KEYS, SlackSettings

log = logging.getLogger(__name__)


def app_link(app_id: str) -> str:
    """Opens the app's direct messages in the user's Slack, where they send their code."""
    return "https://slack.com/app_redirect?" + urlencode({"app": app_id})


class Slack:
    name = "slack"
    position = 20
    title = N_("Slack")
    link_setting = "SLACK_APP_ID"
    code_link: re.Pattern[str] | None = None
    limits = SLACK_LIMITS
    settings_keys = KEYS
    env_example = ENV_EXAMPLE

    def __init__(self, own: Callable[[], SlackSettings] = SlackSettings) -> None:
        self.own = own  # its settings, SLACK_* (handlers/slack/settings.py)

    def configured(self, settings: Settings) -> bool:
        return bool(self.own().bot_token)

    def secrets(self, settings: Settings) -> list[str]:
        own = self.own()
        return [own.bot_token, own.signing_secret, own.app_token]

    def bind_link(self, settings: Settings) -> BindLink | None:
        app_id = self.own().app_id
        if not app_id:
            return None
        return BindLink(
            N_("Slack link"),
            N_("Slack: open the link and send your bind code to the app as a message."),
            lambda _code: app_link(app_id),
        )

    def serve(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        counters: Counters,
        base_url: str | None,
        clock: Callable[[], dt.datetime] | None,
    ) -> Served:
        """Slack's events, slash command and interactivity, all at one signed endpoint."""
        own = self.own()
        if not own.signing_secret:
            return Served()  # nothing could be verified: no route at all
        from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Route

        from handlers.slack.app import build_app

        bolt = build_app(
            own.bot_token,
            own.signing_secret,
            sessions,
            base_url=base_url or own.api_url or None,
            clock=clock,
            bind_by_email=own.bind_by_email,
        )

        async def events(request: Request) -> Response:
            # Slack's library reads the timestamp as a number before it checks the
            # signature: anything else would fail inside it (a 500) instead of a refusal.
            timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
            if not (timestamp.isascii() and timestamp.isdigit()):
                return PlainTextResponse("invalid request", status_code=401)
            try:
                # Bolt's App is synchronous and its listeners may wait on the database: run
                # it in a worker thread, never on the event loop that serves every request.
                body = await request.body()
                answer = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
                response = to_starlette_response(answer)
            except Exception:
                log.exception("slack request failed")
                counters.error(self.name)
                return PlainTextResponse("error", status_code=500)
            # Refused (401) and unhandled (404) requests are no updates; a 500 is an error.
            if response.status_code >= 500:
                counters.error(self.name)
            elif response.status_code < 400:
                counters.update(self.name)
            return response

        return Served(routes=[Route("/slack/events", events, methods=["POST"])])

    def sender(
        self, settings: Settings, sessions: sessionmaker[Session]
    ) -> Coroutine[Any, Any, None]:
        from slack_sdk import WebClient

        from bot.notify.delivery import Sender
        from handlers.slack.transport import SlackTransport

        own = self.own()
        transport = SlackTransport(
            WebClient(
                token=own.bot_token,
                base_url=own.api_url or WebClient.BASE_URL,
            )
        )
        sender = Sender(
            sessions,
            transport,
            self.name,
            limits=self.limits,
            lease=settings.outbox_lease_seconds,
        )

        async def drain() -> None:
            await sender.drain(stop_when_empty=False)

        return drain()

    def render(self, reply: Reply) -> Any:
        from handlers.slack.app import blocks

        return blocks(reply)

    def dev_command(self) -> DevCommand:
        return DevCommand(
            "slack-socket",
            N_("Talk to Slack in Socket Mode, for development without a public URL."),
            _socket,
        )


def _socket(settings: Settings, sessions: sessionmaker[Session]) -> None:
    import typer

    from bot.cli.common import Failure
    from bot.infra.i18n import _
    from handlers.slack.app import socket_mode

    own = SlackSettings()
    if not (own.bot_token and own.app_token):
        raise Failure(_("Set SLACK_BOT_TOKEN and SLACK_APP_TOKEN first (see .env.example)."))
    typer.echo(_("Connecting to Slack in Socket Mode (Ctrl+C stops it)."))
    socket_mode(
        own.bot_token,
        own.app_token,
        sessions,
        base_url=own.api_url or None,
    ).start()


PLATFORM: Platform = Slack()
