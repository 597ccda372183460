"""No secret from the settings ever reaches a log line, at DEBUG, whoever logs it: the
HTTP client's request lines (Telegram's URLs carry the bot token), Slack's library,
tracebacks, and our own code."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from slack_sdk.signature import SignatureVerifier
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot import logs
from bot.infra.settings import Settings
from handlers.server import create_server
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.slack import FakeSlackAPI
from tests.fakes.telegram import FakeBotAPI

SETTINGS = Settings(
    _env_file=None,
    database_url="postgresql+psycopg://jixiao:Db-Pa55word-xyz@127.0.0.1:5432/jixiao",
    bind_code_secret="bind-code-secret-0123456789abcdef",
)
# Each platform's settings are its own, read from the environment (see _platforms).
PLATFORMS = {
    "TELEGRAM_BOT_TOKEN": "123456:AAH-telegram-token-secret",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-abc",
    "SLACK_BOT_TOKEN": "xoxb-slack-bot-token-secret",
    "SLACK_SIGNING_SECRET": "slack-signing-secret-def",
    "SLACK_APP_TOKEN": "xapp-slack-app-token-secret",
}
SECRETS = [
    *PLATFORMS.values(),
    PLATFORMS["TELEGRAM_BOT_TOKEN"].partition(":")[2],
    SETTINGS.bind_code_secret,
    "Db-Pa55word-xyz",
]


@pytest.fixture(autouse=True)
def _platforms(monkeypatch):
    for name, value in PLATFORMS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def captured():
    """Everything logged at DEBUG, formatted as a log file would be (tracebacks too)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logs.install_redaction(SETTINGS)
    yield stream
    logs.uninstall()
    root.removeHandler(handler)
    root.setLevel(level)


def test_no_secret_reaches_the_logs_while_telegram_and_slack_are_driven(Session, captured):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.zhang, "ZH4NG8KP")
        issue_code(s, w.manager, "K7Q2M9XD")
    telegram = FakeBotAPI(per_chat_interval=0.0).start()
    slack = FakeSlackAPI().start()
    try:
        server = create_server(
            SETTINGS,
            Session,
            telegram_base_url=telegram.base_url,
            slack_base_url=slack.base_url,
            clock=lambda: NOW,
        )
        with TestClient(server, base_url="http://127.0.0.1") as client:
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "/start ZH4NG8KP",
                    "chat": {"id": 901, "type": "private"},
                    "from": {"id": 901, "is_bot": False, "first_name": "王"},
                },
            }
            headers = {"X-Telegram-Bot-Api-Secret-Token": PLATFORMS["TELEGRAM_WEBHOOK_SECRET"]}
            assert client.post("/telegram/webhook", json=update, headers=headers).status_code == 200
            body = json.dumps(
                {
                    "type": "event_callback",
                    "event_id": "Ev1",
                    "team_id": "T1",
                    "event": {
                        "type": "message",
                        "user": "U1",
                        "channel": "DU1",
                        "channel_type": "im",
                        "text": "K7Q2M9XD",
                        "ts": "1.1",
                    },
                }
            )
            ts = str(int(time.time()))
            signature = SignatureVerifier(PLATFORMS["SLACK_SIGNING_SECRET"]).generate_signature(
                timestamp=ts, body=body
            )
            slack_headers = {
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
                "Content-Type": "application/json",
            }
            assert (
                client.post("/slack/events", content=body, headers=slack_headers).status_code == 200
            )
            deadline = time.monotonic() + 10
            while not slack.posted() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert slack.posted()
            # A failure quoting the database URL, with its traceback.
            try:
                raise ConnectionError(f"could not connect to {SETTINGS.database_url}")
            except ConnectionError:
                logging.getLogger("sqlalchemy.pool").exception("connection failed")
    finally:
        telegram.stop()
        slack.stop()
    text = captured.getvalue()
    # The run did log what would have leaked: the bot's request lines and the traceback.
    assert "sendMessage" in text
    assert "/bot***/" in text
    assert "postgresql+psycopg://jixiao:***@" in text
    for secret in SECRETS:
        assert secret not in text, secret


def test_an_unknown_log_level_is_refused_before_anything_starts():
    from bot.cli.main import app

    result = CliRunner().invoke(app, ["poll", "--log-level", "LOUD"])
    assert result.exit_code == 2
    assert "LOUD" in result.output


def test_the_log_level_comes_from_the_option_else_the_setting():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert logs.setup(None, Settings(_env_file=None, log_level="warning")) == "WARNING"
        assert root.level == logging.WARNING
        assert logs.setup("debug", SETTINGS) == "DEBUG"
        assert root.level == logging.DEBUG
    finally:
        logs.uninstall()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_chinese_level_names_of_the_help_are_understood():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert logs.setup("警告", SETTINGS) == "WARNING"
    finally:
        logs.uninstall()
        root.handlers[:] = handlers
        root.setLevel(level)
