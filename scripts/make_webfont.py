"""Build the chat page's fonts and icon, so Chinese never shows as boxes on a machine
without a CJK font:

    .venv/bin/python scripts/make_webfont.py

Writes, into handlers/web/static/:

- `fonts/jixiao-sans.woff`: a subset of Noto Sans CJK (from the `cvttf-NotoSansCJK-Regular`
  wheel the digest charts already use) with the 3,755 common hanzi of GB 2312 level 1, its
  punctuation, full-width forms and symbols, ASCII and Latin-1, and every character of the
  catalogs and of the code (demo names included). The wheel ships the Traditional-Chinese
  flavour; its Simplified forms (OpenType `locl`, ZHS) are baked into the character map, so
  the page shows mainland glyphs whatever its `lang`. WOFF, not WOFF2: WOFF needs only zlib
  (WOFF2 would need brotli, which the project does not depend on).
- `fonts/jixiao-marks.woff`: the three task marks the bot sends (✅ done, ✏️ draft, ⬜ not
  started), drawn here, because Noto Sans CJK has none of them and a machine without an
  emoji font would show boxes.
- `favicon.ico`: the page's icon (the same three bars as `favicon.svg`).

Run it again after adding translations whose characters the font lacks (tests/
test_web_font.py says which). Noto Sans CJK is under the SIL Open Font License 1.1; the
subset keeps its copyright and licence in the font's name table.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import re
import struct
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "handlers" / "web" / "static"
SANS = STATIC / "fonts" / "jixiao-sans.woff"
MARKS = STATIC / "fonts" / "jixiao-marks.woff"
FAVICON = STATIC / "favicon.ico"

# GB 2312 rows: 1 punctuation and symbols, 2 numbered forms, 3 full-width ASCII, 8 pinyin,
# 16-55 the level-1 hanzi.
GB2312_ROWS = [1, 2, 3, 8, *range(16, 56)]
# Where the page's own words and the bot's come from.
TEXT_SOURCES = [
    "locales/*/LC_MESSAGES/*.po",
    "bot/**/*.py",
    "handlers/**/*.py",
    "handlers/**/*.js",
    "handlers/**/*.html",
]
# The marks the bot puts before a task (bot/chat/tasks.py), the page's sticker (a smiling
# face: static/app.js), and the emoji variation selector.
MARK_CHARS = {"done": 0x2705, "draft": 0x270F, "todo": 0x2B1C, "smile": 0x263A}
VARIATION_SELECTOR = 0xFE0F
UPEM = 1000
MARKS_DATE = 3_846_009_600  # 2025-11-15 in the font epoch (seconds since 1904)


def gb2312(rows: Iterable[int]) -> set[str]:
    found = set()
    for row in rows:
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):  # unassigned cells
                found.add(bytes([0xA0 + row, cell]).decode("gb2312"))
    return found


def text_characters(root: Path = ROOT) -> set[str]:
    """Every character the catalogs and the code contain (names in the demo included),
    written out or as an escape (`&#8249;` in HTML, `\\u263A` in JavaScript)."""
    found: set[str] = set()
    for pattern in TEXT_SOURCES:
        for path in sorted(root.glob(pattern)):
            found.update(unescaped(path.read_text(encoding="utf-8")))
    return found


def unescaped(text: str) -> str:
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return html.unescape(text)


def wanted_characters(root: Path = ROOT) -> set[int]:
    chars = gb2312(GB2312_ROWS) | text_characters(root)
    chars |= {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)}
    marks = set(MARK_CHARS.values()) | {VARIATION_SELECTOR}
    return {ord(c) for c in chars if c.isprintable() and ord(c) not in marks}


def noto_source() -> Path:
    import cvttf_NotoSansCJK_Regular as wheel  # type: ignore[import-untyped]

    found = sorted(Path(wheel.__file__).parent.glob("*.otf"))
    if not found:
        sys.exit("No .otf in the cvttf-NotoSansCJK-Regular wheel: run scripts/setup first.")
    return found[0]


def simplified_forms(font: TTFont) -> dict[str, str]:
    """glyph -> its Simplified-Chinese form, from the font's `locl` lookups for ZHS."""
    gsub = font["GSUB"].table
    lookups: list[int] = []
    for script in gsub.ScriptList.ScriptRecord:
        if script.ScriptTag != "hani":
            continue
        for lang in script.Script.LangSysRecord:
            if lang.LangSysTag.strip() != "ZHS":
                continue
            for index in lang.LangSys.FeatureIndex:
                feature = gsub.FeatureList.FeatureRecord[index]
                if feature.FeatureTag == "locl":
                    lookups.extend(feature.Feature.LookupListIndex)
    mappings: list[dict[str, str]] = []
    for index in lookups:
        lookup = gsub.LookupList.Lookup[index]
        for table in lookup.SubTable:
            single = table.ExtSubTable if lookup.LookupType == 7 else table
            if single.LookupType == 1:
                mappings.append(single.mapping)
    forms: dict[str, str] = {}
    for glyph in {g for m in mappings for g in m}:
        form = glyph
        for mapping in mappings:  # in lookup order, as a shaper would apply them
            form = mapping.get(form, form)
        forms[glyph] = form
    return forms


def build_sans(source: Path, chars: set[int]) -> bytes:
    font = TTFont(source, recalcTimestamp=False)
    forms = simplified_forms(font)
    for table in font["cmap"].tables:
        if table.isUnicode():
            for code, glyph in list(table.cmap.items()):
                table.cmap[code] = forms.get(glyph, glyph)
    options = subset.Options()
    options.layout_features = ["kern", "palt"]  # locl is baked in; no vertical text here
    options.hinting = False  # CFF hints cost a sixth of the size and browsers hardly use them
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keeps the copyright and the OFL
    options.notdef_outline = True
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE"]  # the page writes horizontally
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)
    rename(font, "Jixiao Sans")
    font.flavor = "woff"
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def rename(font: TTFont, family: str) -> None:
    """A subset is a modified font: it gets its own name (the OFL asks for that)."""
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 16):
            names.setName(family, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (3, 4):
            names.setName(
                f"{family} Regular",
                record.nameID,
                record.platformID,
                record.platEncID,
                record.langID,
            )
        elif record.nameID == 6:
            names.setName(
                family.replace(" ", "") + "-Regular",
                record.nameID,
                record.platformID,
                record.platEncID,
                record.langID,
            )


# ---- the task marks ------------------------------------------------------------------
# Drawn on a 1000-unit em whose ink sits between the baseline's -60 and 760, like the
# hanzi beside them. TrueType: outer contours clockwise, holes counter-clockwise.

Point = tuple[float, float]


def contour(pen: TTGlyphPen, points: list[Point], clockwise: bool = True) -> None:
    area = sum(
        x0 * y1 - x1 * y0
        for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)
    )
    if (area < 0) != clockwise:
        points = points[::-1]
    pen.moveTo(points[0])
    for p in points[1:]:
        pen.lineTo(p)
    pen.closePath()


def square(x0: float, y0: float, x1: float, y1: float) -> list[Point]:
    return [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]


def check(scale: float = 1.0, dx: float = 0, dy: float = 0) -> list[Point]:
    shape = [(230, 370), (330, 470), (430, 370), (690, 630), (790, 530), (430, 170)]
    return [(x * scale + dx, y * scale + dy) for x, y in shape]


def mark_glyphs() -> dict[str, TTGlyphPen]:
    done = TTGlyphPen(None)
    contour(done, square(100, -40, 900, 760))
    contour(done, check(1.0, -10, 10), clockwise=False)

    todo = TTGlyphPen(None)
    contour(todo, square(100, -40, 900, 760))
    contour(todo, square(170, 30, 830, 690), clockwise=False)

    # A pencil at 45 degrees: body, then a tip whose point touches the lower left.
    draft = TTGlyphPen(None)
    s = 0.7071

    def along(u: float, v: float) -> Point:
        return (130 + (u - v) * s, -20 + (u + v) * s)

    contour(draft, [along(0, 0), along(170, -80), along(760, -80), along(760, 80), along(170, 80)])
    contour(draft, [along(800, -80), along(900, -80), along(900, 80), along(800, 80)])

    # A smiling face: a ring, two eyes, a smile (circles as 48-sided polygons).
    smile = TTGlyphPen(None)
    contour(smile, circle(500, 360, 420))
    contour(smile, circle(500, 360, 350), clockwise=False)
    contour(smile, circle(370, 470, 55))
    contour(smile, circle(630, 470, 55))
    outer = arc(500, 360, 250, 200, 340)
    inner = arc(500, 360, 190, 340, 200)
    contour(smile, outer + inner)

    empty = TTGlyphPen(None)
    return {
        ".notdef": empty,
        "space": empty,
        "done": done,
        "draft": draft,
        "todo": todo,
        "smile": smile,
        "vs": empty,
    }


def arc(cx: float, cy: float, r: float, start: float, end: float, steps: int = 24) -> list[Point]:
    """Points on a circle from one angle to another (degrees, counter-clockwise from east)."""
    return [
        (
            round(cx + r * math.cos(math.radians(start + (end - start) * i / steps))),
            round(cy + r * math.sin(math.radians(start + (end - start) * i / steps))),
        )
        for i in range(steps + 1)
    ]


def circle(cx: float, cy: float, r: float) -> list[Point]:
    return arc(cx, cy, r, 0, 360, 48)[:-1]


def build_marks() -> bytes:
    pens = mark_glyphs()
    order = list(pens)
    fb = FontBuilder(UPEM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(
        {0x20: "space", VARIATION_SELECTOR: "vs", **{c: n for n, c in MARK_CHARS.items()}}
    )
    fb.setupGlyf({name: pen.glyph() for name, pen in pens.items()})
    widths = {name: UPEM for name in order}
    widths["vs"] = 0
    widths["space"] = UPEM // 4
    fb.setupHorizontalMetrics({name: (widths[name], 0) for name in order})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "Jixiao Marks", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    # Same input, same bytes: a fixed date instead of "now" in the header.
    fb.font["head"].created = fb.font["head"].modified = MARKS_DATE
    fb.font.recalcTimestamp = False
    fb.font.flavor = "woff"
    out = io.BytesIO()
    fb.font.save(out)
    return out.getvalue()


# ---- the icon ---------------------------------------------------------------------------
BAR_GREEN = (0x1F, 0x6F, 0x5C)
# The three bars of favicon.svg on its 32-unit grid: (x0, x1, top); all stand on y=25.
BARS = [(7, 12, 17), (14, 19, 12), (21, 26, 7)]


def png(size: int, pixel: list[list[tuple[int, int, int, int]]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in pixel)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def build_favicon(size: int = 32) -> bytes:
    """An ICO holding one 32x32 PNG: a green rounded square with three white bars."""
    radius = 6
    pixels = []
    for y in range(size):
        row = []
        for x in range(size):
            cx = min(max(x + 0.5, radius), size - radius)
            cy = min(max(y + 0.5, radius), size - radius)
            inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= radius**2
            bar = any(x0 <= x < x1 and top <= y < 25 for x0, x1, top in BARS)
            if not inside:
                row.append((0, 0, 0, 0))
            elif bar:
                row.append((255, 255, 255, 255))
            else:
                row.append((*BAR_GREEN, 255))
        pixels.append(row)
    image = png(size, pixels)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 6 + 16)
    return header + entry + image


def main() -> None:
    SANS.parent.mkdir(parents=True, exist_ok=True)
    SANS.write_bytes(build_sans(noto_source(), wanted_characters()))
    MARKS.write_bytes(build_marks())
    FAVICON.write_bytes(build_favicon())
    for path in (SANS, MARKS, FAVICON):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
