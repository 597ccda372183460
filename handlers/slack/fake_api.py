"""A local stand-in for Slack's Web API, for tests: records each call, answers like Slack
(`{"ok": true, ...}`), and can answer 429 with Retry-After to exercise the retry handler."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class FakeSlackAPI:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many calls with 429 first
    emails: dict[str, str] = field(default_factory=dict)  # user id → profile email
    errors: dict[str, str] = field(default_factory=dict)  # channel → Slack error code
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def posted(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def start(self) -> FakeSlackAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(body or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(body).items()}
                    for key in ("blocks", "view"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                method = self.path.rsplit("/", 1)[-1]
                with api._lock:
                    limited = api.rate_limit_next > 0
                    failing = api.errors.get(str(params.get("channel", "")))
                    if limited:
                        api.rate_limit_next -= 1
                    elif not failing:
                        api.calls.append((method, params))
                if limited:
                    payload = json.dumps({"ok": False, "error": "ratelimited"}).encode()
                    self.send_response(429)
                    self.send_header("Retry-After", "1")
                elif failing:
                    payload = json.dumps({"ok": False, "error": failing}).encode()
                    self.send_response(200)
                elif method == "users.info":
                    user = str(params.get("user", ""))
                    profile = {"email": api.emails[user]} if user in api.emails else {}
                    payload = json.dumps(
                        {"ok": True, "user": {"id": user, "profile": profile}}
                    ).encode()
                    self.send_response(200)
                else:
                    payload = json.dumps({"ok": True, "ts": "1.0", "channel": "D1"}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
