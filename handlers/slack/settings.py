"""Slack's own settings, SLACK_*, from the environment and `.env`, as bot.infra.settings reads
Jixiao's: a malformed value stops start-up."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SLACK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    # The app's id (A0...): the link to the app on bind-code sheets.
    app_id: str = ""
    bind_by_email: bool = False
    # Where Slack's Web API is: empty for Slack's own (https://slack.com/api/).
    api_url: str = ""


ENV_EXAMPLE = """
# Slack bot token xoxb-... (secret; leave empty to keep Slack off).
SLACK_BOT_TOKEN=
# Slack signing secret used to verify requests (secret).
SLACK_SIGNING_SECRET=
# Slack app-level token xapp-... for Socket Mode in development (secret; `jixiao slack-socket`).
SLACK_APP_TOKEN=
# Let Slack users bind by their workspace email matching the employee record (true/false).
SLACK_BIND_BY_EMAIL=false
# Where Slack's Web API is: empty for Slack's own (https://slack.com/api/).
SLACK_API_URL=
# Slack app id (A0...), for the link to the app on bind-code sheets:
# https://slack.com/app_redirect?app=<SLACK_APP_ID>. Empty: the sheet has no Slack link.
SLACK_APP_ID=
"""
KEYS = tuple(line.split("=", 1)[0] for line in ENV_EXAMPLE.splitlines() if line and line[0] != "#")
