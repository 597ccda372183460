"""One scripted scenario on the local chat page, Telegram, Slack and Feishu, each through
its real client library and a local fake of the platform: the transcripts must match."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from bot.infra.settings import Settings
from handlers.server import create_server
from handlers.telegram.bot import build_application
from handlers.web import create_app
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.feishu import FakeFeishuAPI
from tests.fakes.slack import FakeSlackAPI
from tests.fakes.telegram import FakeBotAPI
from tests.feishu_helpers import FeishuUser
from tests.test_slack import SECRET, _signed
from tests.test_telegram_chat import Telegram


class Web:
    def __init__(self, Session):
        self.client = TestClient(
            create_app(Session, personas=False, clock=lambda: NOW),
            base_url="http://127.0.0.1",
            client=("127.0.0.1", 50000),
        )
        self.user = self.client.post("/api/identity", json={}).json()["user_id"]

    def _post(self, **body):
        r = self.client.post("/api/message", json={"user_id": self.user, "lang": "zh_CN", **body})
        return [
            (x["text"], [(b["label"], b["payload"]) for row in x["buttons"] for b in row])
            for x in r.json()["replies"]
        ]

    def say(self, text):
        return self._post(kind="text", text=text)

    def press(self, payload):
        return self._post(kind="button", payload=payload)


class Tg:
    def __init__(self, Session):
        self.api = FakeBotAPI(per_chat_interval=0.0).start()
        app = build_application("123:TEST", Session, base_url=self.api.base_url, clock=lambda: NOW)
        self.user = Telegram(app, self.api, 4242)

    def _replies(self, sent):
        out = []
        for s in sent:
            if s.method not in ("sendMessage", "editMessageText"):
                continue  # answerCallbackQuery and the like carry no reply
            markup = s.params.get("reply_markup") or {}
            buttons = [
                (b["text"], b["callback_data"])
                for row in markup.get("inline_keyboard", [])
                for b in row
            ]
            out.append((s.params.get("text", ""), buttons))
        return out

    def say(self, text):
        return self._replies(self.user.send(text))

    def press(self, payload):
        return self._replies(self.user.press(payload))


class Slack:
    def __init__(self, Session):
        self.api = FakeSlackAPI().start()
        settings = Settings(_env_file=None)
        self.client = TestClient(
            create_server(settings, Session, slack_base_url=self.api.base_url, clock=lambda: NOW),
            base_url="http://127.0.0.1",
        )
        self.client.__enter__()
        self.n = 0

    def _post(self, body, content_type):
        before = len(self.api.posted())
        self.client.post("/slack/events", content=body, headers=_signed(body, content_type))
        deadline = time.monotonic() + 10
        while len(self.api.posted()) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        out = []
        for m in self.api.posted()[before:]:
            text = "".join(b["text"]["text"] for b in m["blocks"] if b["type"] == "section")
            buttons = [
                (e["text"]["text"], e["value"])
                for b in m["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            ]
            out.append((text, buttons))
        return out

    def say(self, text):
        self.n += 1
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": f"E{self.n}",
                "team_id": "T",
                "event": {
                    "type": "message",
                    "user": "U9",
                    "channel": "DU9",
                    "channel_type": "im",
                    "text": text,
                    "ts": "1.1",
                },
            }
        )
        return self._post(body, "application/json")

    def press(self, payload):
        self.n += 1
        # No trigger_id: without one Slack's modal (tested in test_slack.py) cannot open,
        # so the chat form runs here, as on the other platforms.
        data = json.dumps(
            {
                "type": "block_actions",
                "team": {"id": "T"},
                "user": {"id": "U9"},
                "channel": {"id": "DU9", "name": "directmessage"},
                "actions": [
                    {
                        "action_id": "jx-1",
                        "value": payload,
                        "type": "button",
                        "action_ts": str(self.n),
                    }
                ],
            }
        )
        return self._post(urlencode({"payload": data}), "application/x-www-form-urlencoded")

    def close(self):
        self.client.__exit__(None, None, None)
        self.api.stop()


def _find(replies, label):
    for _, buttons in reversed(replies):
        for text, payload in buttons:
            if label in text:
                return payload
    raise AssertionError(f"no {label!r} in {replies}")


def _has(replies, label):
    return any(label in text for _, buttons in replies for text, _ in buttons)


def scenario(user) -> list[str]:
    """Bind, score one person by quick entry and one with buttons, read a published
    result, ask why the pay is what it is, switch language."""
    said = []

    def step(replies):
        said.append("\n".join(text for text, _ in replies))
        return replies

    step(user.say("/start K7Q2M9XD"))
    listing = step(user.say("/score"))
    step(user.press(_find(listing, "张三")))
    last = step(user.say("90 85 80"))
    for _ in range(6):
        if _has(last, "确认"):
            break
        last = step(user.press(_find(last, "跳过")))
    last = step(user.press(_find(last, "确认")))
    last = step(user.press(_find(last, "下一位")))
    for _ in range(10):
        if _has(last, "确认"):
            break
        # Middle values: the top of a range asks for a comment, which is another flow.
        label = next(x for x in ("跳过", "90", "良好") if _has(last, x))
        last = step(user.press(_find(last, label)))
    step(user.press(_find(last, "确认")))
    step(user.say("/start ZH4NG8KP"))  # the same phone, now as an employee with results
    step(user.say("/myscore"))
    step(user.say("为什么我这个月绩效工资这么少"))
    step(user.say("/lang en"))
    return said


@pytest.fixture
def worlds(tmp_path):
    from models.db import make_engine, sessions, upgrade

    made = []
    for name in ("web", "telegram", "slack", "feishu"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        Session = sessions(engine)
        with Session() as s, s.begin():
            w = build_world(s)
            issue_code(s, w.manager, "K7Q2M9XD")
            issue_code(s, w.zhang, "ZH4NG8KP")
        made.append((engine, Session))
    yield [Session for _, Session in made]
    for engine, _ in made:
        engine.dispose()


def test_the_same_scenario_reads_the_same_on_every_platform(worlds, monkeypatch):
    web_s, tg_s, slack_s, feishu_s = worlds
    tg = Tg(tg_s)
    with monkeypatch.context() as env:  # Slack's settings are its own (SLACK_*)
        env.setenv("SLACK_BOT_TOKEN", "xoxb-t")
        env.setenv("SLACK_SIGNING_SECRET", SECRET)
        slack = Slack(slack_s)
    feishu_api = FakeFeishuAPI().start()
    feishu = FeishuUser(feishu_s, feishu_api, monkeypatch)
    try:
        on_web = scenario(Web(web_s))
        on_telegram = scenario(tg)
        on_slack = scenario(slack)
        on_feishu = scenario(feishu)
    finally:
        tg.api.stop()
        slack.close()
        feishu.close()
        feishu_api.stop()
    assert "欢迎" in on_web[0]
    assert any("¥" in step for step in on_web)
    assert "Language set to English." in on_web[-1]
    assert on_telegram == on_web
    assert on_slack == on_web
    assert on_feishu == on_web
