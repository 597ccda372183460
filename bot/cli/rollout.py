"""`jixiao rollout`: each institution's stage, its targets (目标责任书), and the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from bot.appraisal import acceptance, rollout
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, Failure, now, refusals, transaction
from bot.cli.meter import meter
from bot.cli.output import emit
from bot.importing.cells import BadCell
from bot.importing.table import row_count
from bot.infra.i18n import _

rollout_app = typer.Typer(help=_("Rollout: institutions' stages against their target dates."))

STAGE = typer.Argument(
    ...,
    help=_(
        "Stage: environment, data, trained, trial, accepted or live; its Chinese name works too."
    ),
)


def _day(value: str | None) -> dt.date:
    if value is None:
        return now().astimezone(rollout.zone()).date()
    try:
        return rollout.parse_date(value)
    except BadCell as exc:
        raise Failure(f"{value}: {exc}") from exc


@rollout_app.command("set", help=_("Record the day an institution reached a stage."))
def set_stage(
    institution: str = typer.Argument(..., help=_("The institution's name.")),
    stage: str = STAGE,
    on: str = typer.Option(None, "--on", help=_("The day it was reached; default: today.")),
    group: str = GROUP,
) -> None:
    day = _day(on)
    with refusals():
        which = rollout.parse_stage(stage)
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution)
        rollout.set_stage(s, now(), inst, which, day, acceptance.actor())
    emit(
        [
            _("{institution} reached “{stage}” on {date}.").format(
                institution=institution, stage=rollout.stage_name(which), date=day.isoformat()
            )
        ]
    )


@rollout_app.command(
    "target", help=_("Record the target date of a stage in an institution's target letter.")
)
def target(
    institution: str = typer.Argument(..., help=_("The institution's name.")),
    stage: str = STAGE,
    due: str = typer.Argument(..., help=_("The target date, such as 2026-12-31.")),
    group: str = GROUP,
) -> None:
    day = _day(due)
    with refusals():
        which = rollout.parse_stage(stage)
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution)
        rollout.set_target(s, now(), inst, which, day, acceptance.actor())
    emit(
        [
            _("{institution}: target for “{stage}” is {date}.").format(
                institution=institution, stage=rollout.stage_name(which), date=day.isoformat()
            )
        ]
    )


@rollout_app.command(
    "targets",
    help=_(
        "Import target dates from a sheet: an institution column, then one column per "
        "stage holding its target date. All or nothing."
    ),
)
def targets(
    file: str = typer.Argument(..., help=_("The targets sheet (.xlsx or .csv).")),
    group: str = GROUP,
) -> None:
    path = Path(file)
    with meter(_("Reading rows"), row_count(path)) as advance, transaction() as s:
        grp = lifecycle.find_group(s, group)
        count, changed = rollout.import_targets(s, now(), path, grp.id, acceptance.actor(), advance)
    emit(
        [
            _("Read targets of {count} institutions from {file}: {changed} dates changed.").format(
                count=count, file=path.name, changed=changed
            )
        ]
    )


@rollout_app.command(
    "report",
    help=_(
        "Each institution's stage, days ahead or behind target, last acceptance result and "
        "rank; laggards called out."
    ),
)
def report(
    xlsx: str = typer.Option(None, "--xlsx", help=_("Also write the report to this .xlsx file.")),
    group: str = GROUP,
) -> None:
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        table = rollout.lines(s, grp.id, now())
    if xlsx:
        rollout.write_xlsx(table, Path(xlsx))
    lines = rollout.table_lines(table) or [_("No institution is in the rollout yet.")]
    if xlsx:
        lines.append(_("Report written to {path}.").format(path=xlsx))
    emit(lines)


def register(app: typer.Typer) -> None:
    app.add_typer(rollout_app, name="rollout")
