"""Feishu's own settings, FEISHU_*, from the environment and `.env`, as bot.infra.settings reads
Jixiao's: a malformed value stops start-up."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

# Feishu's open platform; Lark (international) is https://open.larksuite.com
FEISHU_DOMAIN = "https://open.feishu.cn"


class FeishuSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FEISHU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    app_id: str = ""
    app_secret: str = ""
    verification_token: str = ""
    encrypt_key: str = ""
    # Where the open API is: empty for Feishu's own; Lark's, a private deployment's, or a
    # test double's otherwise.
    api_url: str = ""
    # Let Feishu users bind by the email on their Feishu profile matching the employee
    # record, without a code.
    bind_by_email: bool = False
    # Likewise by the mobile number on their Feishu profile matching the imported one.
    bind_by_mobile: bool = False

    @property
    def domain(self) -> str:
        return (self.api_url or FEISHU_DOMAIN).rstrip("/")

    @property
    def on(self) -> bool:
        return bool(self.app_id and self.app_secret)


ENV_EXAMPLE = """
# Feishu (飞书 / Lark) app id cli_... from the developer console (leave empty to keep
# Feishu off).
FEISHU_APP_ID=
# The app's secret (secret).
FEISHU_APP_SECRET=
# Event subscription's verification token, checked on every callback (secret).
FEISHU_VERIFICATION_TOKEN=
# Event subscription's encrypt key: callbacks arrive encrypted and signed with it (secret;
# the HTTP endpoint /feishu/events runs only when this and the token are set).
FEISHU_ENCRYPT_KEY=
# Where Feishu's open API is: empty for Feishu's own (https://open.feishu.cn); Lark's
# (https://open.larksuite.com), a private deployment's, or a test double's otherwise.
FEISHU_API_URL=
# Let Feishu users bind by the email on their Feishu profile matching the employee
# record, without a code (true/false; needs the contact permission to read emails).
FEISHU_BIND_BY_EMAIL=false
# Let Feishu users bind by the mobile number on their Feishu profile matching the one
# imported with the org file (手机), without a code (true/false; needs the contact
# permission to read mobile numbers).
FEISHU_BIND_BY_MOBILE=false
"""
KEYS = tuple(line.split("=", 1)[0] for line in ENV_EXAMPLE.splitlines() if line and line[0] != "#")
