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


def _png(fig: object) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")  # type: ignore[attr-defined]
    return out.getvalue()


def spread_boxes(title: str, rows: list[tuple[str, list[Decimal]]], axis_label: str) -> bytes:
    """Each scorer's totals as a horizontal box with every total as a dot: a narrow box
    at the top of the scale is the 大锅饭 the eye catches at once."""
    from matplotlib.figure import Figure

    family = cjk_font()
    height = 1.4 + 0.42 * max(len(rows), 1)
    fig = Figure(figsize=(7.2, height), dpi=110)
    ax = fig.subplots()
    # Floats only for positions on a picture; the figures people read are in the text.
    data = [[float(v) for v in totals] for _, totals in rows]
    if data:
        ax.boxplot(data, orientation="horizontal", widths=0.5, showfliers=False)
        for y, values in enumerate(data, start=1):
            ax.plot(values, [y] * len(values), "o", color="#1565c0", alpha=0.5, markersize=3)
        ax.set_yticks(range(1, len(rows) + 1), [label for label, _ in rows], fontfamily=family)
    ax.invert_yaxis()
    ax.set_xlabel(axis_label, fontfamily=family)
    ax.set_title(title, fontfamily=family)
    fig.tight_layout()
    return _png(fig)


def history_lines(
    title: str,
    periods: list[str],
    totals: list[Decimal],
    pays: list[Decimal],
    total_label: str,
    pay_label: str,
) -> bytes:
    """Total (left axis) and pay (right axis) over the periods, oldest first."""
    from matplotlib.figure import Figure

    family = cjk_font()
    fig = Figure(figsize=(6.4, 3.4), dpi=110)
    ax = fig.subplots()
    xs = list(range(len(periods)))
    ax.plot(xs, [float(t) for t in totals], "o-", color="#2e7d32", label=total_label)
    ax.set_ylabel(total_label, fontfamily=family, color="#2e7d32")
    right = ax.twinx()
    right.plot(xs, [float(p) for p in pays], "s--", color="#c62828", label=pay_label)
    right.set_ylabel(pay_label, fontfamily=family, color="#c62828")
    ax.set_xticks(xs, periods, fontfamily=family, rotation=30 if len(periods) > 6 else 0)
    ax.set_title(title, fontfamily=family)
    fig.tight_layout()
    return _png(fig)
