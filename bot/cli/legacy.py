"""`jixiao legacy`: the parallel run with the old system: import, compare, explain."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.appraisal import legacy
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, now, transaction
from bot.cli.meter import meter
from bot.cli.output import emit
from bot.importing.table import row_count
from bot.infra.i18n import _

legacy_app = typer.Typer(help=_("Parallel run: compare the old system's results with ours."))


@legacy_app.command(
    "import",
    help=_(
        "Import the old system's results for a period (employee number, total score "
        "and/or grade, performance pay) from an .xlsx or .csv file. All or nothing; a new "
        "file replaces the previous one."
    ),
)
def import_(
    label: str = PERIOD,
    file: str = typer.Argument(..., help=_("The old system's results (.xlsx or .csv).")),
    group: str = GROUP,
) -> None:
    path = Path(file)
    with meter(_("Reading rows"), row_count(path)) as advance, transaction() as s:
        grp = lifecycle.find_group(s, group)
        period = lifecycle.find_period(s, grp, label)
        done = legacy.import_file(s, now(), period, path, advance)
    emit(done.lines())


@legacy_app.command(
    "compare",
    help=_(
        "Compare old and new per employee and per institution: pay and grade differences, "
        "largest first, with totals per institution and how many remain unexplained."
    ),
)
def compare(
    label: str = PERIOD,
    xlsx: str = typer.Option(
        None, "--xlsx", help=_("Also write the comparison to this .xlsx file.")
    ),
    group: str = GROUP,
) -> None:
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        period = lifecycle.find_period(s, grp, label)
        result = legacy.compare(s, period)
    if xlsx:
        legacy.write_xlsx(result, Path(xlsx))
    lines = legacy.lines(result)
    if xlsx:
        lines.append(_("Report written to {path}.").format(path=xlsx))
    emit(lines)


@legacy_app.command("explain", help=_("Mark one employee's difference as explained, with a note."))
def explain(
    label: str = PERIOD,
    number: str = typer.Argument(..., help=_("The employee number.")),
    note: str = typer.Argument(..., help=_("Why the old and new figures differ.")),
    group: str = GROUP,
) -> None:
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        period = lifecycle.find_period(s, grp, label)
        legacy.explain(s, now(), period, number, note)
        left = legacy.compare(s, period).unexplained
    emit(
        [
            _("Noted for {number}. {left} differences of {label} remain unexplained.").format(
                number=number, left=left, label=label
            )
        ]
    )


def register(app: typer.Typer) -> None:
    app.add_typer(legacy_app, name="legacy")
