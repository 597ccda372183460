"""`jixiao bench compute`: time result computation at group scale against its floor."""

from __future__ import annotations

import typer

from bot import bench, bench_audit
from bot.cli.common import refusals
from bot.i18n import _

bench_app = typer.Typer(help=_("Measure performance on generated data."))


@bench_app.command(
    "compute",
    help=_(
        "Build a scored period of N employees in a fresh database and time computing its "
        "results against one SQL aggregate of the same sums."
    ),
)
def compute(
    employees: int = typer.Option(100_000, "--employees", min=1, help=_("How many employees.")),
    indicators: int = typer.Option(
        10, "--indicators", min=1, max=50, help=_("Weighted indicators in the scheme.")
    ),
    roles: int = typer.Option(2, "--roles", min=1, max=3, help=_("Scorer roles (1 to 3).")),
    database_url: str = typer.Option(
        None,
        "--database-url",
        help=_("Scratch database to build in; default: a temporary SQLite file."),
    ),
    in_process: bool = typer.Option(
        False, "--in-process", help=_("Measure in this process instead of a fresh one.")
    ),
) -> None:
    typer.echo(
        _("Building {employees} employees × {indicators} indicators × {roles} roles…").format(
            employees=employees, indicators=indicators, roles=roles
        )
    )
    report = bench.run(employees, indicators, roles, database_url, in_process=in_process)
    typer.echo(
        _("Set-up: {entries} score entries on {database} in {seconds:.1f} s.").format(
            entries=report.entries, database=report.database, seconds=report.setup_seconds
        )
    )
    typer.echo(
        _(
            "Compute: {seconds:.2f} s ({cpu:.2f} s CPU) for {results} results "
            "(written with traces, committed)."
        ).format(
            seconds=report.compute_seconds, cpu=report.compute_cpu_seconds, results=report.results
        )
    )
    typer.echo(
        _("Floor (one SQL aggregate): {seconds:.2f} s.").format(seconds=report.floor_seconds)
    )
    typer.echo(_("Ratio compute / floor: {ratio:.2f}.").format(ratio=report.ratio))
    typer.echo(
        _(
            "Reading the marks and writing the same results alone, nothing computed: "
            "{seconds:.2f} s ({ratio:.2f} × the floor)."
        ).format(seconds=report.read_write_seconds, ratio=report.read_write_ratio)
    )
    typer.echo(_("Peak memory: {mb:.0f} MB.").format(mb=report.peak_mb))


@bench_app.command(
    "audit",
    help=_(
        "Build a chain of N audit events in a fresh database and time `audit verify` over "
        "it against reading the same rows with nothing computed."
    ),
)
def audit(
    events: int = typer.Option(1_000_000, "--events", min=1, help=_("How many events.")),
    database_url: str = typer.Option(
        None,
        "--database-url",
        help=_("Empty scratch database to build in; default: a temporary SQLite file."),
    ),
) -> None:
    typer.echo(_("Building a chain of {events} events…").format(events=events))
    with refusals():
        report = bench_audit.run(events, database_url)
    typer.echo(
        _("Set-up: {events} events on {database} in {seconds:.1f} s.").format(
            events=report.events, database=report.database, seconds=report.setup_seconds
        )
    )
    typer.echo(
        _("Verify: {seconds:.2f} s ({result}).").format(
            seconds=report.verify_seconds,
            result=_("chain intact") if report.intact else _("chain broken"),
        )
    )
    typer.echo(
        _("Reading the same rows alone, nothing computed: {seconds:.2f} s.").format(
            seconds=report.read_seconds
        )
    )
    typer.echo(_("Ratio verify / read: {ratio:.2f}.").format(ratio=report.ratio))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
