"""Feishu's sending limits, kept apart from the SDK so that naming them (the platform
registry, every `jixiao` command) does not import lark-oapi, which takes seconds.

Feishu's documented limits for sending messages (im/v1/messages): 1,000 a minute and 50
a second per app, and 5 a second to one user or one group (shared by the group's bots).
"""

from __future__ import annotations

from bot.notify.delivery import Limits

# Margins below the published figures, so clock skew never turns into a 429.
FEISHU_LIMITS = Limits(
    per_second=45.0,
    per_minute=950,
    per_chat_interval=0.25,  # 4 a second to one person, under their 5
    group_per_minute=240,  # 4 a second to one group, under its 5
)
