"""The one web entry point: the Telegram webhook, the chat page, /healthz and /metrics.

Which platforms are on follows from which credentials are set; with none, only the local
chat page runs. This module is the only place that knows every platform.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from bot.chat import binding
from bot.settings import Settings, get_settings
from bot.workdays import utc_now
from models import OutboxMessage, OutboxState

log = logging.getLogger(__name__)


class Metrics:
    """Prometheus counters for this process, and the outbox depth read at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "jixiao_updates", "Platform updates handled", ["platform"], registry=self.registry
        )
        self.errors = Counter(
            "jixiao_errors", "Updates that failed", ["platform"], registry=self.registry
        )
        depth = Gauge("jixiao_outbox_depth", "Messages waiting to be sent", registry=self.registry)
        depth.set_function(lambda: self._depth(sessions))
        # Bind-code guessing: read from the database, so every process's failures count.
        self.registry.register(binding.GUESSES)
        recent = Gauge(
            "jixiao_bind_failures_last_minute",
            "Wrong bind codes across every chat within the last minute",
            registry=self.registry,
        )
        recent.set_function(lambda: float(self._bind_failures(sessions)))
        alarm = Gauge(
            "jixiao_bind_guessing_alarm",
            "1 while wrong bind codes reach the overall limit (code checks paused)",
            registry=self.registry,
        )
        alarm.set_function(
            lambda: float(self._bind_failures(sessions) >= get_settings().bind_failures_per_minute)
        )

    @staticmethod
    def _bind_failures(sessions: sessionmaker[Session]) -> int:
        with sessions() as s:
            return binding.failures_last_minute(s, utc_now())

    @staticmethod
    def _depth(sessions: sessionmaker[Session]) -> float:
        with sessions() as s:
            waiting = s.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.state.in_((OutboxState.QUEUED, OutboxState.CLAIMED))
                )
            )
        return float(waiting or 0)


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


def telegram_webhook(
    settings: Settings,
    sessions: sessionmaker[Session],
    metrics: Metrics,
    base_url: str | None,
    clock: Callable[[], dt.datetime] | None,
) -> tuple[Route, Any]:
    """The webhook route and the application whose lifespan the server must run."""
    from telegram import Update

    from handlers.telegram.bot import build_application

    application = build_application(
        settings.telegram_bot_token, sessions, base_url=base_url, clock=clock
    )
    secret = settings.telegram_webhook_secret

    async def webhook(request: Request) -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secret or not hmac.compare_digest(given, secret):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
            await application.process_update(update)
            metrics.updates.labels("telegram").inc()
        except Exception:
            # Swallow and answer 200 OK, otherwise Telegram redelivers the same update
            # again and again; the error is logged and counted.
            log.exception("telegram update failed")
            metrics.errors.labels("telegram").inc()
        return PlainTextResponse("ok")

    return Route("/telegram/webhook", webhook, methods=["POST"]), application


def slack_events(
    settings: Settings,
    sessions: sessionmaker[Session],
    metrics: Metrics,
    base_url: str | None,
    clock: Callable[[], dt.datetime] | None,
) -> Route:
    """Slack's events, slash command and interactivity, all at one signed endpoint."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    from handlers.slack.app import build_app

    bolt = build_app(
        settings.slack_bot_token,
        settings.slack_signing_secret,
        sessions,
        base_url=base_url,
        clock=clock,
        bind_by_email=settings.slack_bind_by_email,
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
            metrics.errors.labels("slack").inc()
            return PlainTextResponse("error", status_code=500)
        # Refused (401) and unhandled (404) requests are no updates; a 500 is an error.
        if response.status_code >= 500:
            metrics.errors.labels("slack").inc()
        elif response.status_code < 400:
            metrics.updates.labels("slack").inc()
        return response

    return Route("/slack/events", events, methods=["POST"])


def create_server(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    personas: bool = False,
    telegram_base_url: str | None = None,
    slack_base_url: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> Starlette:
    from handlers.web import create_app

    metrics = Metrics(sessions)

    async def healthz(_: Request) -> Response:
        await run_in_threadpool(Metrics._depth, sessions)  # the database answers
        return JSONResponse({"ok": True})

    async def scrape(_: Request) -> Response:
        data = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    routes: list[Route | Mount] = [Route("/healthz", healthz), Route("/metrics", scrape)]
    applications = []
    if settings.telegram_bot_token:
        route, application = telegram_webhook(settings, sessions, metrics, telegram_base_url, clock)
        routes.append(route)
        applications.append(application)
    if settings.slack_bot_token and settings.slack_signing_secret:
        routes.append(slack_events(settings, sessions, metrics, slack_base_url, clock))
    routes.append(Mount("/", create_app(sessions, personas=personas)))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for app in applications:
            await app.initialize()
            await _announce_commands(app)
        try:
            yield
        finally:
            for app in applications:
                await app.shutdown()

    server = Starlette(routes=routes, lifespan=lifespan)
    server.state.metrics = metrics
    return server
