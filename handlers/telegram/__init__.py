"""Telegram: python-telegram-bot 22 on the conversation core and the outbox."""

import os

# Opt in to PTB's coming `timedelta` durations (retry_after ...) now, instead of its
# deprecation warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")
