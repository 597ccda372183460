"""`jixiao period ...`, `jixiao results compute` and `jixiao status`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, select

from bot.appraisal import gaps, quotas
from bot.appraisal import periods as lifecycle
from bot.appraisal import reassign as reassign_
from bot.appraisal.results import appraisee_count, compute_period
from bot.cli.common import GROUP, PERIOD, Failure, now, transaction
from bot.cli.meter import meter
from bot.cli.output import emit
from bot.infra.i18n import N_, _, ngettext
from bot.notify.reminders import queue_period_opened, queue_results_published, queue_tasks_moved
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


# `results compute`: some appraisees are left without a result (the rest are stored).
INCOMPLETE = 3


def _unscorable_warning(gaps_: list[gaps.Gap], label: str) -> list[str]:
    if not gaps_:
        return []
    return [
        _(
            "Warning: {count} people in {label} can never get a result, because no scorer "
            "whose score counts is assigned to them: {names}. Give them a direct manager "
            "(or their institution a head) in the org file, import it, then run `jixiao "
            "period tasks {label}`; until then they stay without a result and the pay "
            "sheet lists them without an amount."
        ).format(count=len(gaps_), label=label, names=gaps.named(gaps_, reasons=True))
    ]


@period_app.command("open", help=_("Open a period for scoring and create the scoring tasks."))
def period_open(
    label: str = PERIOD,
    scheme: str = typer.Option(..., "--scheme", help=_("Scheme code.")),
    deadline: str = typer.Option(None, "--deadline", help=_("Scoring deadline, YYYY-MM-DD.")),
    force: bool = typer.Option(
        False,
        "--force",
        help=_("Accept a deadline before the period starts or already past."),
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    due = None
    if deadline:
        try:
            due = dt.date.fromisoformat(deadline)
        except ValueError:
            raise Failure(
                _("Deadline {value!r} is not a date like 2026-12-05.").format(value=deadline)
            ) from None
    at = now()  # one moment for the transition, its audit event and its messages
    with transaction() as s:
        grp = lifecycle.find_group(s, group)
        inst = lifecycle.find_institution(s, grp, institution) if institution else None
        period, tasks = lifecycle.open_period(
            s,
            at,
            group=grp,
            label=label,
            scheme_code=scheme,
            institution=inst,
            deadline=due,
            force=force,
        )
        # Queued in the same transaction: the period opens and its scorers hear of it,
        # or neither.
        told = queue_period_opened(s, period, at)
        lines = [
            _(
                "Period {label} is open for scoring: {tasks} scoring tasks, deadline {deadline}."
            ).format(label=period.label, tasks=tasks, deadline=period.deadline.date().isoformat()),
            _("{n} messages to scorers queued.").format(n=told),
        ]
        warning = _unscorable_warning(gaps.unscorable(s, period), period.label)
        warning += quotas.lines(quotas.unmeetable(s, period))
    emit(lines)
    emit(warning, err=True)


@period_app.command(
    "tasks",
    help=_(
        "Add scoring tasks, while a period is open for scoring, for everyone who cannot "
        "get a result yet: people who joined after it opened, or got a manager or head "
        "since. With --reassign, also move each unsubmitted manager or head task to "
        "whoever holds that role now. Their new scorers are told."
    ),
)
def period_tasks(
    label: str = PERIOD,
    group: str = GROUP,
    institution: str = INSTITUTION,
    reassign: bool = typer.Option(
        False,
        "--reassign",
        help=_(
            "Move pending and draft manager or head tasks to the role's holder now (draft "
            "answers are dropped: the new scorer starts afresh); submitted tasks stay and "
            "are listed."
        ),
    ),
) -> None:
    at = now()
    with transaction() as s:
        period = _period(s, label, group, institution)
        warning: list[str] = []
        if not reassign:
            stale = reassign_.stale_tasks(s, period)
            if stale.moved:
                warning.append(
                    _(
                        "{n} unsubmitted tasks are with a scorer who no longer holds the role "
                        "(e.g. {who}): run `jixiao period tasks {label} --reassign` to move them."
                    ).format(n=len(stale.moved), who=_move_line(stale.moved[0]), label=label)
                )
        added, still = lifecycle.add_missing_tasks(s, at, period)
        told = queue_period_opened(s, period, at)
        lines = [
            _("{tasks} scoring tasks added to period {label}.").format(
                tasks=added, label=period.label
            ),
            _("{n} messages to scorers queued.").format(n=told),
        ]
        # After the "opened" push, so a new scorer is told once, by the "moved" one.
        if reassign:
            lines += _moved_lines(s, at, period)
    emit(lines)
    emit(warning + _unscorable_warning(still, period.label), err=True)


def _move_line(m: reassign_.Move) -> str:
    return _("{appraisee}, {role}: {old} → {new}").format(
        appraisee=m.appraisee, role=_role_label(m.role_code), old=m.old, new=m.new
    )


def _role_label(code: str) -> str:
    return {"manager": _("direct manager"), "head": _("head")}.get(code, code)


def _moved_lines(s: object, at: dt.datetime, period: Period) -> list[str]:
    """Move the stale tasks, tell their new scorers, and say per person what moved."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    moves = reassign_.move_tasks(s, at, period)
    counts: dict[int, int] = {}
    for m in moves.moved:
        if not m.withdrawn:
            counts[m.new_id] = counts.get(m.new_id, 0) + 1
    told = queue_tasks_moved(s, period, at, counts) if counts else 0
    lines = [
        _("{n} unsubmitted tasks moved in period {label}:").format(
            n=len(moves.moved), label=period.label
        )
    ]
    for m in moves.moved:
        line = "  " + _move_line(m)
        if m.withdrawn:
            line += _(" (withdrawn: the new scorer already had this task)")
        elif m.dropped:
            line += _(" ({n} draft answers dropped)").format(n=m.dropped)
        lines.append(line)
    if moves.submitted:
        lines.append(
            _("{n} submitted tasks stay with their scorer; decide them yourself:").format(
                n=len(moves.submitted)
            )
        )
        lines += ["  " + _move_line(m) for m in moves.submitted]
    lines.append(_("{n} messages to new scorers queued.").format(n=told))
    return lines


def _simple(action: str, done: str) -> None:
    def command(
        label: str = PERIOD,
        group: str = GROUP,
        institution: str = INSTITUTION,
    ) -> None:
        with transaction() as s:
            period = _period(s, label, group, institution)
            getattr(lifecycle, f"{action}_period")(s, now(), period)
            lines = [_(done).format(label=period.label)]  # translated when said
            if action == "finalize":
                lines += _still_missing(gaps.without_result(s, period), period.label)
        emit(lines)

    helps = {
        "close": _("Close scoring: no more scores are accepted."),
        "reopen": _("Reopen scoring after it was closed."),
        "finalize": _("Make a published period final: nothing changes afterwards."),
    }
    period_app.command(action, help=helps[action])(command)


def _still_missing(missing: list[gaps.Gap], label: str) -> list[str]:
    if not missing:
        return []
    return [
        _(
            "{count} people have no result for {label} and get none: {names}. The pay sheet "
            "lists them without an amount; pay them outside it if they are owed anything."
        ).format(count=len(missing), label=label, names=gaps.named(missing, reasons=True))
    ]


# Marked, not translated: the commands are built in English (bot.cli.main) and speak
# the language of the run.
_simple("close", N_("Period {label} is closed for scoring."))
_simple("reopen", N_("Period {label} is open for scoring again."))
_simple("finalize", N_("Period {label} is final."))


@period_app.command(
    "publish",
    help=_(
        "Publish results to employees. Refused while an appraisee has no result, unless "
        "--allow-missing."
    ),
)
def period_publish(
    label: str = PERIOD,
    allow_missing: bool = typer.Option(
        False,
        "--allow-missing",
        help=_(
            "Publish even if some people have no result: they get none for this period "
            "and the pay sheet lists them without an amount."
        ),
    ),
    window_days: int = typer.Option(
        None,
        "--window-days",
        help=_(
            "Workdays of the objection window (default: the scheme's, else 5). Employees "
            "confirm or appeal until it closes; silence counts as confirmed."
        ),
    ),
    override_quota: str = typer.Option(
        None,
        "--override-quota",
        help=_(
            "Publish although grade quota rules are broken, for this written reason "
            "(audited, and listed in the weekly report)."
        ),
    ),
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    at = now()
    with transaction() as s:
        period = _period(s, label, group, institution)
        missing = lifecycle.publish_period(
            s,
            at,
            period,
            allow_missing=allow_missing,
            window=window_days,
            override_quota=override_quota,
        )
        overridden = quotas.overrides(s, at, at + dt.timedelta(microseconds=1))
        told = queue_results_published(s, period, at)
        assert period.window_closes_at is not None
        closes = period.window_closes_at.astimezone(ZoneInfo(lifecycle.period_tz(period)))
        lines = [
            _("Period {label} is published.").format(label=period.label),
            _("{n} messages to employees queued.").format(n=told),
            _(
                "Objection window: until {when}. Finalize after it closes, once no appeal is open."
            ).format(when=closes.strftime("%Y-%m-%d %H:%M")),
        ]
        if overridden:
            lines.append(
                ngettext(
                    "Grade quotas overridden ({n} violation): {reason}",
                    "Grade quotas overridden ({n} violations): {reason}",
                    overridden[-1].violations,
                ).format(n=overridden[-1].violations, reason=overridden[-1].reason)
            )
    emit(lines)
    emit(_still_missing(missing, period.label), err=True)


@results_app.command(
    "compute",
    help=_(
        "Compute (or recompute) results from the submitted scores. Exit status: 0 when "
        "every appraisee has a result, 3 when some are still incomplete (the others' "
        "results are stored), 2 when refused."
    ),
)
def results_compute(
    label: str = PERIOD,
    group: str = GROUP,
    institution: str = INSTITUTION,
) -> None:
    with transaction() as s:
        period = _period(s, label, group, institution)
        with meter(_("Results computed"), appraisee_count(s, period)) as advance:
            report = compute_period(s, now(), period, progress=advance)
        lines = [
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
        ]
        shown = report.incomplete[: gaps.SHOWN * 2]
        why = {g.employee_id: g for g in gaps.explain(s, period, [u.employee_id for u in shown])}
        for u in shown:
            lines.append(
                _("  {number} {name}: {reason}").format(
                    number=u.number, name=u.name, reason=why[u.employee_id].reason()
                )
            )
        if len(report.incomplete) > len(shown):
            lines.append(_("  … and {n} more").format(n=len(report.incomplete) - len(shown)))
        broken = quotas.check(s, period)
        if broken:
            lines.append(
                ngettext(
                    "{n} grade quota violation (publication is refused until it is "
                    "calibrated away or overridden):",
                    "{n} grade quota violations (publication is refused until they are "
                    "calibrated away or overridden):",
                    len(broken),
                ).format(n=len(broken))
            )
            lines.extend(quotas.lines(broken))
        untasked = gaps.explain(s, period, gaps.untasked(s, period))
        if untasked:
            lines.append(
                _(
                    "{count} active employees have no scoring task in {label} and get no "
                    "result: {names}. While it is open for scoring, `jixiao period tasks "
                    "{label}` adds theirs."
                ).format(count=len(untasked), label=period.label, names=gaps.named(untasked))
            )
    # Printed only once committed: a reader that goes away cannot undo the work.
    emit(lines)
    if report.incomplete:
        raise typer.Exit(code=INCOMPLETE)


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
