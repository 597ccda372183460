"""The page's own words, served translated: the browser holds no sentence of its own."""

from __future__ import annotations

from babel import Locale

from bot import i18n
from bot.i18n import _


def page_strings() -> dict[str, str]:
    """Every label of the page in the language in force (see `i18n.using`)."""
    return {
        "title": _("Jixiao"),
        "subtitle": _("Performance appraisal assistant"),
        "pick_title": _("Who are you today?"),
        "pick_intro": _(
            "Pick a person to talk to the bot as them. This is a sandbox: the bot is the "
            "real one, the people and scores are demo data."
        ),
        "no_personas": _(
            "Nobody to play here yet: prepare the demo data first with `jixiao demo`."
        ),
        "own_identity": _("Use my own bind code"),
        "own_identity_note": _(
            "Ask HR for a bind code (`jixiao codes issue`), then send /start followed by the code."
        ),
        "talking_as": _("Talking as {name}"),
        "switch_persona": _("Switch person"),
        "placeholder": _("Type a message"),
        "send": _("Send"),
        "bind": _("Bind"),
        "sticker": _("Send a sticker"),
        "sticker_sent": _("[sticker]"),
        "clear": _("Clear"),
        "language": _("Language"),
        "download": _("Download {name}"),
        "image_alt": _("Picture from the bot"),
        "failed": _("The bot did not answer. Please try again."),
        "bot": _("Bot"),
        "you": _("You"),
    }


def languages() -> list[dict[str, str]]:
    """Each supported language under its own name ("中文", "English")."""
    return [
        {"code": code, "name": Locale.parse(code).language_name or code} for code in i18n.LANGUAGES
    ]
