"""`jixiao codes issue`: one-time bind codes for an institution's staff, as a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import typer

from bot import codes, export
from bot import periods as lifecycle
from bot.cli.common import GROUP, now, transaction
from bot.i18n import _
from bot.settings import get_settings

codes_app = typer.Typer(help=_("Bind codes that connect a chat account to an employee."))


@codes_app.command(
    "issue",
    help=_(
        "Issue a one-time bind code to every active employee of an institution; earlier "
        "unused codes stop working."
    ),
)
def issue(
    institution: str = typer.Option(..., "--institution", help=_("Institution name.")),
    output: str = typer.Option(
        None, "--output", help=_("File to write; default: a file in the export folder.")
    ),
    group: str = GROUP,
) -> None:
    settings = get_settings()
    at = now()
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution)
        issued = codes.issue_for_institution(s, at, inst)
        name = export.file_safe(institution)
        path = (
            Path(output)
            if output
            else Path(settings.export_dir) / f"bind_codes_{name}_{at:%Y%m%d%H%M}.xlsx"
        )
        links = codes.platforms(settings)
        # Written before the commit: if the file cannot be saved, no code is stored either.
        codes.write_xlsx(path, institution, issued, links, inst.timezone)
    typer.echo(
        _("Issued {count} bind codes for {institution}, valid for {hours} hours: {path}").format(
            count=len(issued),
            institution=institution,
            hours=settings.bind_code_ttl_hours,
            path=path,
        )
    )
    typer.echo(
        _(
            "The file holds the only copy of the codes and only you can read it: "
            "hand it over securely."
        )
    )
    if settings.slack_bot_token and not settings.slack_app_id:
        typer.echo(
            _("Slack is configured but SLACK_APP_ID is not, so the sheet has no Slack link.")
        )
    elif not links:
        typer.echo(
            _(
                "No chat platform is configured (TELEGRAM_BOT_TOKEN, SLACK_APP_ID), so the sheet "
                "has codes but no links."
            )
        )


def register(app: typer.Typer) -> None:
    app.add_typer(codes_app, name="codes")
