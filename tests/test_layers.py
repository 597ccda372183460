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


def test_the_check_sees_an_upward_import(tmp_path):
    """It would fail: an import inside a function is found too."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from handlers.server import create_server\n")
    assert (2, "handlers.server") in _imports(module)
