"""The menu, by role: every employee's own results; scorers' tasks; heads' progress; group
leadership's ranking of institutions; HR's status and pay sheet. Also the server-side role
checks those buttons lead to, and the commands a platform lists in its command menu."""

from __future__ import annotations

from sqlalchemy import or_, select

from bot.chat import appeal, legacy, tasks
from bot.chat.context import Ctx
from bot.infra.i18n import N_, _
from bot.infra.message import Button, Reply
from models import Institution, Role, RoleGrant

# The commands every platform may list in its own command menu (Telegram's "/" menu), with
# their descriptions; the conversation understands each of them (bot.chat.dispatch).
COMMANDS: list[tuple[str, str]] = [
    ("menu", N_("Main menu")),
    ("score", N_("People waiting for my scores")),
    ("myscore", N_("My latest result")),
    ("why", N_("Why is my pay this amount?")),
    ("history", N_("My earlier results")),
    ("progress", N_("Today's scoring progress, ranking and overdue scorers (heads)")),
    ("ranking", N_("Institutions ranked by scoring completion")),
    ("status", N_("Appraisal status and the pay sheet (HR)")),
    ("scorers", N_("How each scorer scored (heads, HR)")),
    ("lang", N_("Language")),
]


def headed(ctx: Ctx) -> list[Institution]:
    """Institutions the speaker heads (as their head, or by a head role grant)."""
    me = ctx.employee
    granted = select(RoleGrant.institution_id).where(
        RoleGrant.employee_id == me.id, RoleGrant.role == Role.HEAD
    )
    return list(
        ctx.session.scalars(
            select(Institution)
            .where(Institution.group_id == me.group_id)
            .where(or_(Institution.head_id == me.id, Institution.id.in_(granted)))
            .order_by(Institution.name)
        )
    )


def hr_scope(ctx: Ctx) -> list[int | None]:
    """Institution ids the speaker administers as HR; None stands for the whole group."""
    return list(
        ctx.session.scalars(
            select(RoleGrant.institution_id).where(
                RoleGrant.employee_id == ctx.employee.id, RoleGrant.role == Role.HR
            )
        )
    )


def leads(ctx: Ctx) -> bool:
    """Whether the speaker is in group leadership."""
    return (
        ctx.session.scalar(
            select(RoleGrant.id)
            .where(RoleGrant.employee_id == ctx.employee.id, RoleGrant.role == Role.LEADERSHIP)
            .limit(1)
        )
        is not None
    )


def show(ctx: Ctx, note: str = "") -> Reply:
    """Greet and offer what this person may do; waits for a tap or a question."""
    ctx.update(form=None, review=None)
    me = ctx.employee
    text = _(
        "Hello, {name}. What would you like to see? You can also just ask, such as "
        "“why is my pay this amount”."
    ).format(name=me.name)
    rows: list[list[Button]] = [
        [ctx.button(_("My score"), "my"), ctx.button(_("Why is my pay this amount"), "why")],
        [ctx.button(_("History"), "hist"), ctx.button(_("Language"), "lang")],
    ]
    todo = tasks.left(ctx)
    if todo.total:
        label = (
            _("To score: {left} left, due {deadline}").format(
                left=todo.left, deadline=todo.deadline
            )
            if todo.left and todo.deadline
            else _("To score: all {total} done").format(total=todo.total)
        )
        rows.insert(0, [ctx.button(label, "list:0")])
    if legacy.available(ctx):
        rows.append([ctx.button(_("Old system vs new"), "legacy")])
    if headed(ctx):
        rows.append([ctx.button(_("Today's progress"), "prog")])
    if leads(ctx):
        rows.append([ctx.button(_("Compare institutions' ranking"), "rank")])
    waiting = appeal.waiting(ctx) if headed(ctx) or hr_scope(ctx) else 0
    if waiting:
        rows.append([ctx.button(_("Appeals to decide: {n}").format(n=waiting), "aps")])
    # Decided but waiting for a scorer: they block finalizing, so they stay in reach.
    elif (headed(ctx) or hr_scope(ctx)) and (again := appeal.rescoring(ctx)):
        rows.append([ctx.button(_("Appeals being re-scored: {n}").format(n=again), "aps")])
    if hr_scope(ctx):
        rows.append(
            [
                ctx.button(_("Appraisal status"), "hr"),
                ctx.button(_("Export the pay sheet"), "paysheet"),
            ]
        )
    return Reply(f"{note}\n\n{text}" if note else text, rows, ctx.tapped)
