"""Feishu events in, the conversation core's replies out, through lark-oapi's event
dispatcher.

Every callback arrives encrypted with the encrypt key and signed with it; the signature
is checked here in constant time before the SDK decrypts, checks the verification token,
answers the URL-verification challenge and dispatches. Each event runs the conversation
once in its own transaction that also records the event id (Feishu redelivers). Replies
go to the speaker's private chat with the bot as message cards; a card action whose
first reply is a form step updates the tapped card in place (the callback's answer).
Cards in group chats carry no buttons, so every card action comes from a private chat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

import lark_oapi as lark  # type: ignore[import-untyped]
from lark_oapi.core.model import RawRequest  # type: ignore[import-untyped]
from lark_oapi.core.utils import AESCipher  # type: ignore[import-untyped]
from lark_oapi.event.callback.model.p2_card_action_trigger import (  # type: ignore[import-untyped]
    P2CardActionTriggerResponse,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.chat import binding
from bot.chat.dispatch import handle_once
from bot.infra.message import Incoming, Kind, Reply
from bot.infra.workdays import utc_now
from handlers.feishu.cards import KEY, card
from handlers.feishu.client import Failed, profile_of, send_card
from handlers.feishu.settings import FeishuSettings

log = logging.getLogger(__name__)
PLATFORM = "feishu"
TIMESTAMP = "X-Lark-Request-Timestamp"
NONCE = "X-Lark-Request-Nonce"
SIGNATURE = "X-Lark-Signature"


class Refused(Exception):
    """A callback that is not Feishu's: bad signature, token or encryption."""


def signature(timestamp: str, nonce: str, key: str, body: bytes) -> str:
    """Feishu's: sha256 of timestamp + nonce + encrypt key + the raw body, in hex."""
    return hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()


def check(settings: FeishuSettings, headers: dict[str, str], body: bytes) -> None:
    """Refuse anything not encrypted with our key, or (except the URL-verification
    challenge, which Feishu does not sign) not signed with it."""
    try:
        outer = json.loads(body)
        plain = json.loads(AESCipher(settings.encrypt_key).decrypt_str(outer["encrypt"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("not encrypted with our key") from exc
    if plain.get("type") == "url_verification":
        return
    given = headers.get(SIGNATURE, "")
    wanted = signature(
        headers.get(TIMESTAMP, ""), headers.get(NONCE, ""), settings.encrypt_key, body
    )
    if not given or not hmac.compare_digest(given.encode(), wanted.encode()):
        raise Refused("bad signature")


class Bot:
    """The conversation on Feishu: an event dispatcher wired to the core."""

    def __init__(
        self,
        settings: FeishuSettings,
        sessions: sessionmaker[Session],
        client: Any,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.now = clock or utc_now
        self.dispatcher = (
            lark.EventDispatcherHandler.builder(settings.encrypt_key, settings.verification_token)
            .register_p2_im_message_receive_v1(self.on_message)
            .register_p2_card_action_trigger(self.on_card_action)
            .build()
        )

    # -- inbound -------------------------------------------------------------------

    def on_message(self, data: Any) -> None:
        event = data.event
        message = event.message
        user = event.sender.sender_id.open_id if event.sender and event.sender.sender_id else ""
        if not user or event.sender.sender_type == "app":
            return  # our own messages are not questions
        private = message.chat_type == "p2p"
        if not private and not message.mentions:
            return  # a group's talk is not addressed to the bot
        self.profile_binding(user)
        if message.message_type == "text":
            text = str(json.loads(message.content or "{}").get("text", ""))
            for mention in message.mentions or []:
                text = text.replace(mention.key or "", "")
            incoming = Incoming(PLATFORM, user, user, text=text.strip(), private=private)
        else:
            incoming = Incoming(PLATFORM, user, user, kind=Kind.OTHER, private=private)
        replies = handle_once(
            self.sessions, PLATFORM, f"evt:{data.header.event_id}", incoming, self.now()
        )
        if private:
            self.send(user, replies or [])
        else:
            # In a group: the core's public answer (how to bind, "I'll reply privately"),
            # without buttons, so no card in a group can be acted on.
            public = [Reply(r.text) for r in replies or []]
            self.send(message.chat_id, public, receive_id_type="chat_id")

    def on_card_action(self, data: Any) -> Any:
        event = data.event
        user = event.operator.open_id if event.operator else ""
        value = (event.action.value if event.action else None) or {}
        payload = value.get(KEY) if isinstance(value, dict) else None
        if not user or not isinstance(payload, str):
            log.warning("feishu: a card action without our payload was refused")
            return P2CardActionTriggerResponse({})
        incoming = Incoming(PLATFORM, user, user, kind=Kind.BUTTON, payload=payload)
        key = f"act:{data.header.event_id if data.header else event.token}"
        replies = handle_once(self.sessions, PLATFORM, key, incoming, self.now()) or []
        if replies and replies[0].edit and not replies[0].image:
            # A form step: the tapped card becomes the next step, as Telegram edits.
            first, rest = replies[0], replies[1:]
            self.send(user, rest)
            return P2CardActionTriggerResponse({"card": {"type": "raw", "data": card(first)}})
        self.send(user, replies)
        return P2CardActionTriggerResponse({})

    def profile_binding(self, user: str) -> None:
        """HR may let Feishu users bind by their profile's email or mobile number instead
        of a code (each its own setting); the email is tried first."""
        by_email, by_mobile = self.settings.bind_by_email, self.settings.bind_by_mobile
        if not (by_email or by_mobile):
            return
        with self.sessions() as s:
            if binding.identity_exists(s, PLATFORM, user):
                return
        try:
            email, mobile = profile_of(self.client, user)
        except Failed as exc:
            log.warning("feishu: could not read a user's profile: %s", exc)
            return
        with self.sessions() as s, s.begin():
            if by_email and binding.bind_by_email(s, self.now(), PLATFORM, user, email):
                return
            if by_mobile:
                binding.bind_by_mobile(s, self.now(), PLATFORM, user, mobile)

    # -- outbound ------------------------------------------------------------------

    def send(self, to: str, replies: list[Reply], receive_id_type: str = "open_id") -> None:
        for reply in replies:
            try:
                send_card(self.client, to, reply, receive_id_type)
            except Failed as exc:
                log.warning("feishu: a reply could not be sent: %s", exc)

    # -- HTTP ----------------------------------------------------------------------

    def handle(self, uri: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """One callback: (status, body). Refusals are 401 and reach no handler."""
        try:
            check(self.settings, headers, body)
        except Refused as exc:
            log.warning("feishu: callback refused: %s", exc)
            return 401, b'{"msg":"refused"}'
        request = RawRequest()
        request.uri = uri
        request.body = body
        request.headers = headers
        response = self.dispatcher.do(request)
        status = int(response.status_code or 200)
        text = response.content or b""
        if status >= 500 and b"verification_token" in text:
            return 401, b'{"msg":"refused"}'  # the token, checked by the SDK
        return status, text
