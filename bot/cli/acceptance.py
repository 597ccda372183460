"""`jixiao acceptance check PERIOD --payroll FILE`: did payroll pay what the system says?"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from bot.appraisal import acceptance
from bot.appraisal import periods as lifecycle
from bot.cli.common import GROUP, PERIOD, now, transaction
from bot.cli.export import find
from bot.cli.meter import meter
from bot.cli.output import emit
from bot.importing.table import row_count
from bot.infra.i18n import _
from bot.infra.settings import get_settings
from bot.infra.workdays import default_tz

# Checks are listed in the group's time (China Standard Time), as HR reads a calendar.
acceptance_app = typer.Typer(help=_("Acceptance: check what payroll paid against the results."))

# The exit status when some institution fails the check.
FAILED = 1


@acceptance_app.command(
    "check",
    help=_(
        "Compare what payroll paid (an .xlsx or .csv file with employee numbers and "
        "performance pay) with the "
        "results of a final period, institution by institution, to the fen. The check is "
        "recorded. Exit status: 0 when every institution passes, 1 when one fails, 2 when "
        "refused (the file has a bad row, or the period is not final)."
    ),
)
def check(
    label: str = PERIOD,
    payroll: str = typer.Option(..., "--payroll", help=_("What payroll paid (.xlsx or .csv).")),
    xlsx: str = typer.Option(
        None, "--xlsx", help=_("Report file to write; default: a file in the export folder.")
    ),
    institution: str = typer.Option(
        None, "--institution", help=_("The institution whose own period this is.")
    ),
    group: str = GROUP,
) -> None:
    path = Path(payroll)
    with meter(_("Reading rows"), row_count(path)) as advance, transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution) if institution else None
        period = find(s, grp, label, inst)
        result = acceptance.run(s, now(), period, path, advance)
        assert result.stored is not None
        check_id = result.stored.id
    out = (
        Path(xlsx)
        if xlsx
        else Path(get_settings().export_dir) / (f"acceptance_{label}_{check_id}.xlsx")
    )
    acceptance.write_xlsx(result, out)
    emit([*acceptance.lines(result), _("Report written to {path}.").format(path=out)])
    if not result.passed:
        raise typer.Exit(code=FAILED)


@acceptance_app.command(
    "history", help=_("Every acceptance check of a period: when, who, file, result.")
)
def history(label: str = PERIOD, group: str = GROUP) -> None:
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        period = lifecycle.find_period(s, grp, label)
        checks = acceptance.history(s, period)
    lines = []
    for c in checks:
        per = _(", ").join(
            f"{name} {acceptance.verdict_word(ok)}" for name, ok in c["institutions"].items()
        )
        lines.append(
            _("{at} · {who} · {file} · {verdict} · {institutions}").format(
                at=c["at"].astimezone(ZoneInfo(default_tz())).strftime("%Y-%m-%d %H:%M"),
                who=c["who"],
                file=c["file"],
                verdict=acceptance.verdict_word(c["passed"]),
                institutions=per,
            )
        )
    emit(lines or [_("No acceptance check of {label} yet.").format(label=label)])


def register(app: typer.Typer) -> None:
    app.add_typer(acceptance_app, name="acceptance")
