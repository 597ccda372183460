"""DEFAULT_LANGUAGE is the language of people and chats with none of their own: the chat,
the web page and pushes, not only the CLI. A language not supported is refused."""

from __future__ import annotations

import contextvars

import httpx
import pydantic
import pytest
from sqlalchemy import select

from bot.infra import i18n
from bot.infra.settings import Settings, get_settings
from bot.notify.reminders import queue_period_opened
from handlers.web import create_app
from models import OutboxMessage
from tests.chat_helpers import NOW, Chat, bind, build_world


@pytest.fixture
def english(monkeypatch):
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en-US")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_setting_is_kept_as_a_catalog_name_and_nonsense_is_refused():
    assert Settings(default_language="en_GB").default_language == "en"
    assert Settings(default_language="zh-Hans").default_language == "zh_CN"
    with pytest.raises(pydantic.ValidationError, match="DEFAULT_LANGUAGE"):
        Settings(default_language="klingon")


def test_without_the_setting_chats_with_no_language_get_chinese(session):
    assert contextvars.Context().run(i18n.current) == "zh_CN"
    assert "绑定码" in Chat(session, "stranger").say("hello")


def test_a_chat_with_no_language_of_its_own_gets_the_default(english, session):
    # Outside any chat (a fresh context: tests otherwise run inside zh_CN).
    assert contextvars.Context().run(i18n.current) == "en"
    assert "the code HR gave you" in Chat(session, "stranger").say("hello")
    # A platform that reports a language still wins over the default.
    assert "绑定码" in Chat(session, "other", language_code="zh-CN").say("hello")
    # So does one not supported: it falls back to the default, not to Chinese.
    assert "the code HR gave you" in Chat(session, "third", language_code="fr-FR").say("hello")


def test_pushes_to_people_with_no_language_use_the_default(english, session):
    w = build_world(session)
    session.flush()
    for person in (w.manager, w.head, w.hr, *w.staff):
        bind(session, person)
        person.language = None
    queue_period_opened(session, w.period, NOW)
    texts = [m.content["text"] for m in session.scalars(select(OutboxMessage))]
    assert texts
    assert all(t.startswith("Appraisal 2026-11 is open") for t in texts), texts


async def test_the_web_page_speaks_the_default_to_a_browser_in_another_language(english, Session):
    app = create_app(Session, personas=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        strings = (await c.get("/api/strings", params={"lang": "fr-FR"})).json()
        assert strings["lang"] == "en"
        assert strings["strings"]["send"] == "Send"
        uid = (await c.post("/api/identity", json={})).json()["user_id"]
        said = (await c.post("/api/message", json={"user_id": uid, "text": "hi"})).json()
        assert said["lang"] == "en"
        assert "the code HR gave you" in said["replies"][0]["text"]
