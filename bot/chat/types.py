"""The platform-neutral seam between a chat platform and the conversation.

A platform adapter turns its event into an `Incoming`, calls
`bot.chat.dispatch.handle(session, incoming, now)` and renders the `Reply` list it gets
back in its own idiom. No platform type crosses this seam.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    TEXT = "text"  # typed text, including /commands
    BUTTON = "button"  # a tap on a button we sent; `payload` holds its opaque reference
    OTHER = "other"  # a sticker, photo, voice note ...: politely refused


@dataclass(frozen=True, slots=True)
class Incoming:
    platform: str  # "web", "telegram", "slack"
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
