"""`jixiao demo` and `jixiao serve`: the local chat page on 127.0.0.1.

jixiao demo                 # fresh demo group, then the page at http://127.0.0.1:8000/
jixiao demo --no-reset      # keep the demo database (and what was scored in it)
jixiao serve --port 8080    # the page on the configured database; bind with HR's codes
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from importlib.metadata import entry_points

import typer
from sqlalchemy import Engine

from bot.cli import common
from bot.infra.i18n import _
from bot.infra.settings import get_settings
from bot.platforms import DevCommand
from models.db import sessions

HOST = "127.0.0.1"  # the page is for this computer only

PORT = typer.Option(8000, "--port", min=1, max=65535, help=_("Port to serve the page on."))
LOG_LEVEL = typer.Option(
    None,
    "--log-level",
    help=_(
        "How much to log, from the most to the least: debug, info, warning, error "
        "(default: LOG_LEVEL). Tokens and other secrets are replaced by *** at every level."
    ),
)


def start_logging(level: str | None) -> str:
    """The chosen level, with secrets redacted from every log line."""
    from bot import logs

    with common.refusals():
        return logs.setup(level, get_settings())


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        help=_("Prepare the demo database and chat with the bot as any of its people."),
    )(demo)
    app.command(
        "serve",
        help=_("Serve the chat page on this computer, on the configured database."),
    )(serve)
    # Each platform's development command (long polling, Socket Mode, a long connection).
    from bot import platforms

    for platform in platforms.registered():
        if (command := platform.dev_command()) is not None:
            app.command(command.name, help=_(command.help))(_dev(command))


def _dev(command: DevCommand) -> Callable[..., None]:
    def run(log_level: str | None = LOG_LEVEL) -> None:
        start_logging(log_level)
        command.run(get_settings(), sessions(common.engine()))

    run.__doc__ = command.help
    return run


def demo(
    port: int = PORT,
    no_reset: bool = typer.Option(
        False, "--no-reset", help=_("Keep the demo database as it is instead of rebuilding it.")
    ),
) -> None:
    from bot.cli import demo_data

    # Before the rebuild: a demo already running on this port keeps its data.
    check_port_free(
        port,
        busy=_(
            "Port {port} is in use, perhaps by a demo that is already running: stop that one "
            "with Ctrl+C, or start this one on another port with scripts/demo --port {other} "
            "(or PORT={other} scripts/demo)."
        ),
    )
    engine = common.engine()
    with common.refusals():
        demo_data.prepare(engine, common.now(), reset=not no_reset)
    run(engine, port, personas=True)


def serve(
    port: int = PORT,
    host: str = typer.Option(
        HOST,
        "--host",
        help=_(
            "Address to listen on: 0.0.0.0 behind a load balancer for the platforms' "
            "webhooks. The chat page still answers only requests from this computer."
        ),
    ),
    personas: bool = typer.Option(
        False,
        "--personas",
        help=_(
            "Let whoever opens the page play any person and get a bind code for them "
            "(only for demo and training data)."
        ),
    ),
    log_level: str | None = LOG_LEVEL,
) -> None:
    if personas and not loopback(host):
        raise common.Failure(
            _(
                "--personas lets whoever opens the page play any person and read their pay: "
                "it runs only on this computer's own address (127.0.0.1), not on {host}."
            ).format(host=host)
        )
    level = start_logging(log_level)
    run(common.engine(), port, personas=personas, host=host, log_level=level)


def loopback(host: str) -> bool:
    """Whether `host` is this computer's own address, reachable from nowhere else."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(
    engine: Engine, port: int, *, personas: bool, host: str = HOST, log_level: str = "WARNING"
) -> None:
    """Serve until Ctrl+C: the chat page, plus each platform whose credentials are set."""
    import uvicorn

    check_port_free(port, host)
    # The web server lives in handlers/, above bot/: found by its registered name.
    (point,) = entry_points(group="jixiao.web", name="server")
    create_server = point.load()
    app = create_server(get_settings(), sessions(engine), personas=personas)
    url = f"http://{HOST if host in ('0.0.0.0', '::') else host}:{port}/"
    typer.echo(_("Open the chat page at {url} (Ctrl+C stops it).").format(url=url))
    # The server's own access lines only when debugging; ours at the chosen level.
    quiet = "debug" if log_level == "DEBUG" else "warning"
    uvicorn.run(app, host=host, port=port, log_level=quiet)


def check_port_free(port: int, host: str = HOST, busy: str | None = None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As uvicorn does, so a port still in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = busy or _("Port {port} is in use: pick another with --port.")
                other = port + 1 if port < 65535 else 8001
                raise common.Failure(message.format(port=port, other=other)) from None
            raise
