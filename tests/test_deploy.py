"""deploy/ says what the code does: the units start commands that exist with options that
exist, the proxy spreads over the ports the units are started on, and the environment
file names only settings Jixiao has."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from bot.infra.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / name)
    return unit


def _jixiao_args(line: str, instance: str) -> list[str]:
    words = shlex.split(line.replace("%i", instance))
    assert words[0].endswith("/.venv/bin/jixiao"), line
    return words[1:]


def test_the_units_run_commands_and_options_that_exist():
    for name, instance in (("jixiao-serve@.service", "8001"), ("jixiao-worker@.service", "1")):
        service = _unit(name)["Service"]
        for key in ("ExecStartPre", "ExecStart"):
            args = _jixiao_args(service[key], instance)
            shown = CliRunner().invoke(app, ["--lang", "en", *args, "--help"])
            assert shown.exit_code == 0, (name, key, shown.output)
            for option in (a for a in args if a.startswith("--")):
                assert option in shown.output, (name, option)
        assert _jixiao_args(service["ExecStartPre"], instance) == ["db", "check"]


def test_the_proxy_spreads_webhooks_over_the_serve_ports():
    conf = (DEPLOY / "nginx-jixiao.conf").read_text()
    upstream = re.search(r"upstream jixiao_serve \{(.*?)\}", conf, re.S)
    assert upstream is not None
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", upstream.group(1))
    assert ports == ["8001", "8002", "8003"]
    unit = (DEPLOY / "jixiao-serve@.service").read_text()
    assert "jixiao-serve@8001 jixiao-serve@8002 jixiao-serve@8003" in unit
    for path in ("/telegram/webhook", "/slack/events", "/feishu/events"):
        assert re.search(rf"location = {path}\s+\{{ proxy_pass http://jixiao_serve; \}}", conf)


def test_the_environment_file_names_only_real_settings():
    from bot.platforms import registered

    # Jixiao's own settings, and each platform's (handlers/*/settings.py).
    fields = {name.upper() for name in Settings.model_fields}
    fields |= {key for platform in registered() for key in platform.settings_keys}
    keys = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "jixiao.env").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert "DATABASE_URL" in keys
    assert set(keys) <= fields, set(keys) - fields
