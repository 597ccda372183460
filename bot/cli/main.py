"""The HR command line: `jixiao --help` lists everything.

Every refusal is one clear line on stderr and exit status 2. Help pages and usage errors
are written by bot.cli.help, in the language of `--lang` wherever it stands on the
command line, else DEFAULT_LANGUAGE.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

import typer

from bot.infra import i18n
from bot.infra.i18n import N_
from bot.infra.settings import get_settings

# Help texts are kept as built and translated when shown (bot.cli.help); building them in
# English keeps them equal to their msgids.
with i18n.using("en"):
    from bot.cli import (
        acceptance,
        appeals,
        audit,
        codes,
        common,
        database,
        deliveries,
        demo,
        export,
        imports,
        legacy,
        metrics,
        periods,
        quotas,
        rollout,
        scorers,
        scores,
        serve,
        worker,
    )
    from bot.cli.help import LocalisedGroup, localise_app

# Each module adds its commands with register(app); a new module is one more line here.
MODULES = (
    imports,
    scores,  # import scores, template scores
    metrics,  # import metrics
    periods,
    appeals,  # appeals list / decide, adjust
    quotas,  # quotas, calibrate
    scorers,  # scorers report
    export,
    acceptance,
    rollout,
    legacy,
    codes,
    demo,
    serve,
    worker,
    deliveries,
    database,  # db upgrade, db check, backup, restore
    audit,  # audit verify, audit show
)


CHECKOUT = Path(__file__).resolve().parents[2]


def register_benchmarks(app: typer.Typer) -> None:
    """`jixiao bench ...` where the benchmarks are at hand: a checkout keeps them beside
    the application (benchmarks/); a wheel ships without them, and without this group."""
    if not (CHECKOUT / "benchmarks" / "cli.py").is_file():
        return
    if str(CHECKOUT) not in sys.path:
        sys.path.append(str(CHECKOUT))
    with i18n.using("en"):
        bench = importlib.import_module("benchmarks.cli")
    bench.register(app)


def build() -> typer.Typer:
    app = typer.Typer(
        name="jixiao",
        cls=LocalisedGroup,
        # Translated when shown (bot.cli.help), so marked here rather than translated.
        help=N_("Jixiao: performance appraisal that drives monthly pay."),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(common.global_options)
    for module in MODULES:
        module.register(app)
    register_benchmarks(app)
    localise_app(app)
    return app


def language_in(argv: Sequence[str]) -> str | None:
    """`--lang X` or `--lang=X` before any `--`: read ahead of parsing, so even a help page
    or usage error printed before the option is reached is in that language."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return None
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


app = build()


def main() -> None:
    i18n.set_language(language_in(sys.argv[1:]) or get_settings().default_language)
    app()
