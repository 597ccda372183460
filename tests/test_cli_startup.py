"""Every `jixiao` command builds the whole command tree, platforms' development commands
included: naming a platform must not import its SDK (lark-oapi alone took 3.5 s), or
every command an HR user types waits for it."""

from __future__ import annotations

import subprocess
import sys

SDKS = ("lark_oapi", "slack_sdk", "slack_bolt", "telegram", "matplotlib")


def test_building_the_cli_imports_no_platform_sdk():
    code = (
        "import sys, bot.cli.main as m; m.build(); "
        f"print(sorted(set(k.split('.')[0] for k in sys.modules) & set({SDKS!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_registry_still_lists_every_platform_with_its_limits():
    code = (
        "from bot.platforms import registered; "
        "print([(p.name, p.limits.per_second > 0) for p in registered()])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for name in ("feishu", "slack", "telegram"):
        assert f"('{name}', True)" in out
