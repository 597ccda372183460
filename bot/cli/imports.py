"""`jixiao import org FILE` and `jixiao import scheme FILE`."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, now, transaction
from bot.cli.meter import meter
from bot.importing import import_org, import_scheme
from bot.importing.table import row_count
from bot.infra.i18n import _

import_app = typer.Typer(help=_("Import the organisation and appraisal schemes from spreadsheets."))


@import_app.command(
    "org",
    help=_(
        "Import institutions, departments and employees from an .xlsx or .csv file "
        "(UTF-8 or GB18030). All or nothing: any bad row and nothing is written."
    ),
)
def org(
    file: str = typer.Argument(..., help=_("The org spreadsheet (.xlsx or .csv).")),
    group: str = typer.Option(
        None, "--group", help=_("Group to import into; created if new. Default: the only one.")
    ),
    deactivate_missing: bool = typer.Option(
        False,
        "--deactivate-missing",
        help=_("Deactivate stored employees who are not in the file."),
    ),
    sheet: str = typer.Option(
        None,
        "--sheet",
        help=_("The sheet to read, when the workbook has several holding data."),
    ),
) -> None:
    path = Path(file)
    with (
        meter(_("Reading rows"), row_count(path, sheet)) as advance,
        transaction() as s,
    ):
        report = import_org(
            s,
            now(),
            path,
            group=group,
            deactivate_missing=deactivate_missing,
            sheet=sheet,
            progress=advance,
        )
    for line in report.lines():
        typer.echo(line)


@import_app.command(
    "scheme",
    help=_(
        "Import an appraisal scheme from an .xlsx workbook (sheets 方案, 指标, 考核人, 等级). "
        "An existing code gets a new version unless nothing changed."
    ),
)
def scheme(
    file: str = typer.Argument(..., help=_("The scheme workbook (.xlsx).")),
    group: str = GROUP,
) -> None:
    path = Path(file)
    with meter(_("Reading rows"), None) as advance, transaction() as s:
        report = import_scheme(s, now(), path, lifecycle.find_group(s, group), progress=advance)
    for line in report.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
