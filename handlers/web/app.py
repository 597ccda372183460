"""The chat page's HTTP side: static files, the page's strings, personas, and one JSON
endpoint that turns a typed text or a pressed button into `Incoming`, runs the
conversation core in one transaction and returns its replies for the browser to render.

The page is served on 127.0.0.1 only. A web identity (`web-<32 hex>`) is a random
bearer name the server hands out; it means nothing until bound with a one-time code,
exactly like a Telegram account.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import mimetypes
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import codes, i18n
from bot.chat.types import Incoming, Kind, Reply
from bot.errors import Refused
from bot.i18n import _
from bot.workdays import utc_now
from handlers.web import personas as persona_finder
from handlers.web.strings import languages, page_strings
from models import ChatIdentity
from models.outbox import OutboxMessage, OutboxState

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PLATFORM = "web"
USER_ID = re.compile(r"web-[0-9a-f]{32}")
MAX_BODY = 1_000_000  # bytes of JSON; a typed message is capped below, in characters
MAX_TEXT = 50_000
MAX_PAYLOAD = 2_000
# The page is local: only these Host headers are answered (a guard against DNS rebinding).
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
# Language codes as a platform would send them ("zh-CN", "en").
LANGUAGE_CODES = {"zh_CN": "zh-CN", "en": "en"}

Handle = Callable[[Session, Incoming, dt.datetime], list[Reply]]
Clock = Callable[[], dt.datetime]
IssueCode = Callable[[Session, int, dt.datetime], str]


def core_handle(session: Session, incoming: Incoming, now: dt.datetime) -> list[Reply]:
    """The real conversation core, imported when first needed."""
    from bot.chat.dispatch import handle

    return handle(session, incoming, now)


def issue_bind_code(session: Session, employee_id: int, now: dt.datetime) -> str:
    """A fresh one-time bind code, the same kind HR hands out for Telegram and Slack."""
    from bot import codes

    return codes.issue(session, employee_id, now)


class Invalid(Exception):
    """A request the page itself would never send."""


def as_bind_command(session: Session, incoming: Incoming) -> Incoming:
    """An unbound visitor who types just the code HR gave them means to bind with it:
    the page never asks an employee to type a command. Bound users' words are left alone,
    so an eight-letter word never counts as a wrong code."""
    text = codes.normalise(incoming.text)
    code_shaped = len(text) == codes.LENGTH and all(c in codes.ALPHABET for c in text)
    if incoming.kind != Kind.TEXT or not code_shaped:
        return incoming
    bound = session.scalar(
        select(ChatIdentity.id).where(
            ChatIdentity.platform == PLATFORM,
            ChatIdentity.external_id == incoming.user_id,
            ChatIdentity.revoked_at.is_(None),
        )
    )
    if bound is not None:
        return incoming
    return dataclasses.replace(incoming, text=f"/start {text}")


def new_user_id() -> str:
    return "web-" + secrets.token_hex(16)


def language_of(value: object) -> str:
    return i18n.resolve(value if isinstance(value, str) else None)


def reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as the browser renders it: text, rows of buttons, a picture, a file."""
    out: dict[str, Any] = {
        "text": reply.text,
        "edit": reply.edit,
        "buttons": [
            [{"label": b.label, "payload": b.payload} for b in row] for row in reply.buttons
        ],
        "image": None,
        "file": None,
    }
    if reply.image is not None:
        kind = "image/jpeg" if reply.image.startswith(b"\xff\xd8") else "image/png"
        data = base64.b64encode(reply.image).decode("ascii")
        out["image"] = {"name": reply.image_name, "src": f"data:{kind};base64,{data}"}
    if reply.file is not None:
        name = reply.file_name or "file"
        out["file"] = {
            "name": name,
            "type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "data": base64.b64encode(reply.file).decode("ascii"),
        }
    return out


def push_json(content: dict[str, Any]) -> dict[str, Any]:
    """A queued push as a reply: its text and, when well formed, its buttons."""
    rows = content.get("buttons")
    buttons = []
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, list):
                buttons.append(
                    [
                        {"label": str(b["label"]), "payload": str(b["payload"])}
                        for b in row
                        if isinstance(b, dict) and "label" in b and "payload" in b
                    ]
                )
    image = content.get("image")
    return {
        "text": str(content.get("text", "")),
        "edit": False,
        "buttons": [row for row in buttons if row],
        # Outbox pushes carry pictures (the digest's chart) as base64 PNG.
        "image": {"name": "chart.png", "src": f"data:image/png;base64,{image}"}
        if isinstance(image, str) and image
        else None,
        "file": None,
    }


class SecurityHeaders:
    """Nothing but this origin may run, load or frame anything on the page."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
            b"base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; only `application/json`, so no plain HTML form can post."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Invalid("content type")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Invalid("too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise Invalid("not json") from None
    if not isinstance(data, dict):
        raise Invalid("not an object")
    return data


def create_app(
    session_factory: sessionmaker[Session],
    *,
    personas: bool = True,
    handle: Handle | None = None,
    clock: Clock = utc_now,
    issue_code: IssueCode | None = None,
    allowed_hosts: list[str] | None = None,
) -> Starlette:
    """The chat page as an ASGI app.

    `personas` lets anyone who opens the page play a person picked from the database and
    get a fresh bind code for them: right for the demo and training database, wrong for
    real staff data (`jixiao serve` leaves it off unless asked).
    """
    run_core = handle or core_handle
    issue = issue_code or issue_bind_code

    def found_personas(session: Session) -> list[persona_finder.Persona]:
        return persona_finder.find(session) if personas else []

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def strings(request: Request) -> Response:
        lang = language_of(request.query_params.get("lang"))
        with i18n.using(lang):
            return JSONResponse(
                {
                    "lang": lang,
                    "languages": languages(),
                    "strings": page_strings(personas),
                    "personas_enabled": personas,
                }
            )

    def list_personas(lang: str) -> list[dict[str, object]]:
        with session_factory() as s, s.begin(), i18n.using(lang):
            return [p.as_json() for p in found_personas(s)]

    async def personas_list(request: Request) -> Response:
        lang = language_of(request.query_params.get("lang"))
        return JSONResponse({"personas": await run_in_threadpool(list_personas, lang)})

    def pick(employee_id: int, user_id: str, lang: str) -> dict[str, Any] | None:
        now = clock()
        with session_factory() as s, s.begin(), i18n.using(lang):
            persona = next((p for p in found_personas(s) if p.employee_id == employee_id), None)
            if persona is None:
                return None
            bound = s.scalar(
                select(ChatIdentity.employee_id).where(
                    ChatIdentity.platform == PLATFORM,
                    ChatIdentity.external_id == user_id,
                    ChatIdentity.revoked_at.is_(None),
                )
            )
            out: dict[str, Any] = {"user_id": user_id, "persona": persona.as_json()}
            if bound == employee_id:
                out.update(
                    bound=True,
                    code=None,
                    command=None,
                    note=_("This chat is bound to {name}.").format(name=persona.name),
                )
                return out
            code = issue(s, employee_id, now)
            out.update(
                bound=False,
                code=code,
                command=f"/start {code}",
                note=_(
                    "Your bind code for {name} is {code}. Press Bind (or send /start {code}) "
                    "to bind this chat to {name}, just as on Telegram."
                ).format(name=persona.name, code=code),
            )
            return out

    async def persona_pick(request: Request) -> Response:
        if not personas:
            return JSONResponse({"error": "personas_disabled"}, status_code=404)
        try:
            data = await read_json(request)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        employee_id = data.get("employee_id")
        if not isinstance(employee_id, int) or isinstance(employee_id, bool):
            return JSONResponse({"error": "bad_request"}, status_code=400)
        user_id = data.get("user_id")
        if not (isinstance(user_id, str) and USER_ID.fullmatch(user_id)):
            user_id = new_user_id()
        out = await run_in_threadpool(pick, employee_id, user_id, language_of(data.get("lang")))
        if out is None:
            return JSONResponse({"error": "not_a_persona"}, status_code=403)
        return JSONResponse(out)

    async def identity(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "bad_request"}, status_code=400)
        return JSONResponse({"user_id": new_user_id()})

    def converse(incoming: Incoming, lang: str) -> list[Reply]:
        now = clock()
        with i18n.using(lang):
            try:
                with session_factory() as s, s.begin():
                    return run_core(s, as_bind_command(s, incoming), now)
            except Refused as exc:
                # Already in the user's language; the transaction was rolled back.
                return [Reply(text=str(exc))]

    async def message(request: Request) -> Response:
        try:
            data = await read_json(request)
            incoming, lang = parse_message(data)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        try:
            replies = await run_in_threadpool(converse, incoming, lang)
        except Exception:
            log.exception("the conversation core failed on %r", incoming)
            with i18n.using(lang):
                return JSONResponse({"error": _("The bot did not answer. Please try again.")}, 500)
        return JSONResponse({"replies": [reply_json(r) for r in replies]})

    def take_pushes(user_id: str) -> list[dict[str, Any]]:
        """Pushes queued for this web chat (reminders, nudges), each handed out once: the
        browser is this platform's transport, and polling is how it receives."""
        now = clock()
        with session_factory() as s, s.begin():
            rows = s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.platform == PLATFORM,
                    OutboxMessage.chat_id == user_id,
                    OutboxMessage.state == OutboxState.QUEUED,
                    OutboxMessage.next_attempt_at <= now,
                )
                .values(state=OutboxState.SENT, sent_at=now, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id, OutboxMessage.content)
            ).all()
        return [push_json(content) for _id, content in sorted(rows, key=lambda r: r[0])]

    async def inbox(request: Request) -> Response:
        try:
            data = await read_json(request)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        user_id = data.get("user_id")
        if not (isinstance(user_id, str) and USER_ID.fullmatch(user_id)):
            return JSONResponse({"error": "bad_request"}, status_code=400)
        return JSONResponse({"replies": await run_in_threadpool(take_pushes, user_id)})

    routes = [
        Route("/", index),
        Route("/api/strings", strings),
        Route("/api/personas", personas_list),
        Route("/api/persona", persona_pick, methods=["POST"]),
        Route("/api/identity", identity, methods=["POST"]),
        Route("/api/message", message, methods=["POST"]),
        Route("/api/inbox", inbox, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOCAL_HOSTS),
        Middleware(SecurityHeaders),
    ]
    return Starlette(routes=routes, middleware=middleware)


def parse_message(data: dict[str, Any]) -> tuple[Incoming, str]:
    """What the browser sent, checked: a web identity and a text, a button or a sticker."""
    user_id = data.get("user_id")
    if not (isinstance(user_id, str) and USER_ID.fullmatch(user_id)):
        raise Invalid("user_id")
    lang = language_of(data.get("lang"))
    kind = data.get("kind", "text")
    text = data.get("text", "")
    payload = data.get("payload", "")
    if not isinstance(text, str) or not isinstance(payload, str):
        raise Invalid("types")
    if kind == "text":
        if len(text) > MAX_TEXT:
            raise Invalid("too long")
        payload = ""
    elif kind == "button":
        if not payload or len(payload) > MAX_PAYLOAD:
            raise Invalid("payload")
        text = ""
    elif kind == "other":
        text = payload = ""
    else:
        raise Invalid("kind")
    incoming = Incoming(
        platform=PLATFORM,
        user_id=user_id,
        chat_id=user_id,
        kind=Kind(kind),
        text=text,
        payload=payload,
        private=True,
        language_code=LANGUAGE_CODES[lang],
    )
    return incoming, lang
