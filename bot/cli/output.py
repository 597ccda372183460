"""Printing a command's result after its work is committed.

Commands print only once their transaction is committed, so a reader that goes away
(`jixiao results compute 2026-11 | head -1`) can no longer undo the work. When it does go
away, the rest of the output is dropped quietly: no traceback, and the command still
exits with the status its work earned.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable

import typer


def emit(lines: Iterable[str], *, err: bool = False) -> None:
    """Print `lines` on stdout (stderr with `err`); a closed stdout ends it quietly."""
    try:
        for line in lines:
            typer.echo(line, err=err)
        (sys.stderr if err else sys.stdout).flush()
    except BrokenPipeError:
        _drop_stdout()


def _drop_stdout() -> None:
    """Send whatever is still buffered for stdout to /dev/null, so that Python's own
    flush at exit does not fail again and print "Exception ignored ... BrokenPipeError"."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
