"""`jixiao bench compute`: time result computation at group scale against its floor."""

from __future__ import annotations

from typing import Any

import typer

from benchmarks import audit as bench_audit
from benchmarks import compute as bench
from benchmarks import recompute as bench_recompute
from benchmarks import scorers as bench_scorers
from benchmarks import whatif as bench_whatif
from benchmarks import why as bench_why
from benchmarks.published import percentile
from bot.cli.common import refusals
from bot.infra.i18n import _

bench_app = typer.Typer(help=_("Measure performance on generated data."))


def _employees() -> Any:
    """The --employees option most benches take."""
    return typer.Option(100_000, "--employees", min=1, help=_("How many employees."))


def _scratch() -> Any:
    """The --database-url option of the benches that build their data afresh."""
    return typer.Option(
        None,
        "--database-url",
        help=_("Scratch database to build in; default: a temporary SQLite file."),
    )


@bench_app.command(
    "compute",
    help=_(
        "Build a scored period of N employees in a fresh database and time computing its "
        "results against one SQL aggregate of the same sums."
    ),
)
def compute(
    employees: int = _employees(),
    indicators: int = typer.Option(
        10, "--indicators", min=1, max=50, help=_("Weighted indicators in the scheme.")
    ),
    roles: int = typer.Option(2, "--roles", min=1, max=3, help=_("Scorer roles (1 to 3).")),
    database_url: str = _scratch(),
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
    if report.database_cpu_seconds == report.database_cpu_seconds:  # not NaN
        typer.echo(
            _(
                "Of the compute, in its two processes: this client {client:.2f} s CPU, "
                "PostgreSQL's own process {server:.2f} s CPU ({total:.2f} s of CPU in "
                "{seconds:.2f} s: where they overlap, both worked at once)."
            ).format(
                client=report.compute_cpu_seconds,
                server=report.database_cpu_seconds,
                total=report.compute_cpu_seconds + report.database_cpu_seconds,
                seconds=report.compute_seconds,
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
    "recompute",
    help=_(
        "Build and compute a published period of N employees, then time recomputing one "
        "employee's result after a changed mark (as after an appeal's revision) beside "
        "reading that one result."
    ),
)
def recompute(
    employees: int = _employees(),
    samples: int = typer.Option(
        200, "--samples", min=1, max=10_000, help=_("How many employees to recompute.")
    ),
    database_url: str = _scratch(),
) -> None:
    report = bench_recompute.run(employees, samples, database_url)
    _latencies(
        report,
        (_("Recompute one result (committed)"), report.recompute_ms),
        (_("Read that one result with its trace"), report.read_ms),
    )


@bench_app.command(
    "why",
    help=_(
        "Build, compute and publish a period of N employees, then time their question "
        '"why is my pay this amount" through the conversation, beside reading that one '
        "result with its trace."
    ),
)
def why(
    employees: int = _employees(),
    samples: int = typer.Option(
        500, "--samples", min=1, max=10_000, help=_("How many employees ask.")
    ),
    database_url: str = _scratch(),
) -> None:
    report = bench_why.run(employees, samples, database_url)
    _latencies(
        report,
        (_('"Why is my pay this amount", through the conversation'), report.why_ms),
        (_("Read that one result with its trace"), report.read_ms),
    )


def _latencies(report: Any, *timed: tuple[str, list[float]]) -> None:
    """The set-up line, then p50 and p99 of each timed answer beside its floor."""
    typer.echo(
        _(
            "Set-up: {employees} employees built and computed on {database} in {seconds:.1f} s."
        ).format(employees=report.employees, database=report.database, seconds=report.setup_seconds)
    )
    for title, values in timed:
        typer.echo(
            _("{title}: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {n} employees.").format(
                title=title,
                p50=percentile(values, 0.5),
                p99=percentile(values, 0.99),
                n=report.samples,
            )
        )


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command(
    "quotas",
    help=_(
        "Build a period of N results in a fresh database and time checking its grade "
        "quotas against one SQL aggregate of the same counts."
    ),
)
def quotas(
    employees: int = _employees(),
    institutions: int = typer.Option(
        200, "--institutions", min=1, help=_("How many institutions.")
    ),
    database_url: str = _scratch(),
) -> None:
    from benchmarks import quotas as bench_quotas

    typer.echo(
        _("Building {employees} results in {institutions} institutions…").format(
            employees=employees, institutions=institutions
        )
    )
    report = bench_quotas.run(employees, institutions, database_url)
    typer.echo(
        _("Set-up on {database} in {seconds:.1f} s.").format(
            database=report.database, seconds=report.setup_seconds
        )
    )
    typer.echo(
        _(
            "Quota check (3 rules, with the boundary people named): {seconds:.3f} s "
            "(median of {runs}), {violations} violations."
        ).format(seconds=report.check, runs=len(report.check_seconds), violations=report.violations)
    )
    typer.echo(
        _("Floor (one SQL aggregate of the same counts): {seconds:.3f} s.").format(
            seconds=report.aggregate
        )
    )
    typer.echo(_("Ratio check / floor: {ratio:.2f}.").format(ratio=report.ratio))


@bench_app.command(
    "acceptance",
    help=_(
        "Build a final period of N results and a payroll file of N rows in a scratch "
        "database, and time the acceptance check beside reading the file alone."
    ),
)
def acceptance(
    rows: int = typer.Option(100_000, "--rows", min=1, help=_("How many employees and rows.")),
    fmt: str = typer.Option("csv", "--format", help=_("xlsx or csv.")),
    database_url: str = _scratch(),
) -> None:
    from benchmarks import acceptance as bench_acceptance

    report = bench_acceptance.run(rows, fmt.lower(), database_url)
    typer.echo(
        _(
            "Set-up: {rows} results on {database} and a {mb:.1f} MB {fmt} payroll file in "
            "{seconds:.1f} s."
        ).format(
            rows=report.rows,
            database=report.database,
            mb=report.file_mb,
            fmt=report.file_format,
            seconds=report.setup_seconds,
        )
    )
    typer.echo(_("Reading the file alone: {seconds:.2f} s.").format(seconds=report.read_seconds))
    typer.echo(
        _(
            "Acceptance check (read, check every row, compare, store, audit): {seconds:.2f} s, "
            "{ratio:.2f} × reading alone; {mismatched} mismatch found."
        ).format(seconds=report.check_seconds, ratio=report.ratio, mismatched=report.mismatched)
    )
    typer.echo(_("Peak memory: {mb:.0f} MB.").format(mb=report.peak_mb))


@bench_app.command(
    "whatif",
    help=_(
        "Build and publish a period of N employees, then time “what if” questions in chat "
        "(one whole answer each, committed) beside reading that one result."
    ),
)
def whatif(
    employees: int = _employees(),
    samples: int = typer.Option(
        500, "--samples", min=1, max=10_000, help=_("How many employees ask.")
    ),
    database_url: str = _scratch(),
) -> None:
    report = bench_whatif.run(employees, samples, database_url)
    _latencies(
        report,
        (_("What-if answer in chat (committed)"), report.answer_ms),
        (_("Read that one result with its trace"), report.read_ms),
        (_("“My score” answer in chat (committed)"), report.myscore_ms),
    )


@bench_app.command(
    "scorers",
    help=_(
        "Build a closed period of N employees in teams in a fresh database and time the "
        "scorer report against one SQL aggregate of the same per-scorer figures."
    ),
)
def scorers_report(
    employees: int = _employees(),
    database_url: str = _scratch(),
) -> None:
    report = bench_scorers.run(employees, database_url)
    typer.echo(
        _(
            "Set-up: {employees} employees in {institutions} institutions on {database} in "
            "{seconds:.1f} s."
        ).format(
            employees=report.employees,
            institutions=report.institutions,
            database=report.database,
            seconds=report.setup_seconds,
        )
    )
    typer.echo(
        _("Scorer report: {seconds:.2f} s for {scorers} scorers ({flagged} flagged).").format(
            seconds=report.report_seconds, scorers=report.scorers, flagged=report.flagged
        )
    )
    typer.echo(
        _("Floor (one SQL aggregate): {seconds:.2f} s.").format(seconds=report.floor_seconds)
    )
    typer.echo(_("Ratio report / floor: {ratio:.2f}.").format(ratio=report.ratio))


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


@bench_app.command(
    "metrics",
    help=_(
        "Build N employees and a scheme of 3 metric indicators in a fresh database, write "
        "their values (N × 3 rows) and time `import metrics` beside reading the file alone."
    ),
)
def metrics(
    employees: int = _employees(),
    xlsx: bool = typer.Option(False, "--xlsx", help=_("An .xlsx file instead of a .csv.")),
    database_url: str = _scratch(),
) -> None:
    from benchmarks import metrics as bench_metrics

    typer.echo(
        _("Building {employees} employees and their metric values…").format(employees=employees)
    )
    report = bench_metrics.run(employees, database_url, xlsx=xlsx)
    typer.echo(
        _("Set-up on {database} in {seconds:.1f} s.").format(
            database=report.database, seconds=report.setup_seconds
        )
    )
    typer.echo(
        _("Reading the {kind} file alone ({rows} rows): {seconds:.2f} s.").format(
            kind=report.file_kind, rows=report.rows, seconds=report.read_seconds
        )
    )
    typer.echo(
        _(
            "Import (read, check, write, commit) into an empty period: {seconds:.2f} s "
            "({ratio:.2f} × reading alone); again over its own values: {again:.2f} s; "
            "{stored} values stored."
        ).format(
            seconds=report.import_seconds,
            ratio=report.ratio,
            again=report.reimport_seconds,
            stored=report.stored,
        )
    )
    typer.echo(_("Peak memory: {mb:.0f} MB.").format(mb=report.peak_mb))


@bench_app.command(
    "open",
    help=_(
        "Build N employees, each bound to a chat and scored by their manager and by "
        "themself, in a fresh database, then time opening a period (tasks, a push to "
        "every scorer, commit) beside a bulk insert of the same rows."
    ),
)
def open_(
    employees: int = _employees(),
    database_url: str = _scratch(),
) -> None:
    from benchmarks import period_open as bench_period_open

    typer.echo(_("Building {employees} employees…").format(employees=employees))
    report = bench_period_open.run(employees, database_url)
    typer.echo(
        _("Set-up on {database} in {seconds:.1f} s.").format(
            database=report.database, seconds=report.setup_seconds
        )
    )
    typer.echo(
        _(
            "Opening the period: {seconds:.2f} s for {tasks} scoring tasks and {pushes} "
            "pushes queued; floor (bulk insert of the same rows and commit): {floor:.2f} s; "
            "ratio {ratio:.2f}."
        ).format(
            seconds=report.open_seconds,
            tasks=report.tasks,
            pushes=report.pushes,
            floor=report.floor_seconds,
            ratio=report.ratio,
        )
    )
    typer.echo(_("Peak memory: {mb:.0f} MB.").format(mb=report.peak_mb))


@bench_app.command(
    "import-org",
    help=_(
        "Write an org file of N employees and time `import org` into an empty database, "
        "again unchanged, and again with every pay base changed, beside a bulk insert of "
        "the same employees."
    ),
)
def import_org(
    employees: int = _employees(),
    xlsx: bool = typer.Option(False, "--xlsx", help=_("An .xlsx file instead of a .csv.")),
    database_url: str = typer.Option(
        None,
        "--database-url",
        help=_("An empty scratch database; default: temporary SQLite files."),
    ),
) -> None:
    from benchmarks import org_import as bench_org_import

    typer.echo(_("Writing an org file of {employees} employees…").format(employees=employees))
    report = bench_org_import.run(employees, database_url, xlsx=xlsx)
    typer.echo(
        _(
            "Import of the {kind} file into an empty {database} database: {seconds:.2f} s; "
            "floor (bulk insert of the same employees and commit): {floor:.2f} s; "
            "ratio {ratio:.2f}; {stored} employees stored."
        ).format(
            kind=report.file_kind,
            database=report.database,
            seconds=report.import_seconds,
            floor=report.floor_seconds,
            ratio=report.ratio,
            stored=report.stored,
        )
    )
    typer.echo(
        _(
            "Again, every row unchanged: {unchanged:.2f} s; again with every pay base "
            "changed (an audit event each): {changed:.2f} s."
        ).format(unchanged=report.unchanged_seconds, changed=report.changed_seconds)
    )
    typer.echo(_("Peak memory: {mb:.0f} MB.").format(mb=report.peak_mb))
