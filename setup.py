"""Compiles the message catalogs into the wheel, so an installed Jixiao speaks Chinese
without a checkout: the .mo files are built, not tracked (scripts/setup compiles them for
a checkout), and locales/ lies outside the packages. Everything else is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithCatalogs(build_py):
    """build_py, then locales/<lang>/LC_MESSAGES/messages.po compiled into
    bot/locales/<lang>/LC_MESSAGES/messages.mo, where bot.infra.i18n looks first."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads locales/ in the checkout
        for po in sorted((ROOT / "locales").glob("*/LC_MESSAGES/messages.po")):
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            mo = Path(self.build_lib, "bot", "locales", po.relative_to(ROOT / "locales"))
            mo = mo.with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as f:
                write_mo(f, catalog)  # fuzzy entries left out, as `pybabel compile` does


setup(cmdclass={"build_py": BuildWithCatalogs})
