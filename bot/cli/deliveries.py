"""`jixiao undelivered` and `jixiao announce`: what has not reached people yet, who cannot
be reached, and one-off messages that say who they will miss; `jixiao outbox prune`:
forgetting messages long done with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import typer
from babel.dates import format_timedelta

from bot.cli.common import GROUP, Failure, engine, now, refusals, transaction
from bot.cli.output import emit
from bot.infra import i18n
from bot.infra.i18n import _, ngettext
from bot.infra.settings import get_settings
from bot.infra.workdays import default_tz
from bot.notify.retention import prune_outbox
from bot.notify.undelivered import Backlog, Person, backlog, reach
from models import OutboxState, Role
from models.db import sessions

LIMIT = typer.Option(
    30, "--limit", min=0, help=_("List at most this many people per section; 0 lists everyone.")
)


def _ago(moment: dt.datetime, at: dt.datetime) -> str:
    return format_timedelta(at - moment, locale=i18n.current(), threshold=1.1)


def _people(people: Sequence[Person], limit: int) -> str:
    shown = people if limit == 0 else people[:limit]
    text = _(", ").join(f"{p.number} {p.name}" for p in shown)
    if len(people) > len(shown):
        text += " " + _("… and {n} more people").format(n=len(people) - len(shown))
    return text


def _print_backlog(report: Backlog, at: dt.datetime, limit: int) -> None:
    echo = typer.echo
    if report.queued:
        assert report.oldest_queued is not None
        echo(
            ngettext(
                "Queued, not sent yet: {n} message, queued {age} ago.",
                "Queued, not sent yet: {n} messages, the oldest queued {age} ago.",
                report.queued,
            ).format(n=report.queued, age=_ago(report.oldest_queued, at))
        )
        if report.retrying:
            echo(
                "  "
                + _("{n} of them are waiting to be tried again after an error.").format(
                    n=report.retrying
                )
            )
        echo("  " + _("Messages go out while `jixiao worker` runs."))
    if report.in_flight:
        echo(
            ngettext(
                "Being sent now: {n} message.", "Being sent now: {n} messages.", report.in_flight
            ).format(n=report.in_flight)
        )
    if report.stranded:
        assert report.stranded_since is not None
        echo(
            _(
                "Stranded: {n} messages were taken by a sender that stopped "
                "({workers}; its claim ran out {age} ago). A running `jixiao worker` "
                "sends them."
            ).format(
                n=report.stranded,
                workers=", ".join(report.stranded_by) or "-",
                age=_ago(report.stranded_since, at),
            )
        )
    if report.failed:
        total = sum(f.messages for f in report.failed)
        echo(ngettext("Failed: {n} message.", "Failed: {n} messages.", total).format(n=total))
        shown = report.failed if limit == 0 else report.failed[:limit]
        for failed in shown:
            reason = failed.error or "-"
            if failed.state == OutboxState.UNKNOWN:
                reason = _("outcome unknown (the sender stopped while sending): {error}").format(
                    error=reason
                )
            echo(
                "  "
                + ngettext(
                    "{who} ({platform}), {n} message: {reason}",
                    "{who} ({platform}), {n} messages: {reason}",
                    failed.messages,
                ).format(
                    who=f"{failed.person.number} {failed.person.name}"
                    if failed.person
                    else _("a group chat"),
                    platform=failed.platform,
                    n=failed.messages,
                    reason=reason,
                )
            )
        if len(report.failed) > len(shown):
            echo("  " + _("… and {n} more").format(n=len(report.failed) - len(shown)))
    if report.all_delivered:
        echo(_("Every message was delivered."))
    if report.unreachable:
        echo(
            ngettext(
                "Unreachable (blocked the bot or left the chat): {n} person.",
                "Unreachable (blocked the bot or left the chat): {n} people.",
                len(report.unreachable),
            ).format(n=len(report.unreachable))
        )
        shown_people = report.unreachable if limit == 0 else report.unreachable[:limit]
        for person, platforms in shown_people:
            line = _("{number} {name} ({platforms})").format(
                number=person.number, name=person.name, platforms=", ".join(platforms)
            )
            if missed := report.not_delivered_to.get(person):
                line += ngettext(
                    ": {n} message not delivered", ": {n} messages not delivered", missed
                ).format(n=missed)
            echo("  " + line)
        if len(report.unreachable) > len(shown_people):
            echo(
                "  "
                + _("… and {n} more people").format(n=len(report.unreachable) - len(shown_people))
            )
    else:
        echo(_("Nobody is unreachable."))


def undelivered(limit: int = LIMIT) -> None:
    at = now()
    with transaction() as s:
        report = backlog(s, at)
    _print_backlog(report, at, limit)


outbox_app = typer.Typer(help=_("The outbox every message goes through: prune what is done."))


@outbox_app.command(
    "prune",
    help=_(
        "Delete messages sent (or finally failed) more than OUTBOX_RETENTION_DAYS ago; "
        "messages still to be sent are never deleted. The worker does this each night."
    ),
)
def outbox_prune(
    older_than: int = typer.Option(
        None,
        "--older-than",
        metavar="DAYS",
        help=_("Days to keep instead of OUTBOX_RETENTION_DAYS (at least 30)."),
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help=_("Only count what would be deleted; delete nothing.")
    ),
) -> None:
    days = get_settings().outbox_retention_days if older_than is None else older_than
    with refusals():
        done = prune_outbox(sessions(engine()), now(), days, dry_run=dry_run)
    when = done.cutoff.astimezone(ZoneInfo(default_tz())).strftime("%Y-%m-%d %H:%M")
    if dry_run:
        line = ngettext(
            "Would delete {n} message sent or given up before {cutoff} (a dry run: "
            "nothing was deleted).",
            "Would delete {n} messages sent or given up before {cutoff} (a dry run: "
            "nothing was deleted).",
            done.messages,
        )
    else:
        line = ngettext(
            "Deleted {n} message sent or given up before {cutoff}.",
            "Deleted {n} messages sent or given up before {cutoff}.",
            done.messages,
        )
    emit([line.format(n=done.messages, cutoff=when)])


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
    app.command(
        "undelivered",
        help=_(
            "Show what has not been delivered yet (queued, being sent, stranded, failed) "
            "and who cannot be reached."
        ),
    )(undelivered)
    app.command(
        "announce",
        help=_("Send a one-off message to a role or an institution, through the outbox."),
    )(announce)


def announce(
    text: str = typer.Argument(..., help=_("The message, as it should appear.")),
    role: str = typer.Option(
        None, "--role", help=_("Only people with this role: head, hr or leadership.")
    ),
    institution: str = typer.Option(None, "--institution", help=_("Only this institution.")),
    group: str = GROUP,
    limit: int = LIMIT,
) -> None:
    from bot.appraisal.periods import find_group, find_institution
    from bot.notify.weekly import announce as queue

    if not text.strip():
        raise Failure(_("The announcement is empty."))
    try:
        wanted = Role(role) if role else None
    except ValueError:
        raise Failure(
            _("Unknown role {role!r}: use head, hr or leadership.").format(role=role)
        ) from None
    with transaction() as s:
        grp = find_group(s, group)
        inst = find_institution(s, grp, institution) if institution else None
        inst_id = inst.id if inst else None
        who = reach(s, grp.id, wanted, inst_id)
        if not who.recipients:
            raise Failure(_("Nobody to announce to: no active employee matches."))
        n = queue(s, now(), grp.id, text.strip(), role=wanted, institution_id=inst_id)
    missed = who.recipients - who.reachable
    typer.echo(_("Announcement queued for {n} chats.").format(n=n))
    typer.echo(
        _("{reachable} of {total} recipients can be reached in chat.").format(
            reachable=who.reachable, total=who.recipients
        )
    )
    if n < who.reachable:
        typer.echo(
            _("{n} of them already had this announcement queued and will not get it twice.").format(
                n=who.reachable - n
            )
        )
    if who.no_chat:
        typer.echo(
            _("{n} have no chat with the bot yet and will not get it: {people}").format(
                n=len(who.no_chat), people=_people(who.no_chat, limit)
            )
        )
        institutions = sorted({p.institution for p in who.no_chat if p.institution})
        typer.echo(_("To reach them, issue bind codes and hand each person theirs:"))
        for name in institutions[:5]:
            typer.echo(f"  jixiao codes issue --institution {name}")
        if len(institutions) > 5:
            typer.echo("  " + _("… and {n} more").format(n=len(institutions) - 5))
    if who.blocked:
        typer.echo(
            _("{n} have blocked the bot or left the chat and will not get it: {people}").format(
                n=len(who.blocked), people=_people(who.blocked, limit)
            )
        )
    if not who.reachable:
        raise Failure(
            _("Nobody received it: none of the {total} recipients can be reached in chat.").format(
                total=missed
            )
        )
