"""Logging for the long-running commands (serve, worker, poll): one configurable level,
and no secret from the settings in any line, at any level, from any library.

The HTTP clients log each request's URL, and Telegram's Bot API puts the bot token in
the URL; tracebacks quote URLs and connection strings too. So every log record is
redacted where it is made (a record factory, which every logger and handler goes
through, including those libraries add later), and the same filter sits on the root
logger and its handlers for records made some other way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.infra.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The level names as the Chinese help lists them.
CHINESE = {"调试": "DEBUG", "信息": "INFO", "警告": "WARNING", "错误": "ERROR"}
MASK = "***"
MIN_SECRET = 6  # shorter values would mask ordinary words; no real secret is this short
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold: each platform's (tokens, signing secrets),
    the bind-code key (configured or in its file) and the database password."""
    from bot import platforms

    found = [settings.bind_code_secret, settings.metrics_api_token]
    for platform in platforms.registered():
        found += platform.secrets(settings)
    key_file = Path(settings.bind_code_secret_file)
    if not settings.bind_code_secret and key_file.is_file():
        found.append(key_file.read_text(encoding="ascii", errors="replace").strip())
    # A malformed URL fails loudly where it is used, not here.
    with contextlib.suppress(Exception):
        found.append(make_url(settings.database_url).password or "")
    return sorted({s for s in found if len(s) >= MIN_SECRET}, key=len, reverse=True)


class Redact(logging.Filter):
    """Replaces each secret in a record's message, traceback and stack with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def hide(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        hidden = self.hide(message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.hide(record.exc_text)
        if record.stack_info:
            record.stack_info = self.hide(record.stack_info)
        return True


_installed: list[Redact] = []
_factory = logging.getLogRecordFactory()


def install_redaction(settings: Settings) -> Redact:
    """Redact every record from now on (installing again replaces the earlier one)."""
    redact = Redact(secrets_of(settings))
    base = _factory

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        redact.filter(record)
        return record

    logging.setLogRecordFactory(make)
    root = logging.getLogger()
    for old in _installed:
        root.removeFilter(old)
        for handler in root.handlers:
            handler.removeFilter(old)
    _installed[:] = [redact]
    root.addFilter(redact)
    for handler in root.handlers:
        handler.addFilter(redact)
    return redact


def setup(level: str | None, settings: Settings) -> str:
    """Log to stderr at `level` (else LOG_LEVEL), secrets redacted; returns the level."""
    chosen = (level or settings.log_level or "INFO").strip().upper()
    chosen = CHINESE.get(chosen, chosen)
    if chosen not in LEVELS:
        from bot.infra.errors import Refused
        from bot.infra.i18n import _

        raise Refused(
            _("Unknown log level {level}: use one of {levels}.").format(
                level=chosen, levels=", ".join(LEVELS)
            )
        )
    logging.basicConfig(level=chosen, format=FORMAT, force=True)
    install_redaction(settings)
    return chosen


def uninstall() -> None:
    """Back to the standard record factory (for tests)."""
    logging.setLogRecordFactory(_factory)
    root = logging.getLogger()
    for old in _installed:
        root.removeFilter(old)
        for handler in root.handlers:
            handler.removeFilter(old)
    _installed.clear()
