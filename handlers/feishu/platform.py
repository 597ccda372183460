"""Feishu as a Jixiao platform (bot.platforms): encrypted, signed event callbacks at
/feishu/events, the outbox sender within Feishu's limits, `jixiao feishu-socket` (the
SDK's long connection) for development. Its settings are its own (FEISHU_*)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.infra.i18n import N_
from bot.infra.message import Reply
from bot.infra.settings import Settings
from bot.platforms import BindLink, Counters, DevCommand, Platform, Served
from handlers.feishu.limits import FEISHU_LIMITS
from handlers.feishu.settings import ENV_EXAMPLE, KEYS, FeishuSettings

log = logging.getLogger(__name__)


def _own() -> FeishuSettings:
    return FeishuSettings()


class Feishu:
    name = "feishu"
    position = 30
    title = N_("Feishu")
    link_setting = "FEISHU_APP_ID"
    code_link: re.Pattern[str] | None = None
    limits = FEISHU_LIMITS
    settings_keys = KEYS
    env_example = ENV_EXAMPLE

    def __init__(self, own: Callable[[], FeishuSettings] = _own) -> None:
        self.own = own

    def configured(self, settings: Settings) -> bool:
        return self.own().on

    def secrets(self, settings: Settings) -> list[str]:
        own = self.own()
        return [own.app_secret, own.verification_token, own.encrypt_key]

    def bind_link(self, settings: Settings) -> BindLink | None:
        own = self.own()
        if not own.on:
            return None
        # Opens the app's bot in Feishu (its AppLink), where the code is sent as a message.
        link = f"https://applink.feishu.cn/client/bot/open?appId={own.app_id}"
        return BindLink(
            N_("Feishu link"),
            N_("Feishu: open the link and send your bind code to the bot as a message."),
            lambda _code: link,
        )

    def serve(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        counters: Counters,
        base_url: str | None,
        clock: Callable[[], dt.datetime] | None,
    ) -> Served:
        own = self.own()
        if not (own.verification_token and own.encrypt_key):
            # Nothing could be verified: no route at all (the long connection still works).
            log.warning("feishu: FEISHU_VERIFICATION_TOKEN and FEISHU_ENCRYPT_KEY unset")
            return Served()
        if base_url:
            own = own.model_copy(update={"api_url": base_url})
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        from handlers.feishu.app import NONCE, SIGNATURE, TIMESTAMP, Bot
        from handlers.feishu.client import make_client

        bot = Bot(own, sessions, make_client(own), clock)

        async def events(request: Request) -> Response:
            body = await request.body()
            headers = {k: request.headers.get(k, "") for k in (TIMESTAMP, NONCE, SIGNATURE)}
            try:
                status, content = await run_in_threadpool(
                    bot.handle, request.url.path, headers, body
                )
            except Exception:
                log.exception("feishu callback failed")
                counters.error(self.name)
                return Response(b'{"msg":"error"}', 500, media_type="application/json")
            if status >= 500:
                counters.error(self.name)
            elif status < 400:
                counters.update(self.name)
            return Response(content, status, media_type="application/json")

        return Served(routes=[Route("/feishu/events", events, methods=["POST"])])

    def sender(
        self, settings: Settings, sessions: sessionmaker[Session]
    ) -> Coroutine[Any, Any, None]:
        from bot.notify.delivery import Sender
        from handlers.feishu.client import make_client
        from handlers.feishu.transport import FeishuTransport

        transport = FeishuTransport(make_client(self.own()))
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
        from handlers.feishu.cards import card

        return card(reply)

    def dev_command(self) -> DevCommand:
        return DevCommand(
            "feishu-socket",
            N_("Talk to Feishu over its long connection, for development without a public URL."),
            self._socket,
        )

    def _socket(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        import lark_oapi as lark  # type: ignore[import-untyped]
        import typer

        from bot.cli.common import Failure
        from bot.infra.i18n import _
        from handlers.feishu.app import Bot
        from handlers.feishu.client import make_client

        own = self.own()
        if not own.on:
            raise Failure(_("Set FEISHU_APP_ID and FEISHU_APP_SECRET first (see .env.example)."))
        bot = Bot(own, sessions, make_client(own))
        typer.echo(_("Connecting to Feishu over its long connection (Ctrl+C stops it)."))
        lark.ws.Client(
            own.app_id, own.app_secret, event_handler=bot.dispatcher, domain=own.domain
        ).start()


PLATFORM: Platform = Feishu()
