"""A local stand-in for Slack's Web API, for tests: records each call, answers like Slack
(`{"ok": true, ...}`), can answer 429 with Retry-After to exercise retries, Slack error
codes for chosen channels or users, users.info with a profile email, conversations.open
with the DM's D… id, and the three steps of a file upload — whose completion, like
Slack's, refuses anything but a channel id (C, G, D or Z) with `invalid_arguments`."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.local_server import Answer, LocalServer

CHANNEL_ID = re.compile(r"[CGDZ][A-Z0-9]{8,}")


def dm_of(user: str) -> str:
    """The id of the app's DM with `user`, shaped like Slack's (D and 8+ characters)."""
    return "D" + user[1:].upper().rjust(8, "0")


@dataclass
class FakeSlackAPI:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many calls with 429 first
    emails: dict[str, str] = field(default_factory=dict)  # user id → profile email
    errors: dict[str, str] = field(default_factory=dict)  # channel or user → error code
    uploads: int = 0  # file bodies received
    upload_error: str = ""  # answer files.completeUploadExternal with this error
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
            target = str(params.get("channel") or params.get("channel_id") or "")
            failing = self.errors.get(target) or self.errors.get(str(params.get("users", "")))
            if failing:
                return 200, {}, {"ok": False, "error": failing}
            self.calls.append((method, params))
            self.uploads += method.startswith("F")
        if method == "conversations.open":
            users = str(params.get("users", ""))
            return 200, {}, {"ok": True, "channel": {"id": dm_of(users)}}
        if method == "files.getUploadURLExternal":
            assert self._server is not None
            file_id = f"F{len(self.calls)}"
            url = self._server.url(f"/upload/v1/{file_id}")
            return 200, {}, {"ok": True, "upload_url": url, "file_id": file_id}
        if method.startswith("F"):  # the upload itself, to the URL given above
            return 200, {}, {"ok": True}
        if method == "files.completeUploadExternal":
            if self.upload_error:
                return 200, {}, {"ok": False, "error": self.upload_error}
            if not CHANNEL_ID.fullmatch(target):
                # Slack checks ^[CGDZ][A-Z0-9]{8,}$: a user id (U…) is refused
                # (slackapi/bolt-js#2115, slackapi/python-slack-sdk#1426).
                return 200, {}, {"ok": False, "error": "invalid_arguments"}
            files = params.get("files") or []
            return 200, {}, {"ok": True, "files": [{"id": f.get("id")} for f in files]}
        if method == "users.info":
            user = str(params.get("user", ""))
            profile = {"email": self.emails[user]} if user in self.emails else {}
            return 200, {}, {"ok": True, "user": {"id": user, "profile": profile}}
        return 200, {}, {"ok": True, "ts": "1.0", "channel": "D1"}
