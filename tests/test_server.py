"""The one web entry point: webhook secret, de-duplicated updates, health and metrics."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bot.infra.settings import Settings
from handlers.server import create_server
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.telegram import FakeBotAPI

SECRET = "s3cret-token"


@pytest.fixture
def api():
    fake = FakeBotAPI(per_chat_interval=0.0).start()
    yield fake
    fake.stop()


def _settings(monkeypatch):
    """Telegram's settings are its own (TELEGRAM_*, handlers/telegram/settings.py)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    return Settings(_env_file=None)


def _update(update_id, text, user=901):
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": text,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "王", "language_code": "zh"},
        },
    }


@pytest.fixture
def client(Session, api, monkeypatch):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.zhang, "ZH4NG8KP")
    server = create_server(
        _settings(monkeypatch), Session, telegram_base_url=api.base_url, clock=lambda: NOW
    )
    with TestClient(server, base_url="http://127.0.0.1") as c:
        yield c


def test_a_webhook_call_without_the_secret_token_is_refused(client, api):
    r = client.post("/telegram/webhook", json=_update(1, "/start ZH4NG8KP"))
    assert r.status_code == 403
    r = client.post(
        "/telegram/webhook",
        json=_update(1, "/start ZH4NG8KP"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
    )
    assert r.status_code == 403
    assert api.calls["sendMessage"] == 0


def test_a_retried_webhook_update_is_answered_once(client, api):
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for _ in range(3):
        assert (
            client.post(
                "/telegram/webhook", json=_update(7, "/start ZH4NG8KP"), headers=headers
            ).status_code
            == 200
        )
    assert api.calls["sendMessage"] == 1
    (welcome,) = [s for s in api.sent if s.method == "sendMessage"]
    assert "欢迎" in welcome.params["text"]


def test_health_and_metrics_answer(client):
    assert client.get("/healthz").json() == {"ok": True}
    client.post(
        "/telegram/webhook",
        json=_update(8, "/menu"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    text = client.get("/metrics").text
    assert 'jixiao_updates_total{platform="telegram"} 1.0' in text
    assert "jixiao_outbox_depth 0.0" in text


def test_without_credentials_only_the_chat_page_runs(Session):
    server = create_server(Settings(_env_file=None), Session)
    with TestClient(server, base_url="http://127.0.0.1", client=("127.0.0.1", 1)) as c:
        assert c.post("/telegram/webhook", json={}).status_code in (404, 405)
        assert c.get("/").status_code == 200


def test_serving_sets_the_command_menu_in_each_language(client, api):
    """A webhook deployment shows /menu, /progress … as polling does."""
    calls = [s for s in api.sent if s.method == "setMyCommands"]
    assert sorted(str(c.params.get("language_code")) for c in calls) == ["None", "en", "zh"]
    zh = next(c for c in calls if c.params.get("language_code") == "zh")
    assert "progress" in str(zh.params["commands"])


def test_the_server_starts_when_telegram_refuses_the_command_menu(
    Session, api, caplog, monkeypatch
):
    api.refused_methods.add("setMyCommands")
    server = create_server(
        _settings(monkeypatch), Session, telegram_base_url=api.base_url, clock=lambda: NOW
    )
    with TestClient(server, base_url="http://127.0.0.1") as c:
        assert c.get("/healthz").json() == {"ok": True}
    assert "command menu" in caplog.text


def _gauge(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith((f"{name}{labels} ", f"{name}{labels}\t")):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{labels} not in /metrics")


def test_metrics_show_the_outbox_age_the_scheduler_leader_and_the_sending_rate(Session):
    import datetime as dt

    from bot.notify.scheduler import LEASE, LEASE_SECONDS
    from models import Lease, OutboxMessage, OutboxState

    now = dt.datetime.now(dt.UTC)
    with Session() as s, s.begin():

        def message(key: str, **kw) -> OutboxMessage:
            return OutboxMessage(
                platform="telegram", chat_id="1", dedupe_key=key, content={"text": "x"}, **kw
            )

        s.add(message("late", next_attempt_at=now - dt.timedelta(seconds=90), created_at=now))
        s.add(message("future", next_attempt_at=now + dt.timedelta(hours=1), created_at=now))
        for k in range(12):  # 12 sent within the last minute: 0.2 a second
            s.add(
                message(
                    f"sent{k}",
                    state=OutboxState.SENT,
                    next_attempt_at=now,
                    created_at=now,
                    sent_at=now - dt.timedelta(seconds=30),
                )
            )
        s.add(
            message(
                "old",
                state=OutboxState.SENT,
                next_attempt_at=now,
                created_at=now,
                sent_at=now - dt.timedelta(minutes=5),
            )
        )
        renewed = now - dt.timedelta(seconds=20)
        s.add(
            Lease(
                name=LEASE,
                holder="worker-a",
                expires_at=renewed + dt.timedelta(seconds=LEASE_SECONDS),
            )
        )
        s.add(
            Lease(name="sender:telegram:w1", holder="w1", expires_at=now + dt.timedelta(seconds=5))
        )
        s.add(
            Lease(name="sender:telegram:w2", holder="w2", expires_at=now + dt.timedelta(seconds=5))
        )
    server = create_server(Settings(_env_file=None), Session)
    with TestClient(server, base_url="http://127.0.0.1", client=("127.0.0.1", 1)) as c:
        text = c.get("/metrics").text
    assert _gauge(text, "jixiao_outbox_depth") == 2
    assert 89 <= _gauge(text, "jixiao_outbox_oldest_ready_seconds") <= 120
    assert _gauge(text, "jixiao_scheduler_leader", '{holder="worker-a"}') == 1
    assert 19 <= _gauge(text, "jixiao_scheduler_lease_age_seconds") <= 50
    assert _gauge(text, "jixiao_senders_alive", '{platform="telegram"}') == 2
    assert _gauge(text, "jixiao_sent_per_second", '{platform="telegram"}') == 0.2
    assert (
        _gauge(text, "jixiao_send_limit_per_second", '{platform="telegram"}') == 26
    )  # Telegram's shared rate (Limits.per_second)


def test_healthz_says_503_when_the_database_does_not_answer(tmp_path):
    from sqlalchemy import orm

    from models.db import make_engine

    gone = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    server = create_server(Settings(_env_file=None), orm.sessionmaker(gone))
    with TestClient(server, base_url="http://127.0.0.1", client=("127.0.0.1", 1)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"ok": False, "database": False}
