"""The plumbing shared by the local platform fakes (Telegram's Bot API, Slack's Web API):
a threaded HTTP server on 127.0.0.1 that decodes each POST (JSON or form fields) and
hands it to the fake's `answer(method, params)`, which returns the status, any extra
headers and the JSON body to send back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Answer = tuple[int, dict[str, str], dict[str, Any]]


def form_data(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart upload (a photo, a document, a file's bytes): text fields as values
    (JSON-decoded where they parse), files as their bytes."""
    message = BytesParser(policy=default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_filename() is None:
            params[name] = maybe_json(payload.decode())
        else:
            params[name] = payload
    return params


def maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class LocalServer:
    """Serve `answer` until stop(); form fields are JSON-decoded where they parse."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], Answer]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # The client died mid-request (a killed worker): a real server never
                    # sees a complete request, so it neither answers nor acts on it.
                    self.close_connection = True
                    return
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("multipart/form-data"):
                    params = form_data(kind, raw)
                elif kind.startswith("application/json"):
                    params = json.loads(raw.decode() or "{}")
                elif self.path.startswith("/upload/"):
                    params = {"data": raw}  # a file's bytes, posted as they are
                else:
                    body = raw.decode()
                    # Both client libraries post form fields, nested values JSON-encoded.
                    params = {k: maybe_json(v[0]) for k, v in parse_qs(body).items()}
                status, headers, payload = answer(self.path.rsplit("/", 1)[-1], params)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # The client went away after asking: the request was acted on all
                    # the same, which is the "unknown" outcome the sender must survive.
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
