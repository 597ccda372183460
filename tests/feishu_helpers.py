"""Feishu's side of a conversation, for tests: callbacks encrypted with the encrypt key
and signed as Feishu signs them, posted to /feishu/events of the real server, whose SDK
client talks to the local fake open API."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

from Crypto.Cipher import AES
from starlette.testclient import TestClient

from bot.infra.settings import Settings
from handlers.feishu.cards import buttons_of, text_of
from handlers.server import create_server
from tests.chat_helpers import NOW
from tests.fakes.feishu import FakeFeishuAPI

APP_ID = "cli_test"
SECRET = "feishu-app-secret"
TOKEN = "feishu-verification-token"
KEY = "feishu-encrypt-key"


def configure(monkeypatch, **extra: str) -> None:
    env = {
        "FEISHU_APP_ID": APP_ID,
        "FEISHU_APP_SECRET": SECRET,
        "FEISHU_VERIFICATION_TOKEN": TOKEN,
        "FEISHU_ENCRYPT_KEY": KEY,
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def encrypt(plain: dict, key: str = KEY) -> str:
    data = json.dumps(plain).encode()
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    iv = os.urandom(16)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data)).decode()


def signed(plain: dict, key: str = KEY, sign_key: str | None = None) -> tuple[bytes, dict]:
    body = json.dumps({"encrypt": encrypt(plain, key)}).encode()
    ts, nonce = str(int(time.time())), "n" + os.urandom(4).hex()
    sig = hashlib.sha256((ts + nonce + (sign_key or key)).encode() + body).hexdigest()
    headers = {
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": sig,
        "Content-Type": "application/json",
    }
    return body, headers


def header(event_id: str, event_type: str, token: str = TOKEN) -> dict:
    return {
        "event_id": event_id,
        "token": token,
        "create_time": "1764500000000",
        "event_type": event_type,
        "tenant_key": "tenant",
        "app_id": APP_ID,
    }


def message_event(event_id, user, text, chat_type="p2p", mentions=None, token=TOKEN) -> dict:
    message = {
        "message_id": f"om_in_{event_id}",
        "chat_id": f"oc_{user}" if chat_type == "p2p" else "oc_group",
        "chat_type": chat_type,
        "message_type": "text",
        "content": json.dumps({"text": text}),
    }
    if mentions:
        message["mentions"] = mentions
    return {
        "schema": "2.0",
        "header": header(event_id, "im.message.receive_v1", token),
        "event": {
            "sender": {"sender_id": {"open_id": user}, "sender_type": "user"},
            "message": message,
        },
    }


def card_action(event_id, user, value) -> dict:
    return {
        "schema": "2.0",
        "header": header(event_id, "card.action.trigger"),
        "event": {
            "operator": {"open_id": user},
            "token": f"c-{event_id}",
            "action": {"tag": "button", "value": value},
            "context": {"open_message_id": "om_1", "open_chat_id": f"oc_{user}"},
        },
    }


class FeishuUser:
    """One Feishu user talking to the bot: what they see after each message or tap, as
    (text, [(label, payload)]) per card: the card updated in place first, then new ones."""

    def __init__(self, Session, api: FakeFeishuAPI, monkeypatch, user="ou_9", **env: str):
        configure(monkeypatch, **env)
        self.api = api
        self.user = user
        server = create_server(
            Settings(_env_file=None), Session, feishu_base_url=api.base_url, clock=lambda: NOW
        )
        self.client = TestClient(server, base_url="http://127.0.0.1")
        self.client.__enter__()
        self.n = 0

    def post(self, plain: dict):
        body, headers = signed(plain)
        return self.client.post("/feishu/events", content=body, headers=headers)

    def _seen(self, response, before):
        out = []
        answer = response.json() if response.content else {}
        updated = (answer.get("card") or {}).get("data")
        if updated:
            out.append((text_of(updated), buttons_of(updated)))
        out += [(text_of(c), buttons_of(c)) for c in self.api.cards()[before:]]
        return out

    def say(self, text):
        self.n += 1
        before = len(self.api.messages)
        response = self.post(message_event(f"e{self.n}", self.user, text))
        assert response.status_code == 200, response.text
        return self._seen(response, before)

    def press(self, payload):
        self.n += 1
        before = len(self.api.messages)
        response = self.post(card_action(f"c{self.n}", self.user, {"jx": payload}))
        assert response.status_code == 200, response.text
        return self._seen(response, before)

    def close(self):
        self.client.__exit__(None, None, None)
