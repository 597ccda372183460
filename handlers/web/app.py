"""The chat page's HTTP side: static files, the page's strings, personas, and one JSON
endpoint that turns a typed text or a pressed button into `Incoming`, runs the
conversation core in one transaction and returns its replies for the browser to render.

The page answers only this computer: requests whose peer is not a loopback address are
refused whatever their Host header says, so `jixiao serve --host 0.0.0.0` (for the
platforms' webhooks) does not open it to the network. A web identity (`web-<32 hex>`) is a random
bearer name the server hands out; it means nothing until bound with a one-time code,
exactly like a Telegram account.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import json
import logging
import mimetypes
import re
import secrets
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.chat import codes
from bot.infra import i18n
from bot.infra.errors import Refused
from bot.infra.i18n import _
from bot.infra.message import Incoming, Kind, Reply
from bot.infra.workdays import utc_now
from bot.notify.reach import sign_handed_out
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


def spoken_language(session: Session, incoming: Incoming, now: dt.datetime) -> str:
    """The language the bot speaks with this identity, by the core's own rule: the one
    chosen in the chat (the employee's, once bound), else the page's. The page follows
    it, so the bot's "Language" and the page's switch are one setting."""
    from bot.chat import dispatch, language

    spoken = dispatch.converse(session, incoming, now, language.of)
    return spoken if isinstance(spoken, str) else language_of(incoming.language_code)


def choose_language(session: Session, incoming: Incoming, now: dt.datetime, lang: str) -> str:
    """Store the page's language as this identity's choice, exactly as the bot's own
    "Language" button does; the bot's note saying so, in that language."""
    from bot.chat import dispatch, language

    note = dispatch.converse(session, incoming, now, lambda ctx: language.switch(ctx, lang))
    return note if isinstance(note, str) else ""


def issue_bind_code(session: Session, employee_id: int, now: dt.datetime) -> str:
    """A fresh one-time bind code, the same kind HR hands out for Telegram and Slack."""
    from bot.chat import codes

    return codes.issue(session, employee_id, now)


class Invalid(Exception):
    """A request the page itself would never send."""


def as_bind_command(session: Session, incoming: Incoming) -> Incoming:
    """An unbound visitor who types just the code HR gave them means to bind with it:
    the page never asks an employee to type a command. Bound users' words are left alone,
    so an eight-letter word never counts as a wrong code."""
    text = codes.code_in(incoming.text) if incoming.kind == Kind.TEXT else None
    if text is None:
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


def identity_tag(user_id: str) -> str:
    """A web identity is the page's only credential (whoever holds it reads that person's
    pay): logs name it by a short hash, enough to tell two chats apart, never by itself."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:8]


def failure_report(exc: BaseException, incoming: Incoming) -> str:
    """The traceback of a failed step with the identity and the typed text taken out: a
    database error quotes its parameters, and the text may be `/start CODE`."""
    report = "".join(traceback.format_exception(exc))
    secrets_seen = {incoming.user_id, incoming.text, incoming.payload}
    # Parts of the text too (a bind code quoted on its own, as typed or as the page passes
    # it on, normalised); short words are no secret.
    for word in [incoming.text, *re.split(r"\s+", incoming.text)]:
        if len(word) >= 4:
            secrets_seen.update({word, codes.normalise(word)})
    for secret in sorted((s for s in secrets_seen if s), key=len, reverse=True):
        report = report.replace(secret, "[hidden]")
    return report


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
    """A queued push, rendered as every answer is: it is a Reply too."""
    return reply_json(Reply.from_content(content))


class SecurityHeaders:
    """Nothing but this origin may run, load or frame anything on the page. Nothing is
    stored by the browser's cache (answers carry pay), except the fonts and the icon: they
    hold no data, and the font is the page's largest file."""

    HEADERS: ClassVar[list[tuple[bytes, bytes]]] = [
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
            b"base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]
    CACHED = ("/static/fonts/", "/static/favicon.", "/favicon.ico")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = str(scope.get("path", ""))
        cache = b"public, max-age=86400" if path.startswith(self.CACHED) else b"no-store"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS, (b"cache-control", cache)]
            await send(message)

        await self.app(scope, receive, with_headers)


def local_peer(client: tuple[str, int] | list[Any] | None) -> bool:
    """Whether a request comes from this computer: a loopback peer address (after the
    server's trusted proxy headers), or a Unix socket, which has no address."""
    if client is None:
        return True
    try:
        address = ipaddress.ip_address(str(client[0]))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class LocalPeersOnly:
    """The page's access control when the server listens beyond this computer: the Host
    header is the client's to choose, the peer address is not. Anyone else gets 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not local_peer(scope.get("client")):
            log.warning("chat page refused a request from a non-local address")
            response = PlainTextResponse("The chat page answers only this computer.", 403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


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

    async def favicon(request: Request) -> Response:
        # Browsers ask for it whatever the page's <link rel="icon"> says.
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

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

    def converse(incoming: Incoming, lang: str) -> tuple[list[Reply], str]:
        """The core's replies, and the language the bot speaks with this identity after
        them (a "Language" tap or `/lang` changes it; the page then follows)."""
        now = clock()
        with i18n.using(lang):
            try:
                with session_factory() as s, s.begin():
                    replies = run_core(s, as_bind_command(s, incoming), now)
                    return replies, spoken_language(s, incoming, now)
            except Refused as exc:
                # Already in the user's language; the transaction was rolled back.
                return [Reply(text=str(exc))], lang

    async def message(request: Request) -> Response:
        try:
            data = await read_json(request)
            incoming, lang = parse_message(data)
            # The peer address limits how many bind codes one machine may guess.
            peer = request.client.host if request.client else ""
            incoming = dataclasses.replace(incoming, source=peer)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        try:
            replies, spoken = await run_in_threadpool(converse, incoming, lang)
        except Exception as exc:
            # Never the identity (a credential) nor the text (maybe a bind code).
            log.error(
                "a conversation step failed for web chat #%s on a %s message:\n%s",
                identity_tag(incoming.user_id),
                incoming.kind.value,
                failure_report(exc, incoming),
            )
            with i18n.using(lang):
                return JSONResponse({"error": _("The bot did not answer. Please try again.")}, 500)
        return JSONResponse({"replies": [reply_json(r) for r in replies], "lang": spoken})

    def read_language(user_id: str, lang: str) -> str:
        """The identity's language, read without keeping anything."""
        with session_factory() as s:
            try:
                return spoken_language(s, web_incoming(user_id, lang), clock())
            except IntegrityError:
                # The chat's first message, from another tab, is creating its state right
                # now: nothing is chosen yet, and the next poll reads it.
                return lang
            finally:
                s.rollback()

    def store_language(user_id: str, lang: str) -> dict[str, str]:
        with session_factory() as s, s.begin(), i18n.using(lang):
            incoming = web_incoming(user_id, lang)
            note = choose_language(s, incoming, clock(), lang)
            return {"lang": spoken_language(s, incoming, clock()), "note": note}

    async def set_language(request: Request) -> Response:
        """The page's language switch, pressed in a chat: the bot's language for this
        identity becomes the page's, as if "Language" had been tapped in the chat."""
        try:
            data = await read_json(request)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        user_id, lang = data.get("user_id"), data.get("lang")
        if not (isinstance(user_id, str) and USER_ID.fullmatch(user_id)):
            return JSONResponse({"error": "bad_request"}, status_code=400)
        if not (isinstance(lang, str) and lang in i18n.LANGUAGES):
            return JSONResponse({"error": "bad_request"}, status_code=400)
        return JSONResponse(await run_in_threadpool(store_language, user_id, lang))

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
            ordered = sorted(rows, key=lambda r: r[0])
            # Buttons queued unsigned are signed now, for this chat.
            handed = sign_handed_out(s, PLATFORM, [(user_id, c) for _id, c in ordered], now)
        return [push_json(content) for content in handed]

    async def inbox(request: Request) -> Response:
        try:
            data = await read_json(request)
        except Invalid:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        user_id = data.get("user_id")
        if not (isinstance(user_id, str) and USER_ID.fullmatch(user_id)):
            return JSONResponse({"error": "bad_request"}, status_code=400)
        pushes = await run_in_threadpool(take_pushes, user_id)
        # The language may have been changed elsewhere (the same person on Telegram).
        spoken = await run_in_threadpool(read_language, user_id, language_of(data.get("lang")))
        return JSONResponse({"replies": pushes, "lang": spoken})

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/strings", strings),
        Route("/api/personas", personas_list),
        Route("/api/persona", persona_pick, methods=["POST"]),
        Route("/api/identity", identity, methods=["POST"]),
        Route("/api/message", message, methods=["POST"]),
        Route("/api/inbox", inbox, methods=["POST"]),
        Route("/api/language", set_language, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(LocalPeersOnly),
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


def web_incoming(user_id: str, lang: str) -> Incoming:
    """This identity, speaking no words: for steps the page takes itself."""
    return Incoming(
        platform=PLATFORM,
        user_id=user_id,
        chat_id=user_id,
        kind=Kind.OTHER,
        private=True,
        language_code=LANGUAGE_CODES[lang],
    )
