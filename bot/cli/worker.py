"""`jixiao worker`: the scheduler (one per deployment, by lease) and the platform senders."""

from __future__ import annotations

import asyncio
import threading

import typer

from bot.cli import common
from bot.i18n import _
from bot.scheduler import run_scheduler
from bot.settings import get_settings


def worker() -> None:
    settings = get_settings()
    engine = common.engine()
    stop = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler, args=(engine, stop), name="scheduler", daemon=True
    )
    scheduler.start()
    typer.echo(_("Scheduler standing by for its lease; Ctrl+C stops the worker."))
    try:
        if settings.telegram_bot_token:
            # The only place besides `serve` that knows a platform by name.
            from bot.delivery import Limits
            from handlers.telegram.worker import run

            asyncio.run(
                run(
                    str(engine.url.render_as_string(hide_password=False)),
                    settings.telegram_bot_token,
                    None,
                    Limits(),
                    until_empty=False,
                )
            )
        else:
            # The chat page collects its own pushes; nothing else to send.
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        scheduler.join(timeout=30)


def register(app: typer.Typer) -> None:
    app.command(
        "worker",
        help=_("Run the reminder scheduler and send queued messages to the chat platforms."),
    )(worker)
