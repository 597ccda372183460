"""`jixiao import metrics PERIOD FILE`: targets and actuals of metric indicators."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.common import GROUP, PERIOD, now, transaction
from bot.cli.imports import import_app
from bot.cli.meter import meter
from bot.cli.scores import INSTITUTION, _period
from bot.importing.metrics import import_metrics
from bot.importing.table import row_count
from bot.infra.i18n import _


def import_metrics_command(
    label: str = PERIOD,
    file: str = typer.Argument(
        ..., help=_("The values (.xlsx or .csv): number, indicator, target, actual.")
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    path = Path(file)
    with meter(_("Reading rows"), row_count(path)) as advance, transaction() as s:
        period = _period(s, label, group, institution)
        report = import_metrics(s, now(), path, period, progress=advance)
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    import_app.command(
        "metrics",
        help=_(
            "Import targets and actuals of the period's metric indicators from an .xlsx or "
            ".csv file (number, indicator, target, actual; a row with a position and no "
            "number gives that position's target). "
            "All or nothing; replaces the period's values; audited."
        ),
    )(import_metrics_command)
