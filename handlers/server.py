"""The one web entry point: each platform's routes, the chat page, /healthz, /metrics and
/api/metrics (business data pushed in).

Which platforms are on follows from which credentials are set; with none, only the local
chat page runs. Platforms come from the registry (bot.platforms): none is named here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterator

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
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot import platforms
from bot.chat import binding
from bot.infra.settings import Settings, get_settings
from bot.infra.workdays import utc_now
from bot.notify.health import SENT_WINDOW, operations
from handlers.metrics_api import metrics_route

log = logging.getLogger(__name__)


def send_limits() -> dict[str, float]:
    """Each platform's overall limit per second, as its sender keeps it."""
    return {p.name: p.limits.per_second for p in platforms.registered()}


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

    def update(self, platform: str) -> None:
        self.updates.labels(platform).inc()

    def error(self, platform: str) -> None:
        self.errors.labels(platform).inc()

    @staticmethod
    def _bind_failures(sessions: sessionmaker[Session]) -> int:
        with sessions() as s:
            return binding.failures_last_minute(s, utc_now())


def _database_answers(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        s.execute(select(literal(1)))


class OperationsCollector(Collector):
    """The deployment's state as gauges, read in one go at each scrape (bot.notify.health)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as s:
            found = operations(s, utc_now(), get_settings().scheduler_lease_seconds)
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
        for platform, per_second in send_limits().items():
            alive.add_metric([platform], float(found.senders.get(platform, 0)))
            sent = found.sent_last_minute.get(platform, 0)
            rate.add_metric([platform], sent / SENT_WINDOW.total_seconds())
            limit.add_metric([platform], per_second)
        yield alive
        yield rate
        yield limit


def create_server(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    personas: bool = False,
    clock: Callable[[], dt.datetime] | None = None,
    **base_urls: str | None,
) -> Starlette:
    """`<platform>_base_url=` points that platform's client at a local API (tests, fakes)."""
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

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/metrics", scrape),
        metrics_route(settings, sessions),
    ]
    served = [
        p.serve(settings, sessions, metrics, base_urls.get(f"{p.name}_base_url"), clock)
        for p in platforms.enabled(settings)
    ]
    for part in served:
        routes.extend(part.routes)
    routes.append(Mount("/", create_app(sessions, personas=personas)))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for part in served:
            for start in part.startup:
                await start()
        try:
            yield
        finally:
            for part in served:
                for stop in part.shutdown:
                    await stop()

    server = Starlette(routes=routes, lifespan=lifespan)
    server.state.metrics = metrics
    return server
