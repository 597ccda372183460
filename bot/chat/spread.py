""" "评分分布" in chat: how each scorer scored, for heads (their institutions) and HR (their
scope), from the latest period whose scoring has closed. Flagged scorers first; the
flags are information, never a block."""

from __future__ import annotations

from sqlalchemy import or_, select

from bot.appraisal import scorers
from bot.chat import menu
from bot.chat.context import Ctx
from bot.infra.i18n import _
from bot.infra.message import Reply
from models import Institution, Period, PeriodState

SHOWN = 15  # scorers per institution in chat; the CLI report has them all
INSTITUTIONS = 10
CLOSED = (PeriodState.SCORING_CLOSED, PeriodState.PUBLISHED, PeriodState.FINAL)


def _institutions(ctx: Ctx) -> list[Institution]:
    mine = {i.id: i for i in menu.headed(ctx)}
    scope = menu.hr_scope(ctx)
    if scope:
        query = select(Institution).where(Institution.group_id == ctx.employee.group_id)
        if None not in scope:
            query = query.where(Institution.id.in_([i for i in scope if i is not None]))
        for inst in ctx.session.scalars(query.order_by(Institution.name)):
            mine.setdefault(inst.id, inst)
    return sorted(mine.values(), key=lambda i: i.name)


def _latest(ctx: Ctx, inst: Institution) -> Period | None:
    return ctx.session.scalar(
        select(Period)
        .where(
            Period.group_id == inst.group_id,
            Period.state.in_(CLOSED),
            or_(Period.institution_id.is_(None), Period.institution_id == inst.id),
        )
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )


def show(ctx: Ctx) -> Reply:
    institutions = _institutions(ctx)
    if not institutions:
        return ctx.refuse(
            "scorer spread: not a head or HR",
            text=_("How each scorer scores is shown to heads and HR."),
        )
    limits = scorers.Thresholds.from_settings()
    parts: list[str] = []
    for inst in institutions[:INSTITUTIONS]:
        period = _latest(ctx, inst)
        if period is None:
            parts.append(_("{name}: no period has closed for scoring yet.").format(name=inst.name))
            continue
        found = scorers.spreads(ctx.session, period, [inst.id], limits)
        flagged = sum(1 for s in found if s.flags)
        lines = [
            _("{name}, {label}: how each scorer scored (scorers: {n}, flagged: {flagged})").format(
                name=inst.name, label=period.label, n=len(found), flagged=flagged
            )
        ]
        names = scorers.role_names(ctx.session, period)
        lines += ["• " + scorers.line(s, limits, names) for s in found[:SHOWN]]
        if len(found) > SHOWN:
            lines.append(
                _("… and {n} more: `jixiao scorers report {label}` lists them all.").format(
                    n=len(found) - SHOWN, label=period.label
                )
            )
        parts.append("\n".join(lines))
    if len(institutions) > INSTITUTIONS:
        parts.append(
            _("… and {n} more institutions in the report.").format(
                n=len(institutions) - INSTITUTIONS
            )
        )
    parts.append(_("Flags are information for a second look, never a block."))
    return Reply("\n\n".join(parts), [[ctx.button(_("Menu"), "menu")]], ctx.tapped)
