"""Telegram as a Jixiao platform (bot.platforms): webhook, sender, deep link, `jixiao poll`."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.infra.i18n import N_
from bot.infra.message import Reply
from bot.infra.settings import Settings
from bot.notify.delivery import Limits
from bot.platforms import BindLink, Counters, DevCommand, Platform, Served
from handlers.telegram.settings import ENV_EXAMPLE, KEYS, TelegramSettings

log = logging.getLogger(__name__)


def deep_link(code: str, bot_username: str) -> str:
    from bot.chat.codes import normalise

    return f"https://t.me/{bot_username}?start={normalise(code)}"


class Telegram:
    name = "telegram"
    position = 10
    title = N_("Telegram")
    link_setting = "TELEGRAM_BOT_USERNAME"
    # A pasted deep link (https://t.me/<bot>?start=CODE) carries the code.
    code_link: re.Pattern[str] | None = re.compile(
        r"(?:https?://)?(?:t\.me|telegram\.me)/\w+/?\?start=([A-Za-z0-9_-]+)", re.I
    )
    # Telegram's published limits: 30 messages a second overall, one a second per chat,
    # 20 a minute per group (bot.notify.delivery.Limits' defaults, with their margin).
    limits = Limits()
    settings_keys = KEYS
    env_example = ENV_EXAMPLE

    def __init__(self, own: Callable[[], TelegramSettings] = TelegramSettings) -> None:
        self.own = own  # its settings, TELEGRAM_* (handlers/telegram/settings.py)

    def configured(self, settings: Settings) -> bool:
        return bool(self.own().bot_token)

    def secrets(self, settings: Settings) -> list[str]:
        own = self.own()
        token = own.bot_token
        # The token's secret half too: some messages quote it without the bot id.
        return [token, token.partition(":")[2], own.webhook_secret]

    def bind_link(self, settings: Settings) -> BindLink | None:
        own = self.own()
        if not (own.bot_token and own.bot_username):
            return None
        username = own.bot_username
        return BindLink(
            N_("Telegram link"),
            N_("Telegram: tap your link; it opens the bot and binds you in one step."),
            lambda code: deep_link(code, username),
        )

    def serve(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        counters: Counters,
        base_url: str | None,
        clock: Callable[[], dt.datetime] | None,
    ) -> Served:
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse, Response
        from starlette.routing import Route
        from telegram import Update

        from handlers.telegram.bot import build_application

        own = self.own()
        application = build_application(
            own.bot_token,
            sessions,
            base_url=base_url or own.api_url or None,
            clock=clock,
        )
        secret = own.webhook_secret

        async def webhook(request: Request) -> Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not secret or not hmac.compare_digest(given, secret):
                return PlainTextResponse("forbidden", status_code=403)
            try:
                update = Update.de_json(await request.json(), application.bot)
                await application.process_update(update)
                counters.update(self.name)
            except Exception:
                # Swallow and answer 200 OK, otherwise Telegram redelivers the same update
                # again and again; the error is logged and counted.
                log.exception("telegram update failed")
                counters.error(self.name)
            return PlainTextResponse("ok")

        async def start() -> None:
            await application.initialize()
            await _announce_commands(application)

        return Served(
            routes=[Route("/telegram/webhook", webhook, methods=["POST"])],
            startup=[start],
            shutdown=[application.shutdown],
        )

    def sender(
        self, settings: Settings, sessions: sessionmaker[Session]
    ) -> Coroutine[Any, Any, None]:
        from telegram import Bot

        from bot.notify.delivery import Sender
        from handlers.telegram.transport import TelegramTransport

        own = self.own()

        async def drain() -> None:
            base = own.api_url or "https://api.telegram.org/bot"
            async with Bot(own.bot_token, base_url=base) as bot:
                sender = Sender(
                    sessions,
                    TelegramTransport(bot),
                    self.name,
                    limits=self.limits,
                    lease=settings.outbox_lease_seconds,
                )
                await sender.drain(stop_when_empty=False)

        return drain()

    def render(self, reply: Reply) -> Any:
        from handlers.telegram.transport import sends

        return sends([reply], editable=True)

    def dev_command(self) -> DevCommand:
        return DevCommand(
            "poll",
            N_("Talk to Telegram by long polling, for development without a public URL."),
            _poll,
        )


async def _announce_commands(application: Any) -> None:
    """Telegram's command menu (/menu, /progress, /status …) is set at every start, so a
    webhook deployment shows it as polling does. A failure here is logged, not fatal: the
    bot answers without a menu."""
    from telegram.error import TelegramError

    from handlers.telegram.bot import set_commands

    try:
        await set_commands(application)
    except TelegramError:
        log.warning("could not set Telegram's command menu", exc_info=True)


def _poll(settings: Settings, sessions: sessionmaker[Session]) -> None:
    from bot.cli.common import Failure
    from bot.infra.i18n import _
    from handlers.telegram.bot import poll

    own = TelegramSettings()
    if not own.bot_token:
        raise Failure(_("Set TELEGRAM_BOT_TOKEN first (see .env.example)."))
    import typer

    typer.echo(_("Polling Telegram for updates (Ctrl+C stops it)."))
    poll(own.bot_token, sessions, base_url=own.api_url or None)


PLATFORM: Platform = Telegram()
