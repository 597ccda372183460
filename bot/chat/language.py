"""Choosing the language: zh_CN by default (or the platform's), en available."""

from __future__ import annotations

from bot.chat.context import Ctx
from bot.infra import i18n
from bot.infra.i18n import _
from bot.infra.message import Reply

# Each language's name in itself, so anyone can find theirs.
NAMES = {"zh_CN": "中文", "en": "English"}


def of(ctx: Ctx) -> str:
    """The speaker's language: chosen (stored), else what the platform reports."""
    if ctx.me is not None and ctx.me.language:
        return i18n.resolve(ctx.me.language)
    chosen = ctx.state.get("lang")
    if isinstance(chosen, str):
        return i18n.resolve(chosen)
    return i18n.resolve(ctx.incoming.language_code)


def choose(ctx: Ctx) -> Reply:
    """Offer the languages; waits for a tap."""
    rows = [[ctx.button(name, f"lang:{code}") for code, name in NAMES.items()]]
    return Reply(_("Choose your language:"), rows, ctx.tapped)


def wanted(text: str) -> str | None:
    """The language a `/lang en` or `/lang 中文` argument names, if any."""
    arg = text.strip().lower()
    for code, name in NAMES.items():
        if arg in (code.lower(), name.lower()):
            return code
    if arg in ("zh", "cn", "chinese", "zh-cn", "zh_cn"):
        return "zh_CN"
    if arg in ("english", "英文", "英语"):
        return "en"
    return None


def switch(ctx: Ctx, code: str) -> str:
    """Store the choice (on the employee once bound) and use it from this reply on."""
    code = i18n.resolve(code)
    if ctx.me is not None:
        ctx.me.language = code
    else:
        ctx.update(lang=code)
    i18n.set_language(code)
    return _("Language set to English.") if code == "en" else _("Language set to Chinese.")
