"""The conversation on Telegram: the real python-telegram-bot Application, a local fake
Bot API, and updates shaped exactly like Telegram's."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from telegram import Update

from handlers.telegram.bot import build_application, set_commands
from models import ChatIdentity, ScoringTask, TaskState
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.telegram import FakeBotAPI

_ids = itertools.count(1000)


class Telegram:
    """One Telegram user talking to the bot through the real Application."""

    def __init__(self, app, api, user_id, language="zh-hans"):
        self.app, self.api, self.user_id, self.language = app, api, user_id, language
        self.last_markup: dict | None = None

    def _user(self):
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": "测试",
            "language_code": self.language,
        }

    def _chat(self, private=True):
        return {
            "id": self.user_id if private else -100123,
            "type": "private" if private else "supergroup",
        }

    def send(self, text=None, *, update_id=None, private=True, sticker=False):
        message = {
            "message_id": next(_ids),
            "date": 0,
            "chat": self._chat(private),
            "from": self._user(),
        }
        if sticker:
            message["sticker"] = {
                "file_id": "s",
                "file_unique_id": "s",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        else:
            message["text"] = text
        return self._process({"update_id": update_id or next(_ids), "message": message})

    def tap(self, label_part):
        data = self.button(label_part)
        return self.press(data)

    def press(self, data, message_id=1):
        update = {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "from": self._user(),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": 0,
                    "chat": self._chat(),
                    "text": "...",
                },
            },
        }
        return self._process(update)

    def button(self, label_part):
        for row in (self.last_markup or {}).get("inline_keyboard", []):
            for b in row:
                if label_part in b["text"]:
                    return b["callback_data"]
        raise AssertionError(f"no button {label_part!r} in {self.last_markup}")

    def _process(self, data):
        before = len(self.api.sent)
        asyncio.run(self._run(data))
        new = self.api.sent[before:]
        for s in new:
            if s.params.get("reply_markup"):
                self.last_markup = s.params["reply_markup"]
        return new

    async def _run(self, data):
        async with self.app:
            await self.app.process_update(Update.de_json(data, self.app.bot))


@pytest.fixture
def api():
    fake = FakeBotAPI(per_chat_interval=0.0).start()
    yield fake
    fake.stop()


@pytest.fixture
def world(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.manager, "K7Q2M9XD")
        issue_code(s, w.zhang, "ZH4NG8KP")
        ids = {"manager": w.manager.id, "zhang": w.zhang.id, "number": w.zhang.number}
    return ids


@pytest.fixture
def app(Session, api):
    return build_application("123:TEST", Session, base_url=api.base_url, clock=lambda: NOW)


def _texts(sent):
    return "\n".join(str(s.params.get("text", "")) for s in sent)


def test_a_scorer_binds_and_scores_with_buttons_and_quick_entry(app, api, world, Session):
    tg = Telegram(app, api, 555)
    assert "欢迎" in _texts(tg.send("/start K7Q2M9XD"))
    with Session() as s:
        ident = s.scalars(select(ChatIdentity).where(ChatIdentity.external_id == "555")).one()
        assert ident.employee_id == world["manager"]
    listing = _texts(tg.send("/score"))
    assert "0/3" in listing
    first = tg.last_markup["inline_keyboard"][0][0]["callback_data"]
    step = _texts(tg.press(first))
    assert "1/5" in step
    # The form edits its message in place rather than flooding the chat.
    assert {s.method for s in api.sent[-1:]} <= {"editMessageText", "sendMessage"}
    tg.send("90 85 80")  # the three weighted indicators at once
    for _ in range(5):  # bonus and deduction items may be skipped
        labels = [b["text"] for row in tg.last_markup["inline_keyboard"] for b in row]
        if any("确认" in label for label in labels):
            break
        tg.tap("跳过")
    confirm = tg.button("确认")
    tg.press(confirm)
    tg.press(confirm)  # a double tap submits once
    with Session() as s:
        submitted = s.scalars(
            select(ScoringTask).where(
                ScoringTask.state == TaskState.SUBMITTED, ScoringTask.scorer_id == world["manager"]
            )
        ).all()
    assert len(submitted) >= 1


def test_an_employee_reads_the_result_and_why_the_pay_is_what_it_is(app, api, world):
    tg = Telegram(app, api, 777)
    tg.send("/start ZH4NG8KP")
    result = _texts(tg.send("/myscore"))
    assert "2026-10" in result
    why = _texts(tg.send("为什么我这个月绩效工资这么少"))
    assert "¥" in why
    assert "×" in why


def test_a_duplicated_update_is_applied_once(app, api, world, Session):
    tg = Telegram(app, api, 556)
    first = tg.send("/start K7Q2M9XD", update_id=42)
    again = tg.send("/start K7Q2M9XD", update_id=42)
    assert first
    assert again == []


def test_a_button_from_another_users_chat_is_refused(app, api, world, Session):
    scorer = Telegram(app, api, 601)
    scorer.send("/start K7Q2M9XD")
    scorer.send("/score")
    stolen = scorer.last_markup["inline_keyboard"][0][0]["callback_data"]
    thief = Telegram(app, api, 602)
    thief.send("/start ZH4NG8KP")
    before = _task_states(Session)
    answer = _texts(thief.press(stolen))
    assert "1/5" not in answer
    assert _task_states(Session) == before


def _task_states(Session):
    with Session() as s:
        return [
            (t.id, t.state, t.cursor)
            for t in s.scalars(select(ScoringTask).order_by(ScoringTask.id))
        ]


def test_pay_is_never_shown_in_a_group_chat(app, api, world):
    tg = Telegram(app, api, 778)
    tg.send("/start ZH4NG8KP")
    answer = _texts(tg.send("/myscore", private=False))
    assert "私下" in answer
    assert "¥" not in answer


def test_a_sticker_gets_a_polite_answer(app, api, world):
    tg = Telegram(app, api, 779)
    tg.send("/start ZH4NG8KP")
    assert "文字" in _texts(tg.send(sticker=True))


def test_the_command_menu_is_set_per_language(app, api):
    async def go():
        async with app:
            await set_commands(app)

    asyncio.run(go())
    calls = [s for s in api.sent if s.method == "setMyCommands"]
    assert {c.params.get("language_code") for c in calls} == {None, "zh", "en"}
    english = next(c for c in calls if c.params.get("language_code") == "en")
    assert any(cmd["command"] == "why" for cmd in english.params["commands"])


def test_when_is_checked_against_the_frozen_clock():
    assert NOW.tzinfo == dt.UTC or NOW.tzinfo is not None


def test_long_polling_is_for_development_and_needs_a_token(Session, api, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli.main import app as cli
    from bot.infra.settings import get_settings

    polling = build_application("123:TEST", Session, base_url=api.base_url, polling=True)
    webhook = build_application("123:TEST", Session, base_url=api.base_url)
    assert polling.updater is not None
    assert webhook.updater is None
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["--database-url", f"sqlite:///{tmp_path / 'p.db'}", "--lang", "en", "poll"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in result.output
