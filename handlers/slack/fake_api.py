"""A local stand-in for Slack's Web API, for tests: records each call, answers like Slack
(`{"ok": true, ...}`), can answer 429 with Retry-After to exercise retries, Slack error
codes for chosen channels, and users.info with a profile email."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from handlers.fake_http import Answer, LocalServer


@dataclass
class FakeSlackAPI:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many calls with 429 first
    emails: dict[str, str] = field(default_factory=dict)  # user id → profile email
    errors: dict[str, str] = field(default_factory=dict)  # channel → Slack error code
    _server: LocalServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return self._server.url("/api/")

    def posted(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def start(self) -> FakeSlackAPI:
        self._server = LocalServer(self.answer)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def answer(self, method: str, params: dict[str, Any]) -> Answer:
        with self._lock:
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
            failing = self.errors.get(str(params.get("channel", "")))
            if failing:
                return 200, {}, {"ok": False, "error": failing}
            self.calls.append((method, params))
        if method == "users.info":
            user = str(params.get("user", ""))
            profile = {"email": self.emails[user]} if user in self.emails else {}
            return 200, {}, {"ok": True, "user": {"id": user, "profile": profile}}
        return 200, {}, {"ok": True, "ts": "1.0", "channel": "D1"}
