"""What every command shares: language, database, the clock, one-line failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot import i18n
from bot.errors import Refused
from bot.i18n import _
from bot.settings import get_settings
from bot.workdays import utc_now
from models.db import make_engine, sessions, upgrade

# The --group option of every command that acts on one group.
GROUP = typer.Option(None, "--group", help=_("Group name (needed only if there are several)."))
# The period argument of every command that acts on one period.
PERIOD = typer.Argument(..., help=_("Period: 2026-11, 2026-Q4 or 2026."))


class Failure(typer.Exit):
    """A refusal: one line on stderr, exit status 2.

    It prints when raised because typer.Exit is the one exception every typer version
    (and its CliRunner) turns into a plain exit code; typer 0.29 bundles its own click,
    so a click.ClickException from the separate click package ends in a traceback.
    """

    def __init__(self, message: str) -> None:
        typer.echo(message, err=True)
        self.message = message
        super().__init__(code=2)

    def __str__(self) -> str:
        return self.message


def _use_language(lang: str | None) -> str | None:
    """Eager, so `jixiao --lang en --help` is already in English."""
    if lang:
        if i18n.resolve(lang, default="") not in i18n.LANGUAGES:
            raise Failure(_("Unknown language {lang!r}: use zh_CN or en.").format(lang=lang))
        i18n.set_language(lang)
    return lang


def global_options(
    lang: str = typer.Option(
        None,
        "--lang",
        is_eager=True,
        callback=_use_language,
        help=_("Language of messages and reports: zh_CN or en."),
    ),
    database_url: str = typer.Option(
        None, "--database-url", envvar="DATABASE_URL", help=_("Database to use.")
    ),
) -> None:
    if database_url:
        _state["database_url"] = database_url


_state: dict[str, str] = {}


@cache
def engine_for(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def engine() -> Engine:
    return engine_for(_state.get("database_url") or get_settings().database_url)


@contextmanager
def refusals() -> Iterator[None]:
    """A domain refusal becomes a one-line Failure (exit status 2), not a traceback."""
    try:
        yield
    except Refused as exc:
        raise Failure(str(exc)) from exc


@contextmanager
def transaction() -> Iterator[Session]:
    """One session and transaction: commits on success, rolls back on any error, and turns
    a domain refusal into a one-line Failure."""
    with sessions(engine())() as session, refusals(), session.begin():
        yield session


def now() -> dt.datetime:
    return utc_now()
