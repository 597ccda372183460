"""`jixiao import scores PERIOD FILE` and `jixiao template scores PERIOD`: HR enters
scores on scorers' behalf from a spreadsheet, starting from a template of the tasks
still open."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.orm import Session

from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, Failure, now, transaction
from bot.cli.imports import import_app
from bot.cli.meter import meter
from bot.importing.scores import check_scores, read_sheet, store_scores, write_template
from bot.infra.i18n import _
from bot.infra.settings import get_settings
from models import Period

template_app = typer.Typer(help=_("Write spreadsheet templates to fill in and import."))

INSTITUTION = typer.Option(
    None, "--institution", help=_("Institution name; omit for a group-wide period.")
)


def _period(session: Session, label: str, group: str | None, institution: str | None) -> Period:
    grp = lifecycle.find_group(session, group)
    inst = lifecycle.find_institution(session, grp, institution) if institution else None
    return lifecycle.find_period(session, grp, label, inst)


def import_scores(
    label: str = PERIOD,
    file: str = typer.Argument(..., help=_("The filled-in scores sheet (.xlsx or .csv).")),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help=_("Replace scores a scorer already submitted themself (audited)."),
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    with transaction() as s:
        period = _period(s, label, group, institution)
        sheet = read_sheet(s, Path(file), period)
        with meter(_("Rows checked"), len(sheet.table.rows)) as advance:
            plan = check_scores(s, sheet, overwrite=overwrite, advance=advance)
        with meter(_("Tasks stored"), len(plan.writes)) as advance:
            report = store_scores(s, now(), plan, advance=advance)
    # Printed once committed: a closed pipe cannot leave a report of unstored scores.
    for line in report.lines():
        typer.echo(line)


def template_scores(
    label: str = PERIOD,
    output: str = typer.Option(
        None,
        "--output",
        help=_("File to write (.xlsx). Default: scores_PERIOD.xlsx in the export folder."),
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    # Beside the pay sheets and bind-code sheets, not wherever the command was typed.
    path = Path(output) if output else Path(get_settings().export_dir) / f"scores_{label}.xlsx"
    if path.suffix.casefold() != ".xlsx":
        raise Failure(_("{path}: the template is an .xlsx workbook.").format(path=path.name))
    if path.exists():
        # It may be last round's sheet, already half filled in.
        raise Failure(
            _("{path} already exists: choose another name with --output, or move it.").format(
                path=path
            )
        )
    with transaction() as s:
        period = _period(s, label, group, institution)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = write_template(s, period, path)
        except OSError as exc:
            raise Failure(
                _("{path} cannot be written: {error}").format(path=path, error=exc.strerror)
            ) from exc
        target = period.label + (f" --institution {institution}" if institution else "")
    typer.echo(
        _(
            "Wrote {path}: {rows} scoring tasks of {period} still to score. Fill in the "
            "scores, then run `jixiao import scores {target} {path}`."
        ).format(path=path, rows=rows, period=period.label, target=target)
    )


def register(app: typer.Typer) -> None:
    import_app.command(
        "scores",
        help=_(
            "Enter scores on scorers' behalf from an .xlsx or .csv sheet, one row per scoring "
            "task (start from `jixiao template scores`). All or nothing; audited."
        ),
    )(import_scores)
    template_app.command(
        "scores",
        help=_("Write an .xlsx of the period's scoring tasks still open, to fill in and import."),
    )(template_scores)
    app.add_typer(template_app, name="template")
