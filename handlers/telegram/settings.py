"""Telegram's own settings, TELEGRAM_*, from the environment and `.env`, as bot.infra.settings
reads Jixiao's: a malformed value stops start-up."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TELEGRAM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: str = ""
    bot_username: str = "JixiaoBot"
    webhook_secret: str = ""
    # Where the Bot API is: empty for Telegram's own; a local telegram-bot-api server
    # (or a test double) otherwise, e.g. http://127.0.0.1:8081/bot
    api_url: str = ""


ENV_EXAMPLE = """
# Telegram bot token from @BotFather (secret; leave empty to keep Telegram off).
TELEGRAM_BOT_TOKEN=
# The bot's @username without @, used for /start deep links in bind-code sheets
# (only when TELEGRAM_BOT_TOKEN is set).
TELEGRAM_BOT_USERNAME=JixiaoBot
# Secret Telegram echoes in X-Telegram-Bot-Api-Secret-Token on webhook calls (secret).
TELEGRAM_WEBHOOK_SECRET=
# Where the Bot API is: empty for Telegram's own; a local telegram-bot-api server
# otherwise, e.g. http://127.0.0.1:8081/bot
TELEGRAM_API_URL=
"""
KEYS = tuple(line.split("=", 1)[0] for line in ENV_EXAMPLE.splitlines() if line and line[0] != "#")
