"""The head's one tap: the digest's button reminds each overdue scorer once a day. The
scheduled digest only shows the button; the conversation calls this when it is pressed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appraisal.progress import overdue_scorers
from bot.infra import i18n
from bot.infra.i18n import _, ngettext
from bot.infra.message import Button, Reply
from bot.infra.workdays import local_now
from bot.notify import outbox
from bot.notify.reach import handout_content, reachable_identities
from models import Employee, Institution


@dataclass(frozen=True)
class Nudged:
    """What the digest's "remind" button did."""

    reminded: int  # overdue scorers reminded now
    unreachable: int  # overdue scorers with no chat to reach (not bound, or blocked the bot)
    already: int  # overdue scorers reminded earlier today


def remind_overdue(
    session: Session, now: dt.datetime, head: Employee, institution_id: int
) -> Nudged | None:
    """The digest's button: one reminder to each overdue scorer, at most one per scorer
    per day however often it is pressed; never to the head herself, never to a chat that
    blocked the bot. None if `head` does not head that institution."""
    institution = session.get(Institution, institution_id)
    if institution is None or institution.head_id != head.id:
        return None
    local = local_now(now, institution.timezone)
    late = [
        o
        for o in overdue_scorers(session, institution.group_id, institution.id, now)
        if o.scorer_id != head.id
    ]
    ids = {o.scorer_id for o in late}
    chats = reachable_identities(session, ids)
    scorers = {e.id: e for e in session.scalars(select(Employee).where(Employee.id.in_(ids)))}
    reminded = unreachable = already = 0
    for o in late:
        scorer = scorers[o.scorer_id]
        if not chats.get(o.scorer_id):
            unreachable += 1
            continue
        queued = 0
        for identity in chats[o.scorer_id]:
            with i18n.using(scorer.language or i18n.default_language()):
                text = ngettext(
                    "Reminder from {head}: {left} person is waiting for your scores.",
                    "Reminder from {head}: {left} people are waiting for your scores.",
                    o.left,
                ).format(head=head.name, left=o.left)
                label = _("Start scoring")
            queued += outbox.enqueue(
                session,
                now,
                platform=identity.platform,
                chat_id=identity.external_id,
                content=handout_content(Reply(text, [[Button(label, "list")]])),
                dedupe_key=f"nudge:{o.scorer_id}:{identity.platform}:{local.date()}",
                employee_id=o.scorer_id,
            )
        if queued:
            reminded += 1
        else:
            already += 1
    return Nudged(reminded, unreachable, already)


def nudge_answer(nudged: Nudged) -> str:
    """What the head reads after pressing the button, in the current language."""
    if nudged.reminded:
        said = ngettext(
            "Reminder sent to {n} scorer.", "Reminders sent to {n} scorers.", nudged.reminded
        ).format(n=nudged.reminded)
    elif nudged.already:
        said = _("Everyone overdue has already been reminded today.")
    elif nudged.unreachable:
        said = _("Nobody overdue can be reached in chat.")
    else:
        said = _("Nobody is overdue.")
    if nudged.unreachable:
        said += "\n" + ngettext(
            "{n} more could not be reached: not bound to the bot, or blocked it.",
            "{n} more could not be reached: not bound to the bot, or blocked it.",
            nudged.unreachable,
        ).format(n=nudged.unreachable)
    return said
