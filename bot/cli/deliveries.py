"""`jixiao undelivered`: who the bot cannot reach, for HR to follow up by other means."""

from __future__ import annotations

import typer
from sqlalchemy import or_, select

from bot.cli.common import GROUP, transaction
from bot.i18n import _
from models import ChatIdentity, Employee, OutboxMessage, OutboxState, Role


def undelivered() -> None:
    with transaction() as s:
        rows = s.execute(
            select(OutboxMessage, Employee)
            .outerjoin(Employee, Employee.id == OutboxMessage.employee_id)
            .where(
                or_(
                    OutboxMessage.state == OutboxState.FAILED,
                    OutboxMessage.state == OutboxState.UNKNOWN,
                )
            )
            .order_by(OutboxMessage.created_at)
        ).all()
        blocked = s.execute(
            select(ChatIdentity, Employee)
            .join(Employee, Employee.id == ChatIdentity.employee_id)
            .where(ChatIdentity.unreachable.is_(True), ChatIdentity.revoked_at.is_(None))
            .order_by(Employee.number)
        ).all()
        if not rows and not blocked:
            typer.echo(_("Every message was delivered; nobody is unreachable."))
        for message, employee in rows:
            state = _("failed") if message.state == OutboxState.FAILED else _("outcome unknown")
            typer.echo(
                _("{number} {name} ({platform}): {state} — {error}").format(
                    number=employee.number if employee else "-",
                    name=employee.name if employee else "-",
                    platform=message.platform,
                    state=state,
                    error=message.last_error or "-",
                )
            )
        for identity, employee in blocked:
            typer.echo(
                _("{number} {name} ({platform}): has blocked the bot").format(
                    number=employee.number, name=employee.name, platform=identity.platform
                )
            )


def register(app: typer.Typer) -> None:
    app.command(
        "undelivered",
        help=_("List messages that could not be delivered and people who blocked the bot."),
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
) -> None:
    from bot.cli.common import Failure, now
    from bot.periods import find_group, find_institution
    from bot.weekly import announce as queue

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
        n = queue(
            s, now(), grp.id, text.strip(), role=wanted, institution_id=inst.id if inst else None
        )
        typer.echo(_("Announcement queued for {n} chats.").format(n=n))
