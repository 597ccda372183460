"""Replies as Feishu message cards: the one renderer, for answers and pushes alike.

Text goes in plain_text elements (names and comments are never read as markdown); each
button carries the core's opaque payload in its value, which Feishu hands back in the
card-action callback.
"""

from __future__ import annotations

from typing import Any

from bot.infra.message import Reply

TEXT_LIMIT = 2000  # characters per text element; a card is at most 30 KB in all
KEY = "jx"  # the button value's key holding the payload


def card(reply: Reply, image_key: str = "") -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    text = reply.text or " "
    for start in range(0, len(text), TEXT_LIMIT):
        elements.append(
            {
                "tag": "div",
                "text": {"tag": "plain_text", "content": text[start : start + TEXT_LIMIT]},
            }
        )
    if image_key:
        elements.append(
            {"tag": "img", "img_key": image_key, "alt": {"tag": "plain_text", "content": ""}}
        )
    for row in reply.buttons:
        if row:
            elements.append(
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": b.label},
                            "type": "default",
                            "value": {KEY: b.payload},
                        }
                        for b in row
                    ],
                }
            )
    # update_multi: the card is one shared object, so updating it in place (a form step)
    # shows the same to everyone who sees it.
    return {"config": {"wide_screen_mode": True, "update_multi": True}, "elements": elements}


def text_of(data: dict[str, Any]) -> str:
    """A card's text as the user reads it (tests and logs)."""
    return "".join(e["text"]["content"] for e in data.get("elements", []) if e.get("tag") == "div")


def buttons_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (a["text"]["content"], a["value"][KEY])
        for e in data.get("elements", [])
        if e.get("tag") == "action"
        for a in e["actions"]
    ]


def from_outbox(content: dict[str, Any]) -> Reply:
    """An outbox message as the Reply it stands for."""
    return Reply.from_content(content)
