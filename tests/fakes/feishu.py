"""A local stand-in for Feishu's open API, for tests: the tenant access token, message
create (records each card), message patch, image upload (multipart) and user lookup (a
profile email), each refused without the tenant access token. It can answer 429 with
x-ogw-ratelimit-reset and code 99991400, and a chosen Feishu error code for chosen
receivers."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    """The SDK's upload: every part kept as bytes (its image part has no file name)."""
    message = BytesParser(policy=default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    parts: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = part.get_payload(decode=True)
    return parts


@dataclass
class FakeFeishuAPI:
    messages: list[dict[str, Any]] = field(default_factory=list)  # created, in order
    patched: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # open_id → profile email
    mobiles: dict[str, str] = field(default_factory=dict)  # open_id → profile mobile
    errors: dict[str, int] = field(default_factory=dict)  # receive_id → Feishu code
    # open_id → Feishu code the contact API answers for that user (an app without the
    # contact scope, a user outside its visibility: 99991672, 41050)
    profile_errors: dict[str, int] = field(default_factory=dict)
    rate_limit_next: int = 0
    tokens: int = 0  # tenant access tokens handed out
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def cards(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(m["content"]) for m in self.messages]

    def start(self) -> FakeFeishuAPI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("multipart/form-data"):
                    body = multipart(kind, raw)
                else:
                    body = json.loads(raw.decode() or "{}")
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                auth = self.headers.get("Authorization", "")
                status, headers, payload = fake.answer(self.command, url.path, query, body, auth)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PATCH = do_GET = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
        auth: str = "Bearer t-fake",
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            if path.endswith(("/tenant_access_token/internal", "/app_access_token/internal")):
                self.tokens += 1
                return (
                    200,
                    {},
                    {
                        "code": 0,
                        "msg": "ok",
                        "tenant_access_token": "t-fake",
                        "app_access_token": "a-fake",
                        "expire": 7200,
                    },
                )
            if auth != "Bearer t-fake":
                # Every other call needs the tenant access token handed out above.
                return 401, {}, {"code": 99991663, "msg": "Invalid access token"}
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                limited = {"code": 99991400, "msg": "request trigger frequency limit"}
                return 429, {"x-ogw-ratelimit-reset": "2"}, limited
            if path == "/open-apis/im/v1/messages" and method == "POST":
                receiver = str(body.get("receive_id", ""))
                if receiver in self.errors:
                    return 400, {}, {"code": self.errors[receiver], "msg": "refused"}
                self.messages.append({**body, "receive_id_type": query.get("receive_id_type")})
                mid = f"om_{len(self.messages)}"
                return 200, {}, {"code": 0, "msg": "success", "data": {"message_id": mid}}
            if path.startswith("/open-apis/im/v1/messages/") and method == "PATCH":
                self.patched.append((path.rsplit("/", 1)[-1], body))
                return 200, {}, {"code": 0, "msg": "success", "data": {}}
            if path == "/open-apis/im/v1/images":
                image = body.get("image")
                self.images.append(image if isinstance(image, bytes) else b"")
                key = f"img_{len(self.images)}"
                return 200, {}, {"code": 0, "msg": "success", "data": {"image_key": key}}
            if path.startswith("/open-apis/contact/v3/users/"):
                user = path.rsplit("/", 1)[-1]
                if user in self.profile_errors:
                    refused = {"code": self.profile_errors[user], "msg": "no authority"}
                    return 400, {}, refused
                found = {
                    "open_id": user,
                    "email": self.emails.get(user, ""),
                    "mobile": self.mobiles.get(user, ""),
                }
                return 200, {}, {"code": 0, "msg": "success", "data": {"user": found}}
        return 404, {}, {"code": 404, "msg": "not found"}
