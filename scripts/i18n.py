"""Refresh the message catalogs: extract, update, merge pending translations, compile.

    .venv/bin/python scripts/i18n.py

Source strings are English, so the en catalog translates each message to itself; zh_CN
translations come from the .po file, and new ones can be dropped into
locales/pending/*.json ({"English msgid": "中文"}), which this script merges and deletes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))


def run(*args: str) -> None:
    subprocess.run([PYBABEL, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _done(string: object) -> bool:
    if isinstance(string, (tuple, list)):
        return bool(string) and all(string)
    return bool(string)


def main() -> None:
    run(
        "extract",
        "-F",
        "pyproject.toml",
        # babel's default keywords already cover _, N_ and ngettext.
        "--add-comments=TRANSLATORS:",
        "--sort-by-file",
        "--no-wrap",
        "--project",
        "jixiao",
        "-o",
        str(POT),
        "bot",
        "handlers",
        "benchmarks",
    )
    for lang in ("zh_CN", "en"):
        po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            run(
                "update",
                "-i",
                str(POT),
                "-o",
                str(po),
                "-l",
                lang,
                "--no-wrap",
                "--ignore-obsolete",
                "--no-fuzzy-matching",
            )
        else:
            run("init", "-i", str(POT), "-o", str(po), "-l", lang, "--no-wrap")
    pending: dict[str, str] = {}
    missing: list[object] = []
    for f in sorted((LOCALES / "pending").glob("*.json")):
        pending.update(json.loads(f.read_text(encoding="utf-8")))
    for lang in ("zh_CN", "en"):
        po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for msg in catalog:
            if not msg.id:
                continue
            plural = not isinstance(msg.id, str)
            key = msg.id[0] if plural else msg.id
            if lang == "en" and not _done(msg.string):
                msg.string = tuple(msg.id) if plural else msg.id
            elif lang != "en" and key in pending and not _done(msg.string):
                # Chinese has one plural form.
                msg.string = (pending[key],) if plural else pending[key]
            msg.flags.discard("fuzzy")
            if lang == "zh_CN" and not _done(msg.string):
                missing.append(msg.id)
        with po.open("wb") as fh:
            write_po(fh, catalog, width=0, sort_by_file=True, ignore_obsolete=True)
    for m in missing:
        print("untranslated zh_CN:", m)
    for f in (LOCALES / "pending").glob("*.json"):
        f.unlink()  # merged: the .po files are the source from now on
    run("compile", "-d", str(LOCALES), "-D", "messages")
    print(f"{len(missing)} zh_CN messages still untranslated")


if __name__ == "__main__":
    main()
