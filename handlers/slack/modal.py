"""Scoring in a Slack modal: one input per indicator, criteria as hints, problems shown
inline beside each input (`response_action: errors`). The sheet's rules live in
bot.chat.sheet; this module only speaks Block Kit."""

from __future__ import annotations

import json
from typing import Any

from bot.chat.context import Ctx, unsign
from bot.chat.sheet import Sheet, open_sheet
from bot.infra.i18n import _

CALLBACK = "jx-sheet"
DRAFT = "draft"
TASK_BUTTON = "task:"  # the body of a "score this person" button: task:<id>


def sheet_for_button(ctx: Ctx, payload: str) -> Sheet | None:
    """The sheet a "task" button points to, if it was issued to this chat."""
    body = unsign(ctx.chat.secret, payload)
    if ctx.me is None or body is None or not body.startswith(TASK_BUTTON):
        return None
    try:
        task_id = int(body.split(":")[1])
    except (IndexError, ValueError):
        return None
    return open_sheet(ctx, task_id)


TITLE_MAX = 24  # Slack's limit for a modal's title


def title(sheet: Sheet) -> str:
    """Whom and in which role, within Slack's 24 characters: the number goes first, and
    the role stays visible as long as it fits (two tasks for one person differ by it)."""
    if len(sheet.title) <= TITLE_MAX:
        return sheet.title
    short = sheet.short_title or sheet.title
    return short if len(short) <= TITLE_MAX else short[: TITLE_MAX - 1] + "…"


def view(sheet: Sheet) -> dict[str, Any]:
    """The modal, in the language in force."""
    blocks: list[dict[str, Any]] = []
    for field in sheet.fields:
        value: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
        if field.value:
            value["initial_value"] = field.value
        blocks.append(
            {
                "type": "input",
                "block_id": f"ind-{field.indicator_id}",
                "optional": True,
                "label": {"type": "plain_text", "text": field.label[:2000]},
                "hint": {"type": "plain_text", "text": field.hint[:2000]},
                "element": value,
            }
        )
        comment: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": True,
        }
        if field.comment:
            comment["initial_value"] = field.comment
        blocks.append(
            {
                "type": "input",
                "block_id": f"com-{field.indicator_id}",
                "optional": True,
                "label": {"type": "plain_text", "text": _("Comment")},
                "element": comment,
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": "mode",
            "optional": True,
            "label": {"type": "plain_text", "text": _("Not finished?")},
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [
                    {
                        "text": {"type": "plain_text", "text": _("Only save a draft")},
                        "value": DRAFT,
                    }
                ],
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "private_metadata": json.dumps({"task": sheet.task_id}),
        "title": {"type": "plain_text", "text": title(sheet)},
        "submit": {"type": "plain_text", "text": _("Submit")},
        "close": {"type": "plain_text", "text": _("Cancel")},
        "blocks": blocks,
    }


class Malformed(Exception):
    """A submission whose metadata or fields the app never built."""


def submission(view: dict[str, Any]) -> tuple[int, dict[int, tuple[str, str]], bool]:
    """The task, the answers and whether to submit, from a submitted modal; Malformed
    for anything this module did not build (the task is checked again by the core)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        task = meta["task"]
        if not isinstance(task, int) or isinstance(task, bool):
            raise Malformed("task")
        given, submit = answers(view.get("state") or {})
        if not all(isinstance(x, str) for pair in given.values() for x in pair):
            raise Malformed("answers")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Malformed(str(exc)[:80]) from None
    return task, given, submit


def answers(state: dict[str, Any]) -> tuple[dict[int, tuple[str, str]], bool]:
    """What was typed, by indicator, and whether to submit (not just save a draft)."""
    values = state.get("values", {})
    out: dict[int, tuple[str, str]] = {}
    for block_id, inputs in values.items():
        if not block_id.startswith("ind-"):
            continue
        ind = int(block_id[4:])
        text = (inputs.get("value") or {}).get("value") or ""
        comment = ((values.get(f"com-{ind}") or {}).get("value") or {}).get("value") or ""
        out[ind] = (text, comment)
    chosen = ((values.get("mode") or {}).get("value") or {}).get("selected_options") or []
    return out, not any(o.get("value") == DRAFT for o in chosen)
