"""What a chat platform provides, and the registry of the platforms installed.

A platform is one folder under handlers/ with a `platform.py` holding an object that
satisfies `Platform`, registered by one line in pyproject.toml's
`[project.entry-points."jixiao.platforms"]`. The server, the worker, the CLI's
development commands, the bind-code sheet and .env.example iterate `registered()` and
name no platform: this module knows them only through that entry-point group, so the
layers still point one way (handlers → bot → models).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from bot.infra.message import Reply
from bot.infra.settings import Settings
from bot.notify.delivery import Limits

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

GROUP = "jixiao.platforms"


@dataclass(frozen=True, slots=True)
class BindLink:
    """A column of the bind-code sheet: the link that opens the bot on this platform."""

    header: str  # msgid of the column's header
    how: str  # msgid of the instruction under the table
    link: Callable[[str], str]  # bind code → link


class Counters(Protocol):
    """The server's per-platform counters (Prometheus), as a platform's routes see them."""

    def update(self, platform: str) -> None: ...

    def error(self, platform: str) -> None: ...


@dataclass
class Served:
    """A platform's part of the web server: its routes, and what must run at start and
    stop (a client library's own start-up, a command menu)."""

    routes: list[BaseRoute] = field(default_factory=list)
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DevCommand:
    """A `jixiao` subcommand that talks to the platform without a public URL (long
    polling, Socket Mode, a long connection). `run(settings, sessions)` blocks."""

    name: str
    help: str  # msgid
    run: Callable[[Settings, sessionmaker[Session]], None]


@runtime_checkable
class Platform(Protocol):
    name: str  # stored in chat identities and the outbox: never renamed
    position: int  # where it comes in listings (sheet columns, .env.example sections)
    title: str  # msgid of its name as people know it
    # The setting its bind-code link needs; and a pasted link of its own carrying a code
    # (group 1), which binds as the bare code does.
    link_setting: str
    code_link: re.Pattern[str] | None
    # Its rate limits, in its own units (per second, per minute, per chat).
    limits: Limits
    # Its settings, as environment names (the first one switches it on), and the
    # .env.example section documenting them.
    settings_keys: tuple[str, ...]
    env_example: str

    def configured(self, settings: Settings) -> bool:
        """Whether its credentials are set: otherwise server and worker leave it off."""
        ...

    def secrets(self, settings: Settings) -> list[str]:
        """Values that must never reach a log line."""
        ...

    def bind_link(self, settings: Settings) -> BindLink | None:
        """The link for bind-code sheets; None where the platform has none configured."""
        ...

    def serve(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        counters: Counters,
        base_url: str | None,
        clock: Callable[[], dt.datetime] | None,
    ) -> Served:
        """Its routes in the web server: inbound requests verified, made `Incoming`,
        answered by the conversation and rendered."""
        ...

    def sender(
        self, settings: Settings, sessions: sessionmaker[Session]
    ) -> Coroutine[Any, Any, None]:
        """Drains the outbox to this platform within its limits, until cancelled; its
        transport classifies failures as permanent (unreachable or not), retry-after,
        transient or unknown (bot.notify.delivery.Delivery)."""
        ...

    def render(self, reply: Reply) -> Any:
        """A reply (an answer or a push) in the platform's own idiom."""
        ...

    def dev_command(self) -> DevCommand | None: ...


@lru_cache(maxsize=1)
def registered() -> tuple[Platform, ...]:
    """Every installed platform, in a stable order (by position)."""
    found: list[Platform] = []
    for point in entry_points(group=GROUP):
        platform = point.load()
        if not isinstance(platform, Platform):
            raise TypeError(f"{point.value} is not a jixiao platform")
        found.append(platform)
    return tuple(sorted(found, key=lambda p: (p.position, p.name)))


def enabled(settings: Settings) -> list[Platform]:
    return [p for p in registered() if p.configured(settings)]


def named(name: str) -> Platform | None:
    return next((p for p in registered() if p.name == name), None)


def env_sections() -> Sequence[str]:
    return [p.env_example.strip("\n") for p in registered()]
