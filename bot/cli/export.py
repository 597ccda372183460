"""`jixiao export pay PERIOD`: the pay sheet for payroll, as xlsx or csv."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.orm import Session

from bot.appraisal import checksum, export, gaps
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, Failure, now, refusals, transaction
from bot.cli.meter import meter
from bot.cli.output import emit
from bot.infra.i18n import _, money
from bot.infra.settings import get_settings
from models import Group, Institution, Period

export_app = typer.Typer(help=_("Export results for payroll and reports."))


def find(session: Session, group: Group, label: str, institution: Institution | None) -> Period:
    """The institution's own period if it has one, else the group-wide one."""
    own = lifecycle.scoped_period(session, group, label, institution) if institution else None
    return own or lifecycle.find_period(session, group, label)


# The exit status when the sheet is written but some people in it have no amount.
INCOMPLETE = 3


@export_app.command(
    "pay",
    help=_(
        "Export the pay sheet of a period: one row per person, by employee number. People "
        "without a result are listed with the reason and no amount. A period that is not "
        "final is refused unless --draft. Exit status: 0 when "
        "everyone has an amount, 3 when the sheet is written but some have none, 2 when "
        "refused."
    ),
)
def pay(
    label: str = PERIOD,
    fmt: str = typer.Option("xlsx", "--format", help=_("xlsx or csv.")),
    output: str = typer.Option(
        None, "--output", help=_("File to write; default: a file in the export folder.")
    ),
    institution: str = typer.Option(
        None, "--institution", help=_("Only this institution's employees.")
    ),
    draft: bool = typer.Option(
        False,
        "--draft",
        help=_("Export a period that is not final yet, marked as a draft on every row."),
    ),
    group: str = GROUP,
) -> None:
    fmt = fmt.lower()
    if fmt not in export.FORMATS:
        raise Failure(_("Format {value!r} is not supported: use xlsx or csv.").format(value=fmt))
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution) if institution else None
        period = find(s, grp, label, inst)
        export.check_final(period, draft)
        sheet = export.pay_sheet(s, period, inst)
    path = Path(output) if output else Path(get_settings().export_dir) / sheet.default_name(fmt)
    with meter(_("Rows written"), len(sheet.rows)) as advance:
        export.write(sheet, path, fmt, now(), advance)
    lines = [
        _(
            "Wrote {path}: {count} employees with a result, pay base {base}, performance pay {pay}."
        ).format(
            path=path,
            count=len(sheet.computed),
            base=money(sheet.base_sum),
            pay=money(sheet.pay_sum),
        )
    ]
    missing = sheet.gaps
    if missing:
        lines.append(
            _("{count} more people are in the sheet without an amount: {names}").format(
                count=len(missing), names=gaps.named(missing, reasons=True)
            )
        )
    if sheet.preview:
        lines.append(
            _("This is a preview: period {label} is not published yet.").format(label=label)
        )
    if sheet.draft:
        lines.append(
            _("This is a draft: period {label} is not final, payroll must not pay from it.").format(
                label=label
            )
        )
    altered = sheet.numbers_excel_alters() if fmt == "csv" else []
    if altered:
        lines.append(
            _(
                "Note: Excel changes employee numbers such as {example} when it opens a CSV "
                "(leading zeros dropped, long numbers rounded); payroll imports read them as "
                "written. To look at the sheet in Excel, export with --format xlsx, which "
                "keeps them as text."
            ).format(example=altered[0])
        )
    emit(lines)
    if missing:
        raise typer.Exit(code=INCOMPLETE)


@export_app.command(
    "verify",
    help=_(
        "Check a pay sheet's checksum row against its rows: exit status 0 when the file "
        "is as exported, 1 when it was edited or has no checksum."
    ),
)
def verify(file: str = typer.Argument(..., help=_("The pay sheet (.xlsx or .csv)."))) -> None:
    path = Path(file)
    with refusals():
        verdict = checksum.verify(path)
    emit([verdict.line(path.name)])
    if not verdict.intact:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
