"""The lark-oapi client and the three calls Jixiao makes with it: send a card, upload a
picture, read a user's email. Failures come back as `Failed` with Feishu's code."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import lark_oapi as lark  # type: ignore[import-untyped]
from lark_oapi.api.contact.v3 import GetUserRequest  # type: ignore[import-untyped]
from lark_oapi.api.im.v1 import (  # type: ignore[import-untyped]
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
)

from bot.infra.message import Reply
from handlers.feishu.cards import card
from handlers.feishu.settings import FeishuSettings

RATE_LIMITED = 99991400  # "request trigger frequency limit"


@dataclass
class Failed(Exception):
    code: int
    msg: str
    status: int = 200
    retry_after: float = 0.0

    def __str__(self) -> str:
        return f"{self.code} {self.msg}"


def make_client(settings: FeishuSettings) -> Any:
    return (
        lark.Client.builder()
        .app_id(settings.app_id)
        .app_secret(settings.app_secret)
        .domain(settings.domain)
        .timeout(15)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )


def _check(response: Any) -> Any:
    if response.success():
        return response.data
    raw = response.raw
    status = int(getattr(raw, "status_code", 0) or 0)
    headers = {k.lower(): v for k, v in (getattr(raw, "headers", None) or {}).items()}
    wait = 0.0
    if status == 429 or response.code == RATE_LIMITED:
        # Feishu says how long in x-ogw-ratelimit-reset (seconds).
        try:
            wait = float(headers.get("x-ogw-ratelimit-reset", 1))
        except ValueError:
            wait = 1.0
    raise Failed(int(response.code or 0), str(response.msg or ""), status, wait)


def upload_image(client: Any, png: bytes) -> str:
    request = (
        CreateImageRequest.builder()
        .request_body(
            CreateImageRequestBody.builder().image_type("message").image(io.BytesIO(png)).build()
        )
        .build()
    )
    return str(_check(client.im.v1.image.create(request)).image_key)


def send_card(client: Any, open_id: str, reply: Reply, receive_id_type: str = "open_id") -> str:
    """One reply as one card (its picture uploaded first and shown in it); the message id."""
    image_key = upload_image(client, reply.image) if reply.image else ""
    request = (
        CreateMessageRequest.builder()
        .receive_id_type(receive_id_type)
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(open_id)
            .msg_type("interactive")
            .content(json.dumps(card(reply, image_key), ensure_ascii=False))
            .build()
        )
        .build()
    )
    return str(_check(client.im.v1.message.create(request)).message_id)


def profile_of(client: Any, open_id: str) -> tuple[str, str]:
    """The email and the mobile number on a user's profile ("" where none is shown)."""
    request = GetUserRequest.builder().user_id(open_id).user_id_type("open_id").build()
    user = _check(client.contact.v3.user.get(request)).user
    email = getattr(user, "email", "") or getattr(user, "enterprise_email", "") or ""
    return str(email), str(getattr(user, "mobile", "") or "")
