"""Long commands report progress off a terminal as plain lines, and stay quiet when quick."""

import io

from bot.cli.meter import meter


def test_plain_lines_every_few_seconds_and_a_last_line():
    out = io.StringIO()
    now = [0.0]
    with meter("Rows read", 30, stream=out, every=5, clock=lambda: now[0]) as advance:
        advance(10)
        now[0] = 6.0
        advance(10)
        now[0] = 7.0
        advance(10)
    assert out.getvalue().splitlines() == ["Rows read：20 / 30", "Rows read：30 / 30"]


def test_quick_work_prints_nothing():
    out = io.StringIO()
    with meter("Rows read", None, stream=out, every=5) as advance:
        advance(3)
    assert out.getvalue() == ""
