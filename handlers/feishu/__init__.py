"""Feishu (飞书 / Lark) through the official lark-oapi SDK: one folder, registered by one
line in pyproject.toml (bot.platforms)."""
