"""A local stand-in for the Telegram Bot API, for tests, benchmarks and offline demos.

It answers like the real API (JSON envelopes, 429 with `retry_after`, 403 for blocked
users, 400 "message is not modified" and "message is too long" past 4,096 UTF-16 code
units, 1,024 for a caption), enforces Telegram's limits on sending — at most
`per_second` messages in any one-second window overall and one per second per chat —
and records every accepted message (a photo's bytes as their length). Point
python-telegram-bot at it with `base_url`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.local_server import LocalServer


@dataclass
class Sent:
    at: float
    method: str
    chat_id: str
    params: dict[str, Any]


@dataclass
class FakeBotAPI:
    per_second: int = 30
    per_chat_interval: float = 1.0
    blocked: set[str] = field(default_factory=set)
    # Methods that fail with a 400, to test what the bot does when Telegram says no.
    refused_methods: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rejected_429: int = 0
    retry_after: int = 1
    next_message_id: int = 1
    texts: dict[tuple[str, int], Any] = field(default_factory=dict)
    _window: deque[float] = field(default_factory=deque)
    _last_per_chat: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: LocalServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return self._server.url("/bot")

    def start(self) -> FakeBotAPI:
        self._server = LocalServer(self._status)
        return self

    def _status(
        self, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        status, payload = self.handle(method, params)
        return status, {}, payload

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls[method] += 1
            if method == "getMe":
                return 200, _ok(
                    {"id": 1, "is_bot": True, "first_name": "Jixiao", "username": "JixiaoBot"}
                )
            if method in self.refused_methods:
                return 400, _error(400, f"Bad Request: {method} refused by the test")
            chat = str(params.get("chat_id", ""))
            if chat in self.blocked:
                return 403, _error(403, "Forbidden: bot was blocked by the user")
            text = params.get("text")
            if method in ("sendMessage", "editMessageText"):
                if not text:
                    return 400, _error(400, "Bad Request: message text is empty")
                if _units(str(text)) > TEXT_LIMIT:
                    return 400, _error(400, "Bad Request: message is too long")
            if _bad_button_data(params.get("reply_markup")):
                return 400, _error(400, "Bad Request: BUTTON_DATA_INVALID")
            caption = params.get("caption")
            if caption and _units(str(caption)) > CAPTION_LIMIT:
                return 400, _error(400, "Bad Request: message caption is too long")
            if method == "editMessageText":
                key = (chat, int(params.get("message_id", 0)))
                if self.texts.get(key) == params.get("text"):
                    return 400, _error(
                        400,
                        "Bad Request: message is not modified: specified new message content "
                        "and reply markup are exactly the same",
                    )
            now = time.monotonic()
            if not method.startswith(("send", "edit")):
                # Answering a button, setting commands: not messages, not rate limited.
                self.sent.append(Sent(now, method, chat, params))
                return 200, _ok(True)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            last = self._last_per_chat.get(chat)
            if len(self._window) >= self.per_second or (
                last is not None and now - last < self.per_chat_interval
            ):
                self.rejected_429 += 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                }
            self._window.append(now)
            self._last_per_chat[chat] = now
            self.sent.append(Sent(now, method, chat, params))
            if method == "editMessageText":
                mid = int(params.get("message_id", 0))
            else:
                mid = self.next_message_id
                self.next_message_id += 1
            self.texts[(chat, mid)] = params.get("text")
            return 200, _ok(
                {
                    "message_id": mid,
                    "date": int(time.time()),
                    "chat": {
                        "id": int(chat) if chat.lstrip("-").isdigit() else 0,
                        "type": "private",
                    },
                    "text": params.get("text", ""),
                }
            )


TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def _units(text: str) -> int:
    """Telegram counts text in UTF-16 code units: 🙂 is two."""
    return len(text.encode("utf-16-le")) // 2


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


# Telegram's limit on a button's callback_data: 1 to 64 bytes.
CALLBACK_DATA_BYTES = 64


def _bad_button_data(markup: Any) -> bool:
    """Whether an inline keyboard has a button whose callback_data Telegram refuses."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return any(
        "callback_data" in b
        and not 1 <= len(str(b["callback_data"]).encode()) <= CALLBACK_DATA_BYTES
        for row in rows
        for b in row
    )
