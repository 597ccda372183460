"""The chat page's fonts and icon: a machine without a CJK font (or an emoji font) still
shows every character the page and the bot use, and no request for them fails."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from fontTools.ttLib import TTFont

from bot.infra import i18n
from handlers.web import create_app
from handlers.web import strings as page

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "handlers" / "web" / "static"
FONTS = [STATIC / "fonts" / "jixiao-sans.woff", STATIC / "fonts" / "jixiao-marks.woff"]


@functools.cache
def covered() -> frozenset[int]:
    found: set[int] = set()
    for path in FONTS:
        found.update(TTFont(path).getBestCmap())
    return frozenset(found)


def catalog_characters() -> set[str]:
    chars: set[str] = set()
    for lang in i18n.LANGUAGES:
        path = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as f:
            for message in read_po(f):
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                chars.update("".join(s for s in strings if s))
    return chars


def test_the_shipped_fonts_cover_every_character_of_the_catalogs_and_the_page():
    chars = catalog_characters()
    for lang in i18n.LANGUAGES:
        with i18n.using(lang):
            chars.update("".join(page.page_strings(True).values()))
            chars.update("".join(page.page_strings(False).values()))
    chars.update("✅✏️⬜")  # the task marks (bot/chat/tasks.py), as no CJK font has them
    # U+FFFD, the replacement character, is quoted by an import refusal about damaged
    # files (a command-line message); Noto has no glyph for it and browsers draw their own.
    chars.discard("\ufffd")
    missing = {c for c in chars if c.isprintable() and ord(c) not in covered()}
    assert not missing, f"run scripts/make_webfont.py: the page's font lacks {sorted(missing)}"


def test_the_pages_own_symbols_are_covered():
    """The back arrow, the sticker's face, the typing dots: as written in the page."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import make_webfont

    chars = set()
    for name in ("index.html", "app.js"):
        chars.update(make_webfont.unescaped((STATIC / name).read_text(encoding="utf-8")))
    assert {"\u2039", "\u263a", "•"} <= chars
    assert not {c for c in chars if c.isprintable() and ord(c) not in covered()}


def test_the_demo_names_and_common_hanzi_are_covered():
    demo = (ROOT / "bot" / "cli" / "demo_data.py").read_text(encoding="utf-8")
    hanzi = set(re.findall(r"[\u4e00-\u9fff]", demo))
    common = {
        bytes([row, cell]).decode("gb2312")
        for row in (0xB0, 0xC5, 0xD7)
        for cell in (0xA1, 0xD0, 0xF9)
    }
    assert hanzi
    assert not {c for c in hanzi | common if ord(c) not in covered()}


def test_the_font_shows_mainland_forms():
    """The wheel's font is the Traditional-Chinese flavour: its Simplified forms must be
    the ones the page shows (a few hanzi differ, such as 骨 and 直)."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import make_webfont

    source = TTFont(make_webfont.noto_source())
    forms = make_webfont.simplified_forms(source)
    shipped = TTFont(FONTS[0])
    differing = [c for c in "骨直户" if source.getBestCmap()[ord(c)] in forms]
    assert differing
    for c in differing:
        glyph = shipped.getBestCmap()[ord(c)]
        tc_glyph = source.getBestCmap()[ord(c)]
        assert glyph == forms[tc_glyph], c


@pytest.fixture
async def client(Session):
    app = create_app(Session)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "kind", "magic"),
    [
        ("/static/fonts/jixiao-sans.woff", "font/woff", b"wOFF"),
        ("/static/fonts/jixiao-marks.woff", "font/woff", b"wOFF"),
        ("/favicon.ico", "image/x-icon", b"\x00\x00\x01\x00"),
        ("/static/favicon.svg", "image/svg+xml", b"<svg"),
    ],
)
async def test_fonts_and_icon_are_served_with_their_type_and_may_be_cached(
    client, path, kind, magic
):
    res = await client.get(path)
    assert res.status_code == 200
    assert res.headers["content-type"].split(";")[0] == kind
    assert res.content.startswith(magic)
    assert res.headers["cache-control"] == "public, max-age=86400"
    assert res.headers["x-content-type-options"] == "nosniff"


async def test_the_page_names_its_icon_and_its_answers_are_never_cached(client, Session):
    res = await client.get("/")
    assert 'rel="icon"' in res.text
    assert res.headers["cache-control"] == "no-store"
    uid = (await client.post("/api/identity", json={})).json()["user_id"]
    inbox = await client.post("/api/inbox", json={"user_id": uid})
    assert inbox.headers["cache-control"] == "no-store"


async def test_the_stylesheet_declares_the_shipped_fonts_for_text_and_controls(client):
    css = (await client.get("/static/app.css")).text
    for url in ("/static/fonts/jixiao-sans.woff", "/static/fonts/jixiao-marks.woff"):
        assert f'url("{url}")' in css
    stack = re.search(r":root\s*\{[^}]*font-family:([^;]+);", css)
    assert stack is not None
    assert '"Jixiao Sans"' in stack.group(1)
    assert '"Jixiao Marks"' in stack.group(1)
    assert re.search(r"button, textarea, input \{ font-family: inherit; \}", css)
