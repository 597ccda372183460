"""What every command shares: language, database, the clock, one-line failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.infra import i18n
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.settings import get_settings
from bot.infra.workdays import utc_now
from models.db import make_engine, schema_state, sessions, upgrade

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


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """The database, its schema checked against this code (once per process): a new
    (empty) database gets every table; one behind or ahead of the code is refused, with
    the way out."""
    if url not in _engines:
        engine = make_engine(url)
        try:
            require_current_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        _engines[url] = engine
    return _engines[url]


def forget_engine(url: str) -> None:
    """Close and forget `url`'s engine (a test about to drop that database)."""
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def require_current_schema(engine: Engine) -> None:
    state = schema_state(engine)
    if state.new:
        upgrade(engine)
        state = schema_state(engine)
    if state.foreign:
        raise Failure(
            _("This database holds tables that are not Jixiao's: point DATABASE_URL elsewhere.")
        )
    if state.ahead:
        raise Failure(
            _(
                "The database was upgraded by a newer Jixiao (revision {found}; this one "
                "knows up to {head}): install that version, never an older one."
            ).format(found=", ".join(state.unknown), head=state.head)
        )
    if not state.up_to_date:
        raise Failure(
            _(
                "The database is at revision {found} and this Jixiao needs {head}: take a "
                "backup (jixiao backup FILE), then run: jixiao db upgrade"
            ).format(found=", ".join(state.current), head=state.head)
        )


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
