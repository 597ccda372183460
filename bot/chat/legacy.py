"""During the parallel run, an employee asks what the old system worked out for them
(旧系统算出来是多少): both figures and the main reasons they differ, only their own."""

from __future__ import annotations

from bot.appraisal import checksum, legacy
from bot.chat.context import Ctx
from bot.chat.myscore import VISIBLE
from bot.infra.i18n import _, money
from bot.infra.message import Reply


def available(ctx: Ctx) -> bool:
    """Whether the speaker has an old-system result to compare (for the menu)."""
    return legacy.in_parallel_run(ctx.session, ctx.employee.id) is not None


def show(ctx: Ctx) -> Reply:
    buttons = [[ctx.button(_("Why is my pay this amount"), "why"), ctx.button(_("Menu"), "menu")]]
    found = legacy.in_parallel_run(ctx.session, ctx.employee.id)
    if found is None:
        return Reply(
            _(
                "There is no old-system result of yours to compare: the old system's results "
                "are loaded only for the periods of the parallel run."
            ),
            buttons,
            ctx.tapped,
        )
    period, _old = found
    if period.state not in VISIBLE:
        return Reply(
            _(
                "Your result for {label} is not published yet; once it is, you can compare "
                "it with the old system's."
            ).format(label=period.label),
            buttons,
            ctx.tapped,
        )
    (d,) = legacy.people(ctx.session, period, ctx.employee.id)
    lines = [_("Old and new system, {label}:").format(label=period.label)]
    if d.new_pay is None:
        lines.append(_("The new system has no result for you in this period."))
    else:
        lines.append(
            _("New system: grade {grade}, total {total}, performance pay {pay}.").format(
                grade=d.new_grade,
                total="—" if d.new_total is None else checksum.number(d.new_total),
                pay=money(d.new_pay),
            )
        )
    assert d.old_pay is not None
    lines.append(
        _("Old system: grade {grade}, total {total}, performance pay {pay}.").format(
            grade=d.old_grade or "—",
            total="—" if d.old_total is None else checksum.number(d.old_total),
            pay=money(d.old_pay),
        )
    )
    if not d.differs:
        lines.append(_("Both systems give the same result."))
    else:
        lines.append(
            _("Difference (new − old): {difference}.").format(difference=money(d.pay_difference))
        )
        lines.append(_("Main reasons:"))
        lines.extend(f"• {reason}" for reason in d.reasons())
        if d.note:
            lines.append(_("HR's explanation: {note}").format(note=d.note))
    return Reply("\n".join(lines), buttons, ctx.tapped)
