"""What every command shares: language, database, the clock, one-line failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import IO, Any

import click
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot import i18n
from bot.errors import Refused
from bot.i18n import _
from bot.settings import get_settings
from models.db import make_engine, sessions, upgrade


class Failure(click.ClickException):
    """Printed as one line on stderr (no "Error:" prefix); the process exits with status 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, err=True, file=file)


def global_options(
    lang: str = typer.Option(
        None, "--lang", help=_("Language of messages and reports: zh_CN or en.")
    ),
    database_url: str = typer.Option(
        None, "--database-url", envvar="DATABASE_URL", help=_("Database to use.")
    ),
) -> None:
    if lang:
        i18n.set_language(lang)
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
def transaction() -> Iterator[Session]:
    """One session and transaction: commits on success, rolls back on any error, and turns
    a domain refusal into a one-line Failure."""
    with sessions(engine())() as session:
        try:
            with session.begin():
                yield session
        except Refused as exc:
            raise Failure(str(exc)) from exc


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
