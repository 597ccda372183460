"""`jixiao period ...`, `jixiao results compute` and `jixiao status`."""

from __future__ import annotations

import datetime as dt

import typer
from sqlalchemy import func, select

from bot import periods as lifecycle
from bot.cli.common import GROUP, now, transaction
from bot.i18n import _
from bot.reminders import queue_period_opened, queue_results_published
from bot.results import compute_period
from models import Institution, Period, Result, ScoringTask, TaskState

period_app = typer.Typer(help=_("Open, close, publish and finalize appraisal periods."))
results_app = typer.Typer(help=_("Compute appraisal results."))

INSTITUTION = typer.Option(
    None, "--institution", help=_("Institution name; omit for a group-wide period.")
)


def _period(session: object, label: str, group: str | None, institution: str | None) -> Period:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    grp = lifecycle.find_group(session, group)
    inst = lifecycle.find_institution(session, grp, institution) if institution else None
    return lifecycle.find_period(session, grp, label, inst)


@period_app.command("open", help=_("Open a period for scoring and create the scoring tasks."))
def period_open(
    label: str = typer.Argument(..., help=_("Period: 2026-11, 2026-Q4 or 2026.")),
    scheme: str = typer.Option(..., "--scheme", help=_("Scheme code.")),
    deadline: str = typer.Option(None, "--deadline", help=_("Scoring deadline, YYYY-MM-DD.")),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    due = None
    if deadline:
        try:
            due = dt.date.fromisoformat(deadline)
        except ValueError:
            from bot.cli.common import Failure

            raise Failure(
                _("Deadline {value!r} is not a date like 2026-12-05.").format(value=deadline)
            ) from None
    at = now()  # one moment for the transition, its audit event and its messages
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution) if institution else None
        period, tasks = lifecycle.open_period(
            s, at, group=grp, label=label, scheme_code=scheme, institution=inst, deadline=due
        )
        # Queued in the same transaction: the period opens and its scorers hear of it,
        # or neither.
        told = queue_period_opened(s, period, at)
        typer.echo(
            _(
                "Period {label} is open for scoring: {tasks} scoring tasks, deadline {deadline}."
            ).format(label=period.label, tasks=tasks, deadline=period.deadline.date().isoformat())
        )
        typer.echo(_("{n} messages to scorers queued.").format(n=told))


def _simple(action: str, done: str) -> None:
    def command(
        label: str = typer.Argument(..., help=_("Period: 2026-11, 2026-Q4 or 2026.")),
        group: str = GROUP,
        institution: str = INSTITUTION,
    ) -> None:
        with transaction() as s:
            period = _period(s, label, group, institution)
            getattr(lifecycle, f"{action}_period")(s, now(), period)
            typer.echo(done.format(label=period.label))

    helps = {
        "close": _("Close scoring: no more scores are accepted."),
        "reopen": _("Reopen scoring after it was closed."),
        "finalize": _("Make a published period final: nothing changes afterwards."),
    }
    period_app.command(action, help=helps[action])(command)


_simple("close", _("Period {label} is closed for scoring."))
_simple("reopen", _("Period {label} is open for scoring again."))
_simple("finalize", _("Period {label} is final."))


@period_app.command("publish", help=_("Publish results to employees."))
def period_publish(
    label: str = typer.Argument(..., help=_("Period: 2026-11, 2026-Q4 or 2026.")),
    allow_missing: bool = typer.Option(
        False, "--allow-missing", help=_("Publish even if some employees have no result.")
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    at = now()
    with transaction() as s:
        period = _period(s, label, group, institution)
        lifecycle.publish_period(s, at, period, allow_missing=allow_missing)
        told = queue_results_published(s, period, at)
        typer.echo(_("Period {label} is published.").format(label=period.label))
        typer.echo(_("{n} messages to employees queued.").format(n=told))


@results_app.command("compute", help=_("Compute (or recompute) results from the submitted scores."))
def results_compute(
    label: str = typer.Argument(..., help=_("Period: 2026-11, 2026-Q4 or 2026.")),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    with transaction() as s:
        period = _period(s, label, group, institution)
        report = compute_period(s, now(), period)
        typer.echo(
            _(
                "Results for {label}: {created} new, {updated} changed, {unchanged} unchanged, "
                "{incomplete} incomplete."
            ).format(
                label=period.label,
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
                incomplete=len(report.incomplete),
            )
        )
        for number, missing in report.incomplete[:20]:
            typer.echo(
                _("  {number}: no submitted score for {what}").format(
                    number=number, what=", ".join(missing) if missing else _("any indicator")
                )
            )


def status(group: str = GROUP) -> None:
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        periods = s.scalars(
            select(Period).where(Period.group_id == grp.id).order_by(Period.label, Period.id)
        ).all()
        if not periods:
            typer.echo(_("No periods yet: open one with `jixiao period open`."))
        for p in periods:
            total, done = s.execute(
                select(
                    func.count(ScoringTask.id),
                    func.count(ScoringTask.id).filter(ScoringTask.state == TaskState.SUBMITTED),
                ).where(ScoringTask.period_id == p.id)
            ).one()
            results = s.scalar(select(func.count(Result.id)).where(Result.period_id == p.id))
            scope = (
                s.get_one(Institution, p.institution_id).name
                if p.institution_id
                else _("whole group")
            )
            typer.echo(
                _(
                    "{label} ({scope}): {state}; scored {done}/{total}; {results} results; "
                    "deadline {deadline}"
                ).format(
                    label=p.label,
                    scope=scope,
                    state=lifecycle.state_name(p.state),
                    done=done,
                    total=total,
                    results=results,
                    deadline=p.deadline.date().isoformat(),
                )
            )


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
    app.add_typer(results_app, name="results")
    app.command(
        "status", help=_("Show every period with its state, scoring progress and results.")
    )(status)
