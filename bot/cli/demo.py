"""`jixiao demo-data`: a fictional group to try Jixiao on (or to benchmark with)."""

from __future__ import annotations

import typer

from bot.cli import common
from bot.cli import demo_data as demo
from bot.infra.i18n import N_, _

ROLE_NAMES = {
    "employee": N_("Employee"),
    "scorer": N_("Scorer"),
    "head": N_("Head of institution"),
    "hr": N_("HR administrator"),
    "leadership": N_("Group leadership"),
}


def demo_data(
    employees: int = typer.Option(60, "--employees", min=4, help=_("How many employees.")),
    institutions: int = typer.Option(
        3, "--institutions", min=1, help=_("How many institutions, the group office included.")
    ),
    seed: int = typer.Option(2026, "--seed", help=_("Random seed: the same seed, the same group.")),
    reset: bool = typer.Option(
        False, "--reset", help=_("Delete the demo group and build it again.")
    ),
) -> None:
    with common.refusals():
        summary = demo.prepare(
            common.engine(),
            common.now(),
            reset=reset,
            employees=employees,
            institutions=institutions,
            seed=seed,
        )
    if not summary.created:
        typer.echo(_("Demo data is already here and was kept as it is (--reset builds it again)."))
    typer.echo(
        _(
            "{group}: {institutions} institutions, {departments} departments, "
            "{employees} employees."
        ).format(
            group=summary.group,
            institutions=summary.institutions,
            departments=summary.departments,
            employees=summary.employees,
        )
    )
    typer.echo(
        _("Period {label} is final with {results} results.").format(
            label=summary.previous, results=summary.results
        )
    )
    typer.echo(
        _(
            "Period {label} is open for scoring: {submitted} tasks submitted, {draft} drafts, "
            "{pending} not started."
        ).format(
            label=summary.current,
            submitted=summary.tasks["submitted"],
            draft=summary.tasks["draft"],
            pending=summary.tasks["pending"],
        )
    )
    typer.echo(_("People to play in the chat demo:"))
    for p in summary.personas:
        typer.echo(
            "  "
            + _("{role}: {name} ({number}), {position}, {institution}").format(
                role=_(ROLE_NAMES[p.role]),
                name=p.name,
                number=p.number,
                position=p.position,
                institution=p.institution,
            )
        )


def register(app: typer.Typer) -> None:
    app.command(
        "demo-data",
        help=_(
            "Build a fictional group: last month final, this month open for scoring. "
            "Running it again keeps the data unless --reset."
        ),
    )(demo_data)
