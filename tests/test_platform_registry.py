"""Platforms are found through the registry (bot.platforms) and nowhere named: the
server, the worker, the CLI, the bind-code sheet and .env.example iterate them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.platforms import Platform, registered

ROOT = Path(__file__).resolve().parent.parent
NAMES = re.compile(r"(?<![a-z])(telegram|slack|feishu|lark)|\bt\.me/", re.I)
# Still naming a platform in code, each for a reason to remove later:
KNOWN = {
    # Slack takes "/" for its own commands: its how-to-bind sentence differs.
    "bot/chat/binding.py",
    # The chat page's sentences compare it with Telegram.
    "handlers/web/app.py",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def named_in_code(path: Path) -> list[str]:
    """Platform names in a module's identifiers and strings (comments and docstrings
    aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name
        elif isinstance(node, ast.ImportFrom):
            text = node.module
        if text and NAMES.search(text):
            hits.append(f"{node.lineno if hasattr(node, 'lineno') else '?'}: {text}")
    return hits


def test_no_module_outside_a_platforms_folder_names_a_platform():
    folders = {f"handlers/{p.name}/" for p in registered()}
    offenders = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(f) for f in folders) or rel in KNOWN:
            continue
        if hits := named_in_code(path):
            offenders[rel] = hits
    assert offenders == {}


def test_the_known_exceptions_still_need_their_place():
    # An exception that no longer names a platform must leave the list.
    for rel in KNOWN:
        assert named_in_code(ROOT / rel), rel


def test_every_platform_registers_itself_with_what_the_interface_asks():
    found = registered()
    assert [p.name for p in found] == ["telegram", "slack", "feishu"]
    for p in found:
        assert isinstance(p, Platform)
        assert p.settings_keys
        assert all(key in p.env_example for key in p.settings_keys)
        assert p.limits.per_second > 0
        command = p.dev_command()
        assert command is not None
        assert command.name


def test_a_pasted_telegram_link_still_carries_its_code():
    from bot.chat.codes import code_in, linked_code

    assert code_in("https://t.me/JixiaoBot?start=K7Q2M9XD3F8A") == "K7Q2M9XD3F8A"
    assert linked_code("90 90 90") is None


def test_feishu_is_on_only_with_its_credentials_and_serves_only_what_it_can_verify(
    Session, monkeypatch, tmp_path
):
    from starlette.testclient import TestClient

    from bot.infra.settings import Settings
    from bot.platforms import enabled
    from handlers.server import create_server

    monkeypatch.chdir(tmp_path)  # no .env here
    for key in ("APP_ID", "APP_SECRET", "VERIFICATION_TOKEN", "ENCRYPT_KEY"):
        monkeypatch.delenv(f"FEISHU_{key}", raising=False)
    settings = Settings(_env_file=None)
    assert [p.name for p in enabled(settings)] == []
    monkeypatch.setenv("FEISHU_APP_ID", "cli_x")
    monkeypatch.setenv("FEISHU_APP_SECRET", "app-secret-x")
    assert [p.name for p in enabled(settings)] == ["feishu"]
    # The sender and the long connection could run; callbacks could not be verified.
    paths = [getattr(r, "path", "") for r in create_server(settings, Session).routes]
    assert "/feishu/events" not in paths
    monkeypatch.setenv("FEISHU_VERIFICATION_TOKEN", "token-x")
    monkeypatch.setenv("FEISHU_ENCRYPT_KEY", "key-x")
    server = create_server(settings, Session)
    assert "/feishu/events" in [getattr(r, "path", "") for r in server.routes]
    with TestClient(server) as client:
        assert client.post("/feishu/events", content=b"{}").status_code == 401
    from bot.logs import secrets_of

    assert {"app-secret-x", "token-x"} <= set(secrets_of(settings))
