"""The pictures of this work, checked as images: the history chart in chat and the
scorers' chart draw Chinese with real glyphs (a missing glyph warns, and fails here), and
a chart whose only difference is one Chinese character is a different picture."""

from __future__ import annotations

import io
import warnings
from decimal import Decimal as D

import pytest
from PIL import Image, ImageChops

from bot.notify.chart import history_lines, spread_boxes
from models import PeriodState
from tests.chat_helpers import Chat, bind, build_world


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("L")


def _history(title: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return history_lines(
            title,
            ["2026-09", "2026-10"],
            [D("80.00"), D("93.90")],
            [D("4000.00"), D("4800.00")],
            "总分",
            "绩效工资（元）",
        )


def test_the_history_chart_draws_chinese_glyphs():
    a, b = (
        _image(_history("张三：近 2 期总分与绩效工资")),
        _image(_history("李四：近 2 期总分与绩效工资")),
    )
    assert ImageChops.difference(a, b).getbbox() is not None, "张 and 李 drew alike"
    assert a.size[0] > 500


def test_the_scorers_chart_draws_chinese_glyphs():
    def draw(name: str) -> Image.Image:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return _image(
                spread_boxes(
                    "2026-11：各考核人给出的总分",
                    [
                        (f"一分公司 {name}", [D(80), D(81), D(82)]),
                        ("一分公司 正常", [D(65), D(90)]),
                    ],
                    "给出的总分（0–100）",
                )
            )

    assert ImageChops.difference(draw("均匀"), draw("宽松")).getbbox() is not None


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_history_in_chat_comes_with_the_chart(session, lang):
    w = build_world(session)
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zhang.say("历史" if lang == "zh_CN" else "history")
    (reply,) = zhang.last
    assert "2026-10" in reply.text
    assert reply.image is not None
    assert reply.image_name == "history.png"
    assert _image(reply.image).size[0] > 500


def test_one_result_is_no_picture(session):
    w = build_world(session)
    w.september.state = PeriodState.SCORING  # only 2026-10 is published now
    session.flush()
    zhang = Chat(session, bind(session, w.zhang, language="zh_CN"))
    zhang.say("历史")
    assert "2026-10" in zhang.last[0].text
    assert "2026-09" not in zhang.last[0].text
    assert zhang.last[0].image is None
