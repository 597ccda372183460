"""Charts for the digests: PNG bytes, with Chinese labels drawn in a CJK font that the
project installs itself (a Noto Sans CJK wheel), never one the machine may lack."""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from importlib import resources

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
FONT_FILE = "NotoSansCJKtc-Regular.otf"


@cache
def cjk_font() -> str:
    """Register the bundled CJK font with matplotlib once; returns its family name.

    matplotlib is imported here and in `completion_bars`, not at the top: every chat
    process imports the digests (for the remind button) and never draws; the import
    costs half a second of start-up."""
    from matplotlib import font_manager

    path = resources.files(FONT_PACKAGE) / FONT_FILE
    with resources.as_file(path) as real:
        font_manager.fontManager.addfont(str(real))
        return font_manager.FontProperties(fname=str(real)).get_name()


def completion_bars(title: str, rows: list[tuple[str, Decimal]], axis_label: str) -> bytes:
    """A horizontal bar per row (label, completion 0..100), weakest at the top."""
    from matplotlib.figure import Figure  # pyplot's global state is not needed

    family = cjk_font()
    height = 1.2 + 0.38 * max(len(rows), 1)
    fig = Figure(figsize=(6.4, height), dpi=110)
    ax = fig.subplots()
    labels = [label for label, _ in rows]
    # matplotlib plots numbers as floats; these are only bar lengths on a picture, the
    # figures people read are in the message text.
    values = [float(rate) for _, rate in rows]
    bars = ax.barh(range(len(rows)), values, color="#2e7d32")
    ax.set_yticks(range(len(rows)), labels, fontfamily=family)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(axis_label, fontfamily=family)
    ax.set_title(title, fontfamily=family)
    for bar, (_, rate) in zip(bars, rows, strict=True):
        ax.text(
            min(bar.get_width() + 1, 92),
            bar.get_y() + bar.get_height() / 2,
            f"{rate}%",
            va="center",
            fontfamily=family,
            fontsize=9,
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
