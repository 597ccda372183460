"""Every setting Jixiao reads, from the environment and `.env`, in one place.

A malformed value stops start-up with pydantic's message rather than limping on.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///jixiao.db"
    default_language: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"
    bind_code_ttl_hours: int = Field(default=72, ge=1)
    telegram_bot_token: str = ""
    telegram_bot_username: str = "JixiaoBot"
    telegram_webhook_secret: str = ""
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_app_id: str = ""
    slack_bind_by_email: bool = False
    export_dir: str = "exports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
