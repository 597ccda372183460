"""Every setting Jixiao reads, from the environment and `.env`, in one place.

A malformed value stops start-up with pydantic's message rather than limping on.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The shortest outbox retention allowed. Pruning forgets dedupe keys, so it must come long
# after every window a key guards: the longest is a day (a digest, reminder or weekly
# report per day; bot.notify.retention keeps a period's "opened" keys until it is
# published, however long that takes). A month is far beyond that, and covers what
# `jixiao undelivered` reports and an operator looks into.
OUTBOX_RETENTION_MIN_DAYS = 30


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///jixiao.db"
    default_language: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"
    bind_code_ttl_hours: int = Field(default=72, ge=1)
    # Key for the stored hashes of bind codes; empty: a key file made on first use.
    bind_code_secret: str = ""
    bind_code_secret_file: str = "bind_code.key"
    # Wrong bind codes per minute, across every chat, before code checks pause.
    bind_failures_per_minute: int = Field(default=30, ge=1)
    # Wrong bind codes per hour from one source (the chat page's IP address).
    bind_failures_per_source: int = Field(default=20, ge=1)
    log_level: str = "INFO"
    export_dir: str = "exports"
    # How each scorer scores (bot.appraisal.scorers): flags for heads and HR, never a block.
    # "Everyone within N points": a scorer whose totals span at most this many points.
    scorer_uniform_points: Decimal = Field(default=Decimal(2), ge=0)
    # "Mostly maximum marks": more than this share (percent) of a scorer's marks at the top.
    scorer_max_marks_percent: Decimal = Field(default=Decimal(80), ge=0, le=100)
    # "Above peers": a scorer's average this many points or more above the average of the
    # other scorers of the same role in the institution.
    scorer_above_peers_points: Decimal = Field(default=Decimal(10), ge=0)
    # Scorers with fewer people than this are shown but never flagged: too few to tell.
    scorer_min_people: int = Field(default=3, ge=1)
    # Bearer token a business system sends to POST /api/metrics; empty: the endpoint
    # refuses every request.
    metrics_api_token: str = ""
    # Seconds the scheduler leader's lease lasts (renewed every quarter of it): a killed
    # leader is replaced within about this long. Short in tests, the default in production.
    scheduler_lease_seconds: float = Field(default=60.0, gt=0)
    # Seconds a sender's claim on queued messages lasts (renewed every quarter of it, at
    # most every 10 s): a killed sender's messages go to another within about this long.
    outbox_lease_seconds: float = Field(default=45.0, gt=0)
    # Days the outbox keeps a message after it was sent (or finally failed); the worker
    # prunes older ones daily (`jixiao outbox prune` by hand). At least
    # OUTBOX_RETENTION_MIN_DAYS.
    outbox_retention_days: int = 90

    @field_validator("outbox_retention_days")
    @classmethod
    def _retention_long_enough(cls, value: int) -> int:
        if value < OUTBOX_RETENTION_MIN_DAYS:
            raise ValueError(
                f"OUTBOX_RETENTION_DAYS: at least {OUTBOX_RETENTION_MIN_DAYS} days, not "
                f"{value}: a sent message's dedupe key must outlive the day it guards"
            )
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        """A language Jixiao speaks ("zh_CN", "zh-CN", "en", "en_US", ...), kept as its
        catalog's name: people without a language of their own are spoken to in it."""
        from bot.infra.i18n import supported  # bot.infra.i18n reads these settings

        found = supported(value)
        if found is None:
            raise ValueError(f"DEFAULT_LANGUAGE: Jixiao speaks zh_CN and en, not {value!r}")
        return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
