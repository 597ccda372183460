"""`jixiao codes issue`: one-time bind codes for an institution's staff, as a spreadsheet."""

from __future__ import annotations

from pathlib import Path

import typer

from bot import platforms
from bot.appraisal import export
from bot.appraisal import periods as lifecycle
from bot.chat import codes
from bot.cli.common import GROUP, now, transaction
from bot.infra.i18n import _
from bot.infra.settings import get_settings

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
    unlinked = [p for p in platforms.enabled(settings) if p.bind_link(settings) is None]
    for p in unlinked:
        typer.echo(
            _(
                "{platform} is configured but {setting} is not, so the sheet has no "
                "{platform} link."
            ).format(platform=_(p.title), setting=p.link_setting)
        )
    if not links and not unlinked:
        typer.echo(
            _(
                "No chat platform is configured ({settings}), so the sheet has codes but no links."
            ).format(settings=", ".join(p.settings_keys[0] for p in platforms.registered()))
        )


def register(app: typer.Typer) -> None:
    app.add_typer(codes_app, name="codes")
