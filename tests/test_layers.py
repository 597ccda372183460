"""The layers point one way, handlers → bot → models, checked from the source: no module
of models imports bot or handlers, no module of bot imports handlers (at the top or
inside a function). What the application needs from a higher layer it finds by a
registered name (entry points: the platforms, the web server)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BELOW = {"models": ("bot", "handlers"), "bot": ("handlers",)}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_no_module_imports_a_layer_above_its_own(layer):
    upward = BELOW[layer]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        if "migrations/versions" not in str(path)
        for line, name in _imports(path)
        if name.split(".")[0] in upward
    ]
    assert not wrong, wrong


# Inside bot, each package imports only packages below it: infra at the bottom, then the
# appraisal domain (and importing, which reads HR's spreadsheets into it), then notify
# (what is pushed, and when), then chat, then the command line.
PACKAGES = {
    "bot.infra": ("bot.appraisal", "bot.importing", "bot.notify", "bot.chat", "bot.cli"),
    "bot.appraisal": ("bot.notify", "bot.chat", "bot.cli"),
    "bot.importing": ("bot.notify", "bot.chat", "bot.cli"),
    "bot.notify": ("bot.chat", "bot.cli"),
    "bot.chat": ("bot.cli",),
}
# Known exceptions, each to be removed, never added to: (module, what it imports).
NOT_YET = {
    # signing a push's buttons needs the chat's key, kept with the conversation state
    ("bot.notify.reach", "bot.chat.context"),
}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _targets(path: Path) -> list[tuple[int, str]]:
    """What a module imports, `from a import b` read as a.b too (b may be a module)."""
    found = _imports(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_package_of_bot_imports_one_above_it(package):
    above = PACKAGES[package]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py"))
        for line, name in _targets(path)
        if any(name == a or name.startswith(a + ".") for a in above)
        and not {(_module(path), name), (_module(path), name.rsplit(".", 1)[0])} & NOT_YET
    ]
    assert not wrong, wrong


def test_the_exceptions_are_still_needed():
    """An exception the code no longer has is struck from NOT_YET."""
    found = {
        (_module(path), name)
        for path in (ROOT / "bot").rglob("*.py")
        for _line, name in _targets(path)
    }
    assert not NOT_YET - found, NOT_YET - found


def test_the_package_check_reads_a_module_imported_by_name(tmp_path):
    """It would fail: `from bot.chat import dispatch` names the module bot.chat.dispatch."""
    module = tmp_path / "m.py"
    module.write_text("from bot.chat import dispatch\n")
    assert (1, "bot.chat.dispatch") in _targets(module)


def test_nothing_of_the_application_imports_benchmarks_or_tests():
    """The wheel ships bot, handlers and models alone."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for layer in ("bot", "handlers", "models")
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in ("benchmarks", "tests")
    ]
    assert not wrong, wrong


def test_the_check_sees_an_upward_import(tmp_path):
    """It would fail: an import inside a function is found too."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from handlers.server import create_server\n")
    assert (2, "handlers.server") in _imports(module)
