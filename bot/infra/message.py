"""The platform-neutral seam between a chat platform and the conversation.

A platform adapter turns its event into an `Incoming`, calls
`bot.chat.dispatch.handle(session, incoming, now)` and renders the `Reply` list it gets
back in its own idiom. No platform type crosses this seam.
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.StrEnum):
    TEXT = "text"  # typed text, including /commands
    BUTTON = "button"  # a tap on a button we sent; `payload` holds its opaque reference
    OTHER = "other"  # a sticker, photo, voice note ...: politely refused


@dataclass(frozen=True, slots=True)
class Incoming:
    platform: str  # "web", or a registered platform's name (bot.platforms)
    user_id: str  # the platform's id of the person speaking
    chat_id: str  # where to answer
    kind: Kind = Kind.TEXT
    text: str = ""
    payload: str = ""
    private: bool = True  # pay and scores are shown only in private chats
    language_code: str | None = None  # what the platform says the user's language is
    display_name: str = ""
    # Where the message came from, for limits on guessing bind codes: the chat page's
    # peer address; empty where the platform user is the source (Telegram, Slack).
    source: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str  # an opaque reference; the server re-checks everything it points to


@dataclass(slots=True)
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    # Replace the bot's previous message instead of sending a new one (a form step).
    edit: bool = False
    image: bytes | None = None  # PNG
    image_name: str = ""
    file: bytes | None = None
    file_name: str = ""

    def to_content(self) -> dict[str, Any]:
        """The one serialized form of what the bot says, stored in the outbox as JSON:
        every push is a Reply, and each platform renders it with its answers' renderer.
        Pictures and files travel as base64."""
        out: dict[str, Any] = {
            "text": self.text,
            "buttons": [
                [{"label": b.label, "payload": b.payload} for b in row] for row in self.buttons
            ],
        }
        if self.image is not None:
            out["image"] = base64.b64encode(self.image).decode("ascii")
            if self.image_name:
                out["image_name"] = self.image_name
        if self.file is not None:
            out["file"] = base64.b64encode(self.file).decode("ascii")
            out["file_name"] = self.file_name
        return out

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> Reply:
        """A stored push as the Reply it stands for; what is malformed (a row that is not
        a list, a button without label or payload, a picture that is not base64) is left
        out rather than sent half-broken."""
        buttons = []
        rows = content.get("buttons")
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, list):
                kept = [
                    Button(str(b["label"]), str(b["payload"]))
                    for b in row
                    if isinstance(b, dict) and "label" in b and "payload" in b
                ]
                if kept:
                    buttons.append(kept)
        image = _decoded(content.get("image"))
        return cls(
            str(content.get("text", "")),
            buttons,
            image=image,
            # Pushes queued before names were stored carry only the digest's chart.
            image_name=str(
                content.get("image_name") or ("chart.png" if "image" in content else "")
            ),
            file=_decoded(content.get("file")),
            file_name=str(content.get("file_name") or ""),
        )


def _decoded(value: object) -> bytes | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return None
