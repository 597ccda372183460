"""Progress for long commands: a bar on a terminal, plain lines in a log.

Domain functions (import, compute, export) take an optional `Advance` callback and call
it with how many more units (rows read, results computed, rows written) are done; they
know nothing of terminals. The command line turns that into a bar when stderr is a
terminal and into a line every few seconds otherwise, so a 100,000-person run never sits
silent and a script's log still reads cleanly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import typer

from bot.infra.i18n import _

# "n more units are done"
Advance = Callable[[int], None]

# A plain line at most this often (seconds) when output is not a terminal.
LINE_EVERY = 5.0


@contextmanager
def meter(
    label: str,
    total: int | None = None,
    *,
    stream: TextIO | None = None,
    every: float = LINE_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Advance]:
    """Yield an `Advance`; report progress on `stream` (stderr by default).

    Progress goes to stderr so that stdout stays the command's result (a script may pipe
    it); nothing at all is printed for work that finishes within `every` seconds off a
    terminal.
    """
    out = stream or sys.stderr
    if out.isatty() and total:
        with typer.progressbar(length=total, label=label, file=out) as bar:
            yield bar.update
        return
    done = 0
    started = last = clock()

    def advance(n: int) -> None:
        nonlocal done, last
        done += n
        moment = clock()
        if moment - last >= every:
            last = moment
            out.write(_line(label, done, total) + "\n")
            out.flush()

    yield advance
    if last != started:  # something was reported: say it finished
        out.write(_line(label, done, total) + "\n")
        out.flush()


def _line(label: str, done: int, total: int | None) -> str:
    if total:
        return _("{label}: {done} of {total}").format(label=label, done=done, total=total)
    return _("{label}: {done}").format(label=label, done=done)
