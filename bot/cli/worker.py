"""`jixiao worker`: the scheduler (one per deployment, by lease) and the platform senders."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import typer
from sqlalchemy import Engine

from bot.cli import common
from bot.cli.serve import LOG_LEVEL, start_logging
from bot.infra.i18n import _
from bot.infra.settings import Settings, get_settings
from bot.infra.workdays import utc_now
from bot.notify.outbox import recover
from bot.notify.scheduler import run_scheduler
from models.db import sessions


def worker(log_level: str | None = LOG_LEVEL) -> None:
    start_logging(log_level)
    settings = get_settings()
    engine = common.engine()
    stop = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler,
        args=(sessions(engine), stop),
        kwargs={
            "clock": utc_now,
            "lease_seconds": settings.scheduler_lease_seconds,
            "retention_days": settings.outbox_retention_days,
        },
        name="scheduler",
        daemon=True,
    )
    scheduler.start()
    with sessions(engine)() as s, s.begin():
        # Leases that ran out while no worker ran go back to the queue.
        recover(s, common.now())
    typer.echo(_("Scheduler standing by for its lease; Ctrl+C stops the worker."))
    try:
        senders = _senders(settings, engine)
        if senders:
            asyncio.run(_run_all(senders))
        else:
            # The chat page collects its own pushes; nothing else to send.
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        scheduler.join(timeout=30)


def _senders(settings: Settings, engine: Engine) -> list[Coroutine[Any, Any, None]]:
    """One sender per registered platform whose credentials are set (bot.platforms)."""
    from bot import platforms

    return [p.sender(settings, sessions(engine)) for p in platforms.enabled(settings)]


async def _run_all(jobs: list[Coroutine[Any, Any, None]]) -> None:
    await asyncio.gather(*jobs)


def register(app: typer.Typer) -> None:
    app.command(
        "worker",
        help=_("Run the reminder scheduler and send queued messages to the chat platforms."),
    )(worker)
