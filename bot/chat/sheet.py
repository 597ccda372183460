"""The scoring form as one sheet, for platforms that show every indicator at once (Slack's
modal). Same rules as the chat form: the speaker's own task, in a period open for
scoring; each value checked against its range or levels; comments where the scheme asks;
a draft saved as it stands; submitted once. All or nothing: a sheet with any problem
writes nothing and names each problem by indicator."""

from __future__ import annotations

from dataclasses import dataclass

from bot.appraisal.sections import indicators_for
from bot.appraisal.values import (
    BadValue,
    allowed,
    check,
    check_comment,
    comment_rule,
    needs_comment,
    visible,
)
from bot.chat.context import Ctx
from bot.chat.form import OPTIONAL, WEIGHTED, changed_note, confirm, write_answer
from bot.chat.tasks import own, role_name, who
from bot.infra import render
from bot.infra.i18n import _
from bot.infra.message import Reply
from models import TaskState


@dataclass(frozen=True)
class Field:
    indicator_id: int
    label: str
    hint: str
    optional: bool
    value: str
    comment: str


@dataclass(frozen=True)
class Sheet:
    task_id: int
    title: str  # whom, and in which role: 张三 (003) · 直接上级
    fields: list[Field]
    submitted: bool
    short_title: str = ""  # the same without the number, for narrow titles


def open_sheet(ctx: Ctx, task_id: int) -> Sheet:
    """The task's indicators with their hints and whatever is already entered."""
    task = own(ctx, task_id)
    entries = {e.indicator_id: e for e in task.entries}
    fields = []
    for ind in indicators_for(task.period.scheme, task.role_code):
        hint = [_("Allowed: {range}").format(range=allowed(ind))]
        if ind.criteria:
            hint.append(ind.criteria)
        if ind.comment_below is not None or ind.comment_at_max:
            hint.append(comment_rule(ind))
        entry = entries.get(ind.id)
        label = (
            _("{name} (weight {weight})").format(name=ind.name, weight=ind.weight)
            if ind.kind in WEIGHTED
            else ind.name
        )
        fields.append(
            Field(
                ind.id,
                label,
                " ".join(hint),
                ind.kind in OPTIONAL,
                render.score(entry.value) if entry else "",
                entry.comment if entry else "",
            )
        )
    submitted = task.state == TaskState.SUBMITTED
    role = role_name(task)
    title = f"{who(task)} · {role}"
    return Sheet(task.id, title, fields, submitted, f"{task.appraisee.name} · {role}")


def save_sheet(
    ctx: Ctx, task_id: int, answers: dict[int, tuple[str, str]], submit: bool
) -> dict[int, str] | list[Reply]:
    """Check every answer; with any problem, write nothing and return them by indicator.
    Otherwise write them all, and submit when asked (once, like the chat's Confirm)."""
    task = own(ctx, task_id)
    problems: dict[int, str] = {}
    checked = []
    for ind in indicators_for(task.period.scheme, task.role_code):
        text, comment = answers.get(ind.id, ("", ""))
        if not text.strip():
            if ind.kind in WEIGHTED and submit:
                problems[ind.id] = _("Needed before submitting.")
            continue
        try:
            value = check(ind, text)
            # A comment of nothing visible (a zero-width space) is no comment.
            comment = (
                check_comment(comment) if needs_comment(ind, value) or visible(comment) else ""
            )
        except BadValue as exc:
            problems[ind.id] = str(exc)
            continue
        checked.append((ind, value, comment.strip()))
    if problems:
        return problems
    changes = []
    for ind, value, comment in checked:
        if changed := write_answer(ctx, task, ind, value, comment):
            changes.append((ind, changed))
    # The chat form, if opened later, shows the summary rather than re-asking.
    task.cursor = len(indicators_for(task.period.scheme, task.role_code))
    ctx.session.flush()
    if task.state == TaskState.SUBMITTED:
        # An edit of a submitted scoring: say what changed and the new total, not just
        # "already submitted".
        note = changed_note(task, changes) or _(
            "Nothing changed: {name} stays submitted as it was."
        ).format(name=task.appraisee.name)
        return [Reply(note)]
    if submit:
        return [confirm(ctx, task.id)]
    return [Reply(_("Draft saved: {name}.").format(name=task.appraisee.name))]
