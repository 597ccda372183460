"""Every user-facing sentence is translated: both catalogs complete, compiling cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.infra import i18n

ROOT = Path(__file__).resolve().parent.parent
PYBABEL = str(Path(sys.executable).with_name("pybabel"))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What the source asks for today, extracted afresh (not the committed .pot)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            PYBABEL,
            "extract",
            "-F",
            "pyproject.toml",
            "-o",
            str(pot),
            "bot",
            "handlers",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_in_the_source_has_a_translation(language, extracted):
    po = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(extracted - translated)
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_each_catalog_compiles_without_errors(language, tmp_path):
    po = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    out = tmp_path / "messages.mo"
    done = subprocess.run(
        [PYBABEL, "compile", "-i", str(po), "-o", str(out), "-l", language],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower()
    assert out.stat().st_size > 0


def test_placeholders_survive_translation():
    """A translation that drops or renames {label} would crash .format() at run time."""
    import re

    po = ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    field = re.compile(r"\{[^{}]*\}")
    bad = [
        m.id
        for m in catalog
        if m.id
        and isinstance(m.id, str)
        and m.string
        and sorted(field.findall(m.id)) != sorted(field.findall(str(m.string)))
    ]
    assert not bad, bad[:5]


def test_chinese_is_the_default_and_english_is_available():
    with i18n.using("zh_CN"):
        assert i18n._("Period {label} is final.") != "Period {label} is final."
    with i18n.using("en-US"):
        assert i18n._("Period {label} is final.") == "Period {label} is final."
    assert i18n.resolve("zh-hans") == "zh_CN"
    assert i18n.resolve("fr") == "zh_CN"
    assert i18n.resolve(None) == "zh_CN"
    assert i18n.resolve("not a locale!") == "zh_CN"
