"""Settings are strict: a malformed value stops start-up instead of limping on."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.infra.settings import Settings
from bot.platforms import registered

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_need_nothing_installed(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite")
    assert settings.default_language == "zh_CN"


def test_a_malformed_number_stops_start_up(monkeypatch):
    monkeypatch.setenv("BIND_CODE_TTL_HOURS", "soon")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_env_example_lists_every_setting_with_secrets_empty():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    listed = {
        line.split("=", 1)[0].lower(): line.split("=", 1)[1]
        for line in lines
        if "=" in line and not line.startswith("#")
    }
    platform_keys = {k.lower() for p in registered() for k in p.settings_keys}
    assert set(listed) == set(Settings.model_fields) | platform_keys
    for secret in (
        "telegram_bot_token",
        "telegram_webhook_secret",
        "slack_bot_token",
        "slack_signing_secret",
        "feishu_app_secret",
        "feishu_verification_token",
        "feishu_encrypt_key",
    ):
        assert listed[secret] == ""


def test_env_example_is_generated_from_the_registered_platforms():
    import subprocess
    import sys

    check = [sys.executable, str(ROOT / "scripts" / "env_example.py"), "--check"]
    assert subprocess.run(check, check=False).returncode == 0
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    # One section per platform, in the registry's order.
    starts = [text.index(p.settings_keys[0] + "=") for p in registered()]
    assert starts == sorted(starts)


def test_default_timezone_is_the_zone_of_what_has_none(session, monkeypatch, tmp_path):
    """DEFAULT_TIMEZONE is honoured: an imported institution gets it, and the group's
    own reports (no institution) read the clock in it."""
    import datetime as dt

    from bot.infra.settings import get_settings
    from bot.infra.workdays import default_tz, local_now

    monkeypatch.setenv("DEFAULT_TIMEZONE", "Asia/Urumqi")
    get_settings.cache_clear()
    try:
        assert default_tz() == "Asia/Urumqi"
        noon = dt.datetime(2026, 12, 1, 4, tzinfo=dt.UTC)
        assert local_now(noon, default_tz()).hour == 10  # UTC+6
        from bot.importing import import_org
        from models import Institution

        csv = tmp_path / "org.csv"
        csv.write_text(
            "集团,工号,姓名,机构,部门,岗位,直接上级工号,绩效工资基数\n"
            "示例集团,1,王一,乌鲁木齐分行,综合部,行长,,8000\n",
            encoding="utf-8",
        )
        import_org(session, noon, csv)
        session.flush()
        (inst,) = session.query(Institution).all()
        assert inst.timezone == "Asia/Urumqi"
    finally:
        get_settings.cache_clear()
