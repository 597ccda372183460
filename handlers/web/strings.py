"""The page's own words, served translated: the browser holds no sentence of its own."""

from __future__ import annotations

from babel import Locale

from bot.infra import i18n
from bot.infra.i18n import _


def page_strings(personas: bool = True) -> dict[str, str]:
    """Every label of the page in the language in force (see `i18n.using`).

    With personas (the demo) the first screen offers people to play; without (`jixiao
    serve` for real staff) it speaks to an employee who holds a bind code from HR."""
    if personas:
        welcome = {
            "pick_title": _("Who are you today?"),
            "pick_intro": _(
                "Pick a person to talk to the bot as them. This is a sandbox: the bot is the "
                "real one, the people and scores are demo data."
            ),
            "own_identity": _("Use my own bind code"),
        }
    else:
        welcome = {
            "pick_title": _("Welcome to Jixiao, your appraisal assistant"),
            "pick_intro": _(
                "HR gives every employee a one-time bind code. Tap the button below, type "
                "your code and send it. From then on this page is your own chat with the "
                "assistant: your scoring tasks, your results and why your pay is what it is."
            ),
            "own_identity": _("I have a bind code"),
        }
    return {
        "title": _("Jixiao"),
        "subtitle": _("Performance appraisal assistant"),
        **welcome,
        "no_personas": _(
            "Nobody to play here yet: this database holds no demo data. Ask HR for a bind code."
        ),
        "own_identity_note": _(
            "Type the bind code HR gave you (8 letters and digits, such as K7Q2M9XD) and send "
            "it. No code yet? Ask your HR department for one."
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
