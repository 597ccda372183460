"""The digest chart draws Chinese as real glyphs, from the font the project installs."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal

import matplotlib
from matplotlib import font_manager
from matplotlib import pyplot as plt
from PIL import Image, ImageChops

from bot.notify.chart import cjk_font, completion_bars


def _draw(text: str, family: str) -> Image.Image:
    fig = plt.figure(figsize=(1.2, 1.2), dpi=80)
    fig.text(0.1, 0.3, text, fontfamily=family, fontsize=40)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def test_chinese_characters_render_as_distinct_glyphs_not_boxes():
    family = cjk_font()
    a, b = _draw("营", family), _draw("业", family)
    assert ImageChops.difference(a, b).getbbox() is not None, "two characters drew alike"
    assert a.getextrema()[0] < 128, "nothing was drawn"


def test_a_font_without_chinese_is_what_boxes_look_like():
    """The check above can fail: DejaVu Sans has no Chinese, and warns as it draws boxes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _draw("营", "DejaVu Sans")
    assert any("missing from font" in str(w.message) for w in caught)


def test_the_completion_chart_is_a_png_drawn_without_missing_glyphs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns; here it would fail
        png = completion_bars(
            "东城支行：各部门评分完成率",
            [("营业部", Decimal("33.3")), ("零售部/柜面组", Decimal("100"))],
            "已提交 (%)",
        )
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size[0] > 400
    assert matplotlib.get_backend().lower() == "agg"
    assert any(f.name == cjk_font() for f in font_manager.fontManager.ttflist)
