"""What heads and group leadership ask for in chat.

A head gets, on demand, what the 09:00 digest shows (bot.notify.digest builds both): completion,
rank among the institutions, the overdue scorers with the one-tap reminder, departments
and the chart. Group leadership (and group-wide HR) get every institution's completion
and rank. Heads see their own institution's figures and rank, never another's.
"""

from __future__ import annotations

from bisect import bisect_left

from bot.appraisal import rollout
from bot.appraisal.progress import (
    Completion,
    GroupProgress,
    InstitutionProgress,
    group_progress,
    overdue_scorers,
)
from bot.chat import calibrate, menu, status, tasks
from bot.chat.context import Ctx
from bot.infra.i18n import _, ngettext
from bot.infra.message import Button, Reply
from bot.infra.workdays import local_now
from bot.notify import weekly
from bot.notify.chart import completion_bars
from bot.notify.digest import REMIND_PAYLOAD, build, facts
from bot.notify.reach import reachable_identities
from models import Institution

# Taller charts are unreadable on a phone (and past Telegram's photo size): the table
# alone then, which has every figure anyway.
CHART_ROWS = 30


def _may_nudge(ctx: Ctx, institution: Institution) -> bool:
    """The reminder button works for the institution's own head
    (bot.notify.nudge.remind_overdue)."""
    return institution.head_id == ctx.employee.id


def _move_up(progress: GroupProgress, mine: InstitutionProgress) -> str:
    """How many more submissions would lift the institution to the next better rank."""
    better = [i for i in progress.institutions if i.now.rate > mine.now.rate]
    if not better:
        return ""
    target = min(better, key=lambda i: i.now.rate)
    done, total = mine.now.done, mine.now.total
    # The fewest more submitted whose rate reaches the next better one (rates rise with n).
    more = bisect_left(
        range(total - done + 1), target.now.rate, key=lambda n: Completion(done + n, total).rate
    )
    if more > total - done:
        return ""
    return ngettext(
        "{n} more submitted would move you up to rank {rank}.",
        "{n} more submitted would move you up to rank {rank}.",
        more,
    ).format(n=more, rank=target.rank)


def progress(ctx: Ctx) -> Reply:
    """The digest of each institution the speaker heads, on demand."""
    mine = menu.headed(ctx)
    if not mine:
        return ctx.refuse("progress: not a head", text=_("Progress is shown to heads only."))
    # The whole group's facts, as the 09:00 job reads them: a few grouped queries. (Asking
    # bot.appraisal.progress for one institution's departments is far slower on SQLite: 1.4 s
    # against 0.23 s for the whole group of 20,000 people, and 30 s at 100,000.)
    known = facts(ctx.session, ctx.employee.group_id, ctx.now)
    standing = known.progress
    parts: list[str] = []
    rows: list[list[Button]] = []
    charts: list[bytes] = []
    for inst in mine:
        digest = build(ctx.session, inst, ctx.now, known, chart=True)
        if digest is None:
            parts.append(_("{name}: nothing to score right now.").format(name=inst.name))
            continue
        ours = standing.of(inst.id)
        up = _move_up(standing, ours) if ours else ""
        parts.append(f"{digest.text}\n{up}" if up else digest.text)
        if _may_nudge(ctx, inst):
            label = _("Remind all overdue") if len(mine) == 1 else f"{_('Remind')} · {inst.name}"
            rows += [[ctx.button(label, b.payload) for b in row] for row in digest.buttons]
        if digest.chart:
            charts.append(digest.chart)
    broken = calibrate.broken(ctx, mine)
    if broken:
        parts.append(
            ngettext(
                "Grade quotas: {n} violation waits for calibration.",
                "Grade quotas: {n} violations wait for calibration.",
                broken,
            ).format(n=broken)
        )
        rows.append([ctx.button(_("Grade quotas"), "quo")])
    if len(charts) > 1:
        parts.append(_("Each institution's chart comes with its 09:00 digest."))
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply(
        "\n\n".join(parts),
        rows,
        image=charts[0] if len(charts) == 1 else None,
        image_name="progress.png" if len(charts) == 1 else "",
    )


def remind(ctx: Ctx) -> Reply:
    """ "Remind the people who are behind": who is overdue, who can be reached, and the
    button that reminds them (a typed sentence never sends reminders by itself)."""
    mine = [i for i in menu.headed(ctx) if _may_nudge(ctx, i)]
    if not mine:
        return ctx.refuse(
            "remind: not a head", text=_("Reminders to overdue scorers are sent by heads.")
        )
    parts: list[str] = []
    rows: list[list[Button]] = []
    for inst in mine:
        late = [
            o
            for o in overdue_scorers(ctx.session, inst.group_id, inst.id, ctx.now)
            if o.scorer_id != ctx.employee.id
        ]
        if not late:
            parts.append(_("{name}: nobody is overdue.").format(name=inst.name))
            continue
        reachable = reachable_identities(ctx.session, {o.scorer_id for o in late})
        lines = [_("{name}: overdue scorers").format(name=inst.name)]
        for o in late:
            line = _("  {name}: {left} left").format(name=o.name, left=o.left)
            if not reachable.get(o.scorer_id):
                # The space is in the message: Chinese brackets bring their own.
                line += _(" (cannot be reached in chat)")
            lines.append(line)
        parts.append("\n".join(lines))
        label = _("Remind all overdue") if len(mine) == 1 else f"{_('Remind')} · {inst.name}"
        rows.append([ctx.button(label, f"{REMIND_PAYLOAD}:{inst.id}")])
    if rows:
        parts.append(_("Tap the button to remind each of them, once today."))
    rows.append([ctx.button(_("Menu"), "menu")])
    return Reply("\n\n".join(parts), rows)


def ranking(ctx: Ctx) -> Reply:
    """Every institution's completion and rank, for group leadership and group-wide HR;
    a head gets their own institution's standing."""
    if not (menu.leads(ctx) or None in menu.hr_scope(ctx)):
        if menu.headed(ctx):
            return progress(ctx)
        return ctx.refuse(
            "ranking: not leadership",
            text=_("The ranking of institutions is shown to group leadership and HR."),
        )
    group_id = ctx.employee.group_id
    table = weekly.rows(ctx.session, group_id, ctx.now)
    today = local_now(ctx.now, ctx.tz.key).date()
    lines = [_("Institutions ranked by scoring completion, {date}").format(date=today)]
    scoring = sum(i.now.total for i in group_progress(ctx.session, group_id, ctx.now).institutions)
    # The pilots' rollout and acceptance, as the weekly report closes with it.
    plan = rollout.table_lines(rollout.lines(ctx.session, group_id, ctx.now))
    if not table or not scoring:
        lines.append(_("Nothing is being scored right now."))
        lines.extend(plan)
        return Reply("\n".join(lines), [[ctx.button(_("Menu"), "menu")]])
    lines.extend(weekly.table_lines(table))
    lines.extend(plan)
    chart = None
    if len(table) <= CHART_ROWS:
        chart = completion_bars(
            _("Completion by institution"),
            [(r.name, r.completion) for r in table],
            _("Submitted (%)"),
        )
    return Reply(
        "\n".join(lines),
        [[ctx.button(_("Menu"), "menu")]],
        image=chart,
        image_name="ranking.png" if chart else "",
    )


def progress_question(ctx: Ctx) -> Reply:
    """ "How are we doing?" typed by anyone: a head's digest, leadership's ranking, HR's
    status, a scorer's own list; otherwise the polite refusal."""
    if menu.headed(ctx):
        return progress(ctx)
    if menu.leads(ctx):
        return ranking(ctx)
    if menu.hr_scope(ctx):
        return status.hr_status(ctx)
    if tasks.left(ctx).total:
        return tasks.show_list(ctx)
    return progress(ctx)
