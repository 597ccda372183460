"""`jixiao audit verify` and `jixiao audit show`: is the audit log intact, and what it says
about one person."""

from __future__ import annotations

import typer

from bot.appraisal import periods as lifecycle
from bot.appraisal.audit_history import show as history
from bot.appraisal.audit_verify import verify as check_chain
from bot.cli.common import GROUP, transaction
from bot.cli.output import emit
from bot.infra.i18n import _, ngettext

audit_app = typer.Typer(help=_("Check the audit log and read a person's history from it."))

# Some event or row does not match the chain.
BROKEN = 1


@audit_app.command(
    "verify",
    help=_(
        "Walk the audit chain and re-check every period, result and score entry against it; "
        "exit status 1 naming the first broken event and every altered row."
    ),
)
def verify() -> None:
    with transaction() as session:
        verdict = check_chain(session)
    if verdict.intact:
        emit(
            [
                ngettext(
                    "Chain intact, {n} event.", "Chain intact, {n} events.", verdict.events
                ).format(n=verdict.events),
                _("Last hash: {hash} (keep it elsewhere: a later verify must reach it).").format(
                    hash=verdict.head
                ),
            ]
        )
        return
    emit(
        [
            *verdict.chain,
            *verdict.rows,
            ngettext(
                "The audit chain is broken: {n} problem in {events} events.",
                "The audit chain is broken: {n} problems in {events} events.",
                len(verdict.chain) + len(verdict.rows),
            ).format(n=len(verdict.chain) + len(verdict.rows), events=verdict.events),
        ]
    )
    raise typer.Exit(BROKEN)


@audit_app.command("show", help=_("One person's appraisal history, in plain language."))
def show(
    employee: str = typer.Option(..., "--employee", help=_("The person's employee number.")),
    period: str = typer.Option(None, "--period", help=_("Only this period: 2026-11, 2026-Q4.")),
    group: str = GROUP,
) -> None:
    with transaction() as session:
        lines = history(session, lifecycle.find_group(session, group), employee.strip(), period)
    emit(lines)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
