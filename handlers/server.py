"""The one web entry point: the Telegram webhook, the chat page, /healthz, /metrics and
/api/metrics (business data pushed in).

Which platforms are on follows from which credentials are set; with none, only the local
chat page runs. This module is the only place that knows every platform.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from bot.chat import binding
from bot.delivery import Limits
from bot.health import SENT_WINDOW, operations
from bot.settings import Settings, get_settings
from bot.workdays import utc_now
from handlers.metrics_api import metrics_route
from handlers.slack.transport import SLACK_LIMITS

log = logging.getLogger(__name__)

# Each platform's overall limit, as its sender keeps it (bot.delivery.Limits).
SEND_LIMITS = {"telegram": Limits().per_second, "slack": SLACK_LIMITS.per_second}


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
        self.registry.register(OperationsCollector(sessions))
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


def _database_answers(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        s.execute(select(literal(1)))


class OperationsCollector(Collector):
    """The deployment's state as gauges, read in one go at each scrape (bot.health)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as s:
            found = operations(s, utc_now())
        yield GaugeMetricFamily(
            "jixiao_outbox_depth", "Messages waiting to be sent", value=found.waiting
        )
        yield GaugeMetricFamily(
            "jixiao_outbox_oldest_ready_seconds",
            "How long the oldest message due has waited to be sent",
            value=found.oldest_ready_seconds,
        )
        leader = GaugeMetricFamily(
            "jixiao_scheduler_leader",
            "1 for the process holding the scheduler lease",
            labels=["holder"],
        )
        if found.leader:
            leader.add_metric([found.leader], 1.0)
        yield leader
        yield GaugeMetricFamily(
            "jixiao_scheduler_lease_age_seconds",
            "Seconds since the scheduler leader renewed its lease (-1: no leader)",
            value=found.lease_age_seconds,
        )
        alive = GaugeMetricFamily(
            "jixiao_senders_alive", "Senders running, per platform", labels=["platform"]
        )
        rate = GaugeMetricFamily(
            "jixiao_sent_per_second",
            "Messages sent per second over the last minute, per platform",
            labels=["platform"],
        )
        limit = GaugeMetricFamily(
            "jixiao_send_limit_per_second",
            "The platform's overall sending limit the senders share",
            labels=["platform"],
        )
        for platform, per_second in SEND_LIMITS.items():
            alive.add_metric([platform], float(found.senders.get(platform, 0)))
            sent = found.sent_last_minute.get(platform, 0)
            rate.add_metric([platform], sent / SENT_WINDOW.total_seconds())
            limit.add_metric([platform], per_second)
        yield alive
        yield rate
        yield limit


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
        """Whether this process reaches the database: what a load balancer needs."""
        try:
            await run_in_threadpool(_database_answers, sessions)
        except SQLAlchemyError:
            log.warning("healthz: the database does not answer", exc_info=True)
            return JSONResponse({"ok": False, "database": False}, status_code=503)
        return JSONResponse({"ok": True})

    async def scrape(_: Request) -> Response:
        data = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    routes: list[Route | Mount] = [
        Route("/healthz", healthz),
        Route("/metrics", scrape),
        metrics_route(settings, sessions),
    ]
    applications = []
    if settings.telegram_bot_token:
        base = telegram_base_url or settings.telegram_api_url or None
        route, application = telegram_webhook(settings, sessions, metrics, base, clock)
        routes.append(route)
        applications.append(application)
    if settings.slack_bot_token and settings.slack_signing_secret:
        base = slack_base_url or settings.slack_api_url or None
        routes.append(slack_events(settings, sessions, metrics, base, clock))
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
