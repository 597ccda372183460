"""The HR command line: `jixiao --help` lists everything.

Every refusal is one clear line on stderr and exit status 2.
"""

from __future__ import annotations

import typer

from bot import i18n
from bot.settings import get_settings

# Help texts are translated when the commands are built, so pick the language first.
i18n.set_language(get_settings().default_language)

from bot.cli import (  # noqa: E402
    bench,
    codes,
    common,
    deliveries,
    demo,
    export,
    imports,
    periods,
    serve,
    worker,
)
from bot.i18n import _  # noqa: E402

app = typer.Typer(
    name="jixiao",
    help=_("Jixiao: performance appraisal that drives monthly pay."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.callback()(common.global_options)
for module in (imports, periods, export, codes, demo, bench, serve, worker, deliveries):
    module.register(app)
__import__("bot.cli.scores", fromlist=["register"]).register(app)  # import / template scores


def main() -> None:
    app()
