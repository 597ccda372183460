"""Slack's sending limits, kept apart from slack-sdk and slack-bolt so that naming them
(the platform registry, every `jixiao` command) does not import them.

chat.postMessage allows about one message a second to a channel (a DM is a channel);
the workspace-wide figure is a margin under its special rate limit.
"""

from __future__ import annotations

from bot.notify.delivery import Limits

SLACK_LIMITS = Limits(per_second=20.0, per_chat_interval=1.05)
