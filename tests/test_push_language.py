"""Pushes speak the language the person's chat speaks: stored at binding from the
Telegram client's language (or the choice made before binding), unless HR or the user
set one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.notify.reminders import queue_period_opened
from handlers.telegram.bot import build_application
from models import Employee, OutboxMessage, Period
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.telegram import FakeBotAPI
from tests.test_telegram_chat import Telegram


@pytest.fixture
def api():
    fake = FakeBotAPI(per_chat_interval=0.0).start()
    yield fake
    fake.stop()


@pytest.fixture
def app(Session, api):
    return build_application("123:TEST", Session, base_url=api.base_url, clock=lambda: NOW)


@pytest.fixture
def world(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        w.manager.language = None
        issue_code(s, w.manager, "K7Q2M9XD")
        return {"manager": w.manager.id, "period": w.period.id}


def _opened_push(Session, world):
    with Session() as s, s.begin():
        queue_period_opened(s, s.get_one(Period, world["period"]), NOW)
        return s.scalars(select(OutboxMessage)).one().content["text"]


def test_an_english_client_gets_english_pushes(app, api, world, Session):
    reply = Telegram(app, api, 801, language="en-US").send("/start K7Q2M9XD")
    assert "Welcome" in reply[0].params["text"]
    with Session() as s:
        assert s.get_one(Employee, world["manager"]).language == "en"
    assert _opened_push(Session, world).startswith("Appraisal 2026-11 is open")


def test_a_chinese_client_keeps_chinese_pushes(app, api, world, Session):
    Telegram(app, api, 802, language="zh-hans").send("/start K7Q2M9XD")
    assert "考核" in _opened_push(Session, world)


def test_a_language_set_before_binding_wins_over_the_client(app, api, world, Session):
    with Session() as s, s.begin():
        s.get_one(Employee, world["manager"]).language = "zh_CN"  # set by HR's import
    Telegram(app, api, 803, language="en").send("/start K7Q2M9XD")
    with Session() as s:
        assert s.get_one(Employee, world["manager"]).language == "zh_CN"
