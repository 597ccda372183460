"""The scoring form: indicator by indicator, or every score in one line, then a summary
with the computed total and grade, then Confirm.

Where the form stands lives in the database: `ScoringTask.cursor` is the indicator asked
next, each answer is a `ScoreEntry` at once, and the chat state holds only which task is
open and a value still waiting for its comment. A restart resumes exactly.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, TextualSelect, bindparam, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from bot.appraisal import appeals, behalf, scorers, values
from bot.appraisal.audit import record
from bot.appraisal.pay import Incomplete, Mark, RoleSpec, SchemeSpec, compute
from bot.appraisal.sections import indicators_for
from bot.appraisal.values import (
    COMMENT_MAX,
    BadValue,
    allowed,
    check,
    check_comment,
    choices,
    comment_rule,
    level_label,
    looks_numeric,
    needs_comment,
    tokens,
)
from bot.chat import menu
from bot.chat.context import Ctx
from bot.chat.tasks import own, role, role_name, who
from bot.infra import render
from bot.infra.i18n import _
from bot.infra.message import Button, Reply
from bot.notify import appeal_notices
from models import Indicator, IndicatorKind, Result, ScoreEntry, ScoringTask, TaskState
from models.db import adopt, flushed, write_now

WEIGHTED = (IndicatorKind.SCORE, IndicatorKind.RATING)
OPTIONAL = (IndicatorKind.BONUS, IndicatorKind.DEDUCTION)


def _inds(task: ScoringTask) -> list[Indicator]:
    # Only what this task's role scores: no metric indicator, only its sections'.
    return indicators_for(task.period.scheme, task.role_code)


def _entries(task: ScoringTask) -> dict[int, ScoreEntry]:
    return {e.indicator_id: e for e in task.entries}


def _unfinished(ind: Indicator, entry: ScoreEntry | None) -> bool:
    """Not answered yet, or answered without the comment the scheme requires."""
    return entry is None or (needs_comment(ind, entry.value) and not entry.comment)


def _step(ctx: Ctx, task: ScoringTask, ind: Indicator) -> dict[str, Any]:
    """What is asked about `ind`: its value, or the comment for a value already given."""
    step = ctx.state.get("step")
    if isinstance(step, dict) and step.get("task") == task.id and step.get("ind") == ind.id:
        return step
    entry = _entries(task).get(ind.id)
    if entry is not None and _unfinished(ind, entry):
        return {"task": task.id, "ind": ind.id, "ask": "comment", "value": str(entry.value)}
    return {"task": task.id, "ind": ind.id, "ask": "value"}


def _head(task: ScoringTask) -> str:
    """Whom, in which role (a head may also be the direct manager), for which period."""
    return f"{who(task)} · {role_name(task)} · {task.period.label}"


# Words understood inside a form, in either language, so "菜单" or "skip" typed on a
# phone does what its button does instead of being read as a score.
WORDS = {
    "menu": ("菜单", "主菜单", "menu"),
    "leave": (
        "保存并离开",
        "离开",
        "退出",
        "保存",
        "取消",
        "leave",
        "exit",
        "quit",
        "save",
        "cancel",
    ),
    "skip": ("跳过", "skip"),
    "back": ("上一步", "返回", "back", "previous"),
    "keep": ("保持", "不变", "keep"),
    "confirm": ("确认", "确认提交", "提交", "confirm", "submit"),
    "edit": ("修改", "edit"),
}


def _word(text: str) -> str | None:
    said = text.strip().strip("。.!！").lower()
    return next((name for name, words in WORDS.items() if said in words), None)


def _entry_like(inds: list[Indicator], tok: str) -> bool:
    return looks_numeric(tok) or any(level_label(i, tok) for i in inds)


def _score_like(inds: list[Indicator], text: str) -> bool:
    """Whether text reads as a line of scores (mostly numbers or rating levels), not as
    a sentence that happens to hold a number ("55 迟到 3 次")."""
    toks = tokens(text)
    n = sum(_entry_like(inds, t) for t in toks)
    return len(toks) >= 2 and (
        all(_entry_like(inds, t) for t in toks[:2]) or (n >= 2 and 2 * n > len(toks))
    )


def example(task: ScoringTask) -> str:
    """A quick-entry line this form accepts: one typical answer per weighted indicator,
    a level's name for a rating, a value needing no comment for a score."""
    parts = []
    for ind in _inds(task):
        if ind.kind not in WEIGHTED:
            continue
        if ind.kind == IndicatorKind.RATING and ind.levels:
            parts.append(str(ind.levels[min(1, len(ind.levels) - 1)][0]))
            continue
        picks = [v for _label, v in choices(ind)]
        fine = [v for v in picks if not needs_comment(ind, Decimal(v))]
        parts.append((fine or picks)[min(1, len(fine or picks) - 1)])
    return " ".join(parts)


def open_task(ctx: Ctx, task_id: int) -> Reply:
    """Open a task where it stopped: the next indicator, or its summary when complete."""
    task = own(ctx, task_id)
    if ctx.state.get("form") != task.id:
        ctx.update(form=task.id, review=None)
    if task.state == TaskState.SUBMITTED or task.cursor >= len(_inds(task)):
        return summary(ctx, task)
    return ask(ctx, task)


def ask(ctx: Ctx, task: ScoringTask, error: str = "") -> Reply:
    """Show the indicator at the cursor: its value or its comment; waits for an answer."""
    inds = _inds(task)
    if task.cursor >= len(inds):
        return summary(ctx, task, error)
    ind = inds[task.cursor]
    step = _step(ctx, task, ind)
    lines = [f"⚠️ {error}", ""] if error else []
    lines.append(
        _("{head} · item {n}/{total}").format(head=_head(task), n=task.cursor + 1, total=len(inds))
    )
    if ind.kind in WEIGHTED:
        lines.append(_("【{name}】 weight {weight}").format(name=ind.name, weight=ind.weight))
    elif ind.kind == IndicatorKind.BONUS:
        lines.append(_("【{name}】 bonus item, optional").format(name=ind.name))
    else:
        lines.append(_("【{name}】 deduction item, optional").format(name=ind.name))
    if ind.criteria:
        lines.append(_("Criteria: {text}").format(text=ind.criteria))
    ref = f"{task.id}:{ind.id}"
    rows: list[list[Button]] = []
    if step["ask"] == "comment":
        lines.append(
            _("You gave {value}. {rule}").format(
                value=render.score(step["value"]), rule=comment_rule(ind)
            )
        )
        lines.append(
            _("Type the comment (plain text, up to {limit} characters).").format(limit=COMMENT_MAX)
        )
        lines.append(_("Typing just a number changes the score instead."))
        rows.append([ctx.button(_("‹ Back"), f"back:{ref}")])
    else:
        lines.append(_("Allowed: {range}").format(range=allowed(ind)))
        entry = _entries(task).get(ind.id)
        if entry is not None:
            lines.append(_("Current answer: {value}").format(value=values.shown(ind, entry.value)))
            if entry.comment:
                lines.append(_("Comment: {text}").format(text=entry.comment))
        if task.cursor == 0 and entry is None:
            lines.append(
                _("Tip: type every score in one line, such as {example}.").format(
                    example=example(task)
                )
            )
        buttons = [ctx.button(label, f"v:{ref}:{value}") for label, value in choices(ind)]
        rows.extend(buttons[k : k + 4] for k in range(0, len(buttons), 4))
        nav = [ctx.button(_("‹ Back"), f"back:{ref}")] if task.cursor else []
        if entry is not None and not _unfinished(ind, entry):
            nav.append(
                ctx.button(_("Keep {value}").format(value=render.score(entry.value)), f"keep:{ref}")
            )
        elif ind.kind in OPTIONAL:
            nav.append(ctx.button(_("Skip"), f"skip:{ref}"))
        if nav:
            rows.append(nav)
    rows.append([ctx.button(_("Save and leave"), f"leave:{task.id}")])
    return Reply("\n".join(lines), rows, ctx.tapped)


def write_answer(
    ctx: Ctx, task: ScoringTask, ind: Indicator, value: Decimal, comment: str | None
) -> tuple[str, str] | None:
    """Store one answer; after submission every change is audited and returned (the
    value before and after, as shown), so the scorer is told what changed."""
    old = _entries(task).get(ind.id)
    before = None if old is None else {"value": str(old.value), "comment": old.comment}
    if (
        task.state == TaskState.SUBMITTED
        and before is not None
        and before["value"] == str(value)
        and comment in (None, before["comment"])
    ):
        # The same answer again changes nothing: rewriting who and when would change a
        # sealed entry without an event to vouch for it (bot/appraisal/audit.py).
        task.updated_at = ctx.now
        return None
    entry = _store(ctx, task, ind, value, comment)
    after = {"value": str(entry.value), "comment": entry.comment}
    changed = None
    # After submission, and on a task reopened by an appeal, every change is audited.
    if (task.state == TaskState.SUBMITTED or task.appeal_id is not None) and before != after:
        if task.state == TaskState.SUBMITTED:
            changed = (render.score(before["value"]) if before else "—", render.score(entry.value))
        ctx.session.flush()
        record(
            ctx.session,
            ctx.now,
            "score.edit",
            "score_entry",
            entry.id,
            actor_id=ctx.employee.id,
            before=before,
            after={**after, "indicator": ind.code, "task": task.id},
        )
    if task.state == TaskState.PENDING:
        task.state = TaskState.DRAFT
    task.updated_at = ctx.now
    return changed


def _store(
    ctx: Ctx, task: ScoringTask, ind: Indicator, value: Decimal, comment: str | None
) -> ScoreEntry:
    """Insert or update the task's entry for `ind` in one statement. Two first answers
    racing in two requests (a double send, two tabs) would both insert, and the loser's
    unique-key error became an HTTP 500: with an upsert each request stores its answer
    and reads back what is stored, on SQLite and PostgreSQL alike."""
    # RETURNING hands back the row as stored (inserted or updated) in the same round trip;
    # run by Core, as the ORM's upsert path costs more than the statement itself.
    row = (
        flushed(ctx.session)
        .execute(
            _upsert(comment is not None),
            {
                "p_task": task.id,
                "p_ind": ind.id,
                "p_value": value,
                "p_comment": comment or "",
                "p_by": ctx.employee.id,
                "p_at": ctx.now,
            },
        )
        .one()
    )
    current = list(task.entries)  # read now if this session has not yet
    entry = adopt(ctx.session, ScoreEntry, row._asdict())
    # The task's answers, with this one as stored, without reading them all again.
    others = [e for e in current if e.indicator_id != ind.id]
    set_committed_value(task, "entries", [*others, entry])
    return entry


@cache
def _upsert(with_comment: bool) -> TextualSelect:
    """The upsert of one answer. Written out, because SQLAlchemy cannot cache the
    compiled form of its ON CONFLICT construct and compiled it again on every answer;
    this text is the same on SQLite and PostgreSQL."""
    col = ScoreEntry.__table__.c
    changes = ["value", "entered_by", "entered_at", *(["comment"] if with_comment else [])]
    names = [c.key for c in col]
    return (
        text(
            "INSERT INTO score_entries (task_id, indicator_id, value, comment, entered_by, "
            "entered_at) VALUES (:p_task, :p_ind, :p_value, :p_comment, :p_by, :p_at) "
            "ON CONFLICT (task_id, indicator_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in changes)
            + " RETURNING "
            + ", ".join(names)
        )
        .bindparams(
            bindparam("p_task", type_=col.task_id.type),
            bindparam("p_ind", type_=col.indicator_id.type),
            bindparam("p_value", type_=col.value.type),
            bindparam("p_comment", type_=col.comment.type),
            bindparam("p_by", type_=col.entered_by.type),
            bindparam("p_at", type_=col.entered_at.type),
        )
        .columns(*col)
    )


def changed_note(task: ScoringTask, changes: list[tuple[Indicator, tuple[str, str]]]) -> str:
    """What an edit changed in a submitted scoring, that it stays submitted, and the new
    total from this scorer's answers."""
    if not changes:
        return ""
    what = _(", ").join(
        _("{name} {old} → {new}").format(name=ind.name, old=old, new=new)
        if old != new
        else _("{name} comment").format(name=ind.name)
        for ind, (old, new) in changes
    )
    return _(
        "Changed in the submitted scoring of {name}: {what}. It stays submitted. {preview}"
    ).format(name=task.appraisee.name, what=what, preview=_preview(task))


def _advance(ctx: Ctx, task: ScoringTask, note: str = "") -> Reply:
    """Move to the next indicator still to answer (every one when reviewing)."""
    inds = _inds(task)
    entries = _entries(task)
    nxt = task.cursor + 1
    if not ctx.state.get("review"):
        nxt = next(
            (k for k in range(nxt, len(inds)) if _unfinished(inds[k], entries.get(inds[k].id))),
            len(inds),
        )
    task.cursor = nxt
    write_now(ctx.session, task)  # with the answer's state and time: one UPDATE
    ctx.update(step=None)
    reply = ask(ctx, task)
    if note:
        reply.text = f"{note}\n\n{reply.text}"
    return reply


def _current(ctx: Ctx, task_id: int, ind_id: int) -> tuple[ScoringTask, Indicator] | Reply:
    """The open task and the indicator at its cursor, if the button is for that step."""
    task = own(ctx, task_id)
    inds = _inds(task)
    if (
        ctx.state.get("form") != task.id
        or task.cursor >= len(inds)
        or inds[task.cursor].id != ind_id
    ):
        ctx.update(form=task.id)
        return ask(ctx, task, _("That button was for an earlier step; here is where you are."))
    return task, inds[task.cursor]


def answer(
    ctx: Ctx, ind: Indicator, task: ScoringTask, text: str, comment: str | None, note: str = ""
) -> Reply:
    """Take a value (and maybe its comment) for the indicator at the cursor."""
    try:
        value = check(ind, text)
        if comment is not None:
            comment = check_comment(comment)
    except BadValue as exc:
        return ask(ctx, task, str(exc))
    if needs_comment(ind, value) and not comment:
        ctx.update(step={"task": task.id, "ind": ind.id, "ask": "comment", "value": str(value)})
        reply = ask(ctx, task)
        if note:
            reply.text = f"{note}\n\n{reply.text}"
        return reply
    changed = write_answer(ctx, task, ind, value, comment if comment is not None else "")
    edited = changed_note(task, [(ind, changed)] if changed else [])
    return _advance(ctx, task, "\n".join(x for x in (note, edited) if x))


def typed(ctx: Ctx, text: str) -> Reply:
    """Text while a form is open: a command word (菜单, 跳过, 上一步 ...), a comment, one
    value (maybe with a comment), or a line of values for quick entry."""
    task = own(ctx, int(ctx.state["form"]))
    inds = _inds(task)
    word = _word(text)
    if word == "menu":
        return menu.show(ctx, _("Your answers are saved; the form resumes here next time."))
    if word == "leave":
        return leave(ctx, task.id)
    if task.state == TaskState.SUBMITTED and not ctx.state.get("review"):
        if word == "edit":
            return edit(ctx, task.id)
        return summary(ctx, task, _("This form is submitted: tap Edit to change it."))
    line = tokens(text) if _score_like(inds, text) else None
    if task.cursor >= len(inds):
        if word == "confirm":
            return confirm(ctx, task.id)
        if word == "edit":
            return edit(ctx, task.id)
        if word == "back":
            task.cursor = len(inds) - 1
            ctx.update(step=None)
            return ask(ctx, task)
        if line is not None:
            return quick(ctx, task, line)
        return summary(ctx, task, _("Tap Confirm to submit, or Edit to change a score."))
    ind = inds[task.cursor]
    step = _step(ctx, task, ind)
    if word in ("skip", "back", "keep"):
        steps = {"skip": skip, "back": back, "keep": keep}
        return steps[word](ctx, task.id, ind.id)
    if word in ("confirm", "edit"):
        return ask(ctx, task, _("Answer this item first, or type “menu” to leave the form."))
    if step["ask"] == "comment":
        if looks_numeric(text):
            # A number at the comment prompt is a corrected score (typed on a phone
            # right after a slip), never a comment of digits.
            note = _("Score changed from {old} to {new}.").format(
                old=render.score(step["value"]), new=render.short(text.strip())
            )
            ctx.update(step=None)
            return answer(ctx, ind, task, text, None, note)
        if line is not None:
            ctx.update(step=None)
            return quick(ctx, task, line)
        try:
            comment = check_comment(text)
        except BadValue as exc:
            return ask(ctx, task, str(exc))
        changed = write_answer(ctx, task, ind, Decimal(step["value"]), comment)
        return _advance(ctx, task, changed_note(task, [(ind, changed)] if changed else []))
    if line is not None:
        return quick(ctx, task, line)
    split = re.match(r"\s*(\S+)\s+(.+)", text, re.DOTALL)
    if split and looks_numeric(split.group(1)):
        return answer(ctx, ind, task, split.group(1), split.group(2))
    if text.strip() and not looks_numeric(text) and not level_label(ind, text):
        try:
            check(ind, text)
        except BadValue as exc:
            hint = _("To leave the form, type “menu”; your answers are kept.")
            return ask(ctx, task, f"{exc} {hint}")
    return answer(ctx, ind, task, text, None)


def quick(ctx: Ctx, task: ScoringTask, toks: list[str]) -> Reply:
    """Fill every weighted indicator in order from one line, or name each problem and save
    nothing.

    A line carries no comments. An earlier comment is kept only where the score stays
    the same and the comment is a sentence: a comment on a changed score explained the
    old one, and one that reads as a line of scores was a mistyped quick entry. The
    reply names the comments removed."""
    inds = _inds(task)
    weighted = [i for i in inds if i.kind in WEIGHTED]
    entries = _entries(task)
    problems = []
    if len(toks) != len(weighted):
        problems.append(
            _("You typed {count} answers; this form has {expected}: {names}.").format(
                count=len(toks), expected=len(weighted), names=", ".join(i.name for i in weighted)
            )
        )
    values: list[tuple[Indicator, Decimal, str | None]] = []
    for n, (ind, tok) in enumerate(zip(weighted, toks, strict=False), start=1):
        try:
            value = check(ind, tok)
        except BadValue as exc:
            problems.append(f"{n}. {ind.name}: {exc}")
            continue
        entry = entries.get(ind.id)
        kept = (
            entry.comment
            if entry
            and entry.comment
            and entry.value == value
            and not _score_like(inds, entry.comment)
            else ""
        )
        values.append((ind, value, None if entry is None or kept == entry.comment else kept))
        if task.state == TaskState.SUBMITTED and needs_comment(ind, value) and not kept:
            problems.append(
                _("{n}. {name}: {value} needs a comment; enter this score on its own.").format(
                    n=n, name=ind.name, value=render.score(value)
                )
            )
    if problems:
        error = _("Nothing was saved:") + "\n" + "\n".join(problems)
        return ask(ctx, task, error) if task.cursor < len(inds) else summary(ctx, task, error)
    changes = []
    for ind, value, comment in values:
        if changed := write_answer(ctx, task, ind, value, comment):
            changes.append((ind, changed))
    dropped = [ind.name for ind, _value, comment in values if comment == ""]
    entries = _entries(task)
    task.cursor = next(
        (k for k, i in enumerate(inds) if _unfinished(i, entries.get(i.id))), len(inds)
    )
    ctx.update(step=None, review=None)
    reply = ask(ctx, task)
    notes = [_("Saved {count} scores.").format(count=len(values))]
    if dropped:
        notes.append(
            _(
                "Earlier comments removed (the line changed them or they were scores): {names}."
            ).format(names=_(", ").join(dropped))
        )
    if note := changed_note(task, changes):
        notes.append(note)
    reply.text = "\n".join(notes) + "\n\n" + reply.text
    return reply


def value_button(ctx: Ctx, task_id: int, ind_id: int, value: str) -> Reply:
    found = _current(ctx, task_id, ind_id)
    if isinstance(found, Reply):
        return found
    task, ind = found
    if _step(ctx, task, ind)["ask"] == "comment":
        return ask(ctx, task, _("Please type the comment first, or tap Back."))
    return answer(ctx, ind, task, value, None)


def back(ctx: Ctx, task_id: int, ind_id: int) -> Reply:
    """Go back one indicator (from a comment: back to its value)."""
    task = own(ctx, task_id)
    inds = _inds(task)
    if task.cursor < len(inds) and inds[task.cursor].id == ind_id:
        ind = inds[task.cursor]
        if _step(ctx, task, ind)["ask"] == "comment":
            ctx.update(form=task.id, step={"task": task.id, "ind": ind.id, "ask": "value"})
            return ask(ctx, task)
    elif task.cursor < len(inds):
        ctx.update(form=task.id)
        return ask(ctx, task, _("That button was for an earlier step; here is where you are."))
    task.cursor = max(0, min(task.cursor, len(inds)) - 1)
    ctx.update(form=task.id, step=None)
    return ask(ctx, task)


def keep(ctx: Ctx, task_id: int, ind_id: int) -> Reply:
    found = _current(ctx, task_id, ind_id)
    if isinstance(found, Reply):
        return found
    task, ind = found
    if _unfinished(ind, _entries(task).get(ind.id)):
        return ask(ctx, task, _("There is no complete answer to keep yet."))
    return _advance(ctx, task)


def skip(ctx: Ctx, task_id: int, ind_id: int) -> Reply:
    """Leave an optional bonus or deduction item empty (it counts 0)."""
    found = _current(ctx, task_id, ind_id)
    if isinstance(found, Reply):
        return found
    task, ind = found
    if ind.kind not in OPTIONAL:
        return ask(ctx, task, _("This indicator needs a score; it cannot be skipped."))
    return _advance(ctx, task)


def leave(ctx: Ctx, task_id: int) -> Reply:
    """Save the draft and leave the form; it resumes here next time."""
    task = own(ctx, task_id)
    ctx.update(form=None, review=None)
    answered = len(task.entries)
    return Reply(
        _("Saved. {name}: {answered} of {total} answered; the form resumes here next time.").format(
            name=task.appraisee.name, answered=answered, total=len(_inds(task))
        ),
        [[ctx.button(_("People to score"), "list:0"), ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )


def edit(ctx: Ctx, task_id: int) -> Reply:
    """Walk every indicator again from the first, showing the current answers."""
    task = own(ctx, task_id)
    task.cursor = 0
    ctx.update(form=task.id, review=True, step=None)
    return ask(ctx, task)


def _preview(task: ScoringTask) -> str:
    """Total and grade from this scorer's answers alone, by the pay engine; for a role
    whose weight is 0 (a self-assessment) no total or grade: none would be the result.
    In a scheme with sections, this scorer's points in each section they score."""
    spec = SchemeSpec.of(task.period.scheme)
    if spec.sections:
        return _by_section(task, spec)
    scorer_role = role(task)
    if scorer_role is not None and scorer_role.weight <= 0:
        return _(
            "As {role} (weight 0) these scores are kept for reference and do not count "
            "toward the result, so no total or grade is shown."
        ).format(role=scorer_role.name)
    if any(not i.scored for i in spec.indicators):
        return _later()
    spec = dataclasses.replace(spec, roles=(RoleSpec(task.role_code, "", Decimal(1)),))
    marks = [Mark(task.role_code, e.indicator_id, e.value, e.comment) for e in task.entries]
    try:
        out = compute(spec, marks, Decimal(0))
    except Incomplete:
        return _("Total and grade appear when every scored indicator has an answer.")
    grade = out.trace["grade"]
    return _("Total from your scores: {total}, grade {grade}.").format(
        total=render.points(out.total, spec.score_places),
        grade=render.grade(grade["grade"], grade["label"]),
    )


def _later() -> str:
    # This scorer's marks are only part of the total: business data or other sections'
    # scorers make up the rest.
    return _(
        "The total also counts indicators scored from business data or by others: "
        "it is shown once results are computed."
    )


def _by_section(task: ScoringTask, spec: SchemeSpec) -> str:
    """What a scorer can honestly see of a layered scheme: for each section they score,
    their own marks' points out of the section's weight in the total, by the pay engine
    (as if they were the section's only scorer); no total, which needs the others."""
    lines = [_("Your points by section, out of each section's weight in the total:")]
    alone = (RoleSpec(task.role_code, "", Decimal(1)),)
    entered = {e.indicator_id: e.value for e in task.entries}
    for section in spec.sections:
        mine = next((r for r in section.roles if r.code == task.role_code), None)
        if mine is None:
            continue
        if mine.weight <= 0:
            lines.append(
                "· "
                + _("{section}: not counted (your weight in this section is 0)").format(
                    section=section.name
                )
            )
            continue
        inds = tuple(i for i in spec.indicators if i.section == section.code and i.scored)
        part = dataclasses.replace(
            spec,
            indicators=inds,
            roles=alone,
            sections=(dataclasses.replace(section, roles=alone),),
        )
        marks = [Mark(task.role_code, i.id, entered[i.id]) for i in inds if i.id in entered]
        weight = render.score(section.weight)
        try:
            out = compute(part, marks, Decimal(0))
        except Incomplete:
            lines.append(
                "· "
                + _("{section}: — of {weight}, once each of its indicators has an answer").format(
                    section=section.name, weight=weight
                )
            )
            continue
        points = render.points(out.trace["sections"][0]["points"], spec.score_places)
        lines.append(
            "· "
            + _("{section}: {points} of {weight}").format(
                section=section.name, points=points, weight=weight
            )
        )
    lines.append(_later())
    return "\n".join(lines)


def _spread(ctx: Ctx, task: ScoringTask) -> str:
    """The scorer's range so far beside their institution's, before they submit: a second
    look at "everyone the same" before, not after."""
    spec = SchemeSpec.of(task.period.scheme)
    current = scorers.task_total(spec, [(e.indicator_id, e.value) for e in task.entries])
    found = scorers.beside(ctx.session, task.period, ctx.employee, task.id, current)
    return scorers.beside_line(found)


def _entered_by_hr(ctx: Ctx, task: ScoringTask) -> str:
    """Says so when HR entered this task's scores on the scorer's behalf (an import)."""
    at = behalf.entered_at(ctx.session, [task.id]).get(task.id)
    if at is None:
        return ""
    shown = render.when(at, ctx.tz)
    if task.updated_at is not None and task.updated_at > at:
        return _(
            "HR entered these scores on your behalf on {when}; you changed them since."
        ).format(when=shown)
    return _("HR entered these scores on your behalf on {when}.").format(when=shown)


def summary(ctx: Ctx, task: ScoringTask, error: str = "") -> Reply:
    """Every answer, the computed total and grade; asks to Confirm (or offers Edit)."""
    entries = _entries(task)
    lines = [f"⚠️ {error}", ""] if error else []
    lines.append(_("{head} · summary").format(head=_head(task)))
    for n, ind in enumerate(_inds(task), start=1):
        entry = entries.get(ind.id)
        shown = values.shown(ind, entry.value) if entry else "—"
        if entry and ind.kind in OPTIONAL and values.points(ind, entry.value) > ind.max_score:
            shown = _("{value}, counts at most {cap}").format(
                value=shown, cap=render.score(ind.max_score)
            )
        lines.append(f"{n}. {ind.name}: {shown}")
        if entry and entry.comment:
            lines.append("   " + _("Comment: {text}").format(text=entry.comment))
    lines.append(_preview(task))
    if task.state != TaskState.SUBMITTED and (spread := _spread(ctx, task)):
        lines.append(spread)
    ctx.update(review=None, step=None)
    if task.state == TaskState.SUBMITTED:
        assert task.submitted_at is not None
        if line := _entered_by_hr(ctx, task):
            lines.append(line)
        lines.append(
            _("Submitted {when}. You can edit until scoring closes.").format(
                when=render.when(task.submitted_at, ctx.tz)
            )
        )
        rows = [
            [ctx.button(_("Edit"), f"edit:{task.id}"), ctx.button(_("Next person"), "next")],
            [ctx.button(_("People to score"), "list:0")],
        ]
    else:
        rows = [
            [ctx.button(_("Confirm"), f"ok:{task.id}"), ctx.button(_("Edit"), f"edit:{task.id}")],
            [ctx.button(_("Save and leave"), f"leave:{task.id}")],
        ]
    return Reply("\n".join(lines), rows, ctx.tapped)


_TASKS = cast(Table, ScoringTask.__table__)
_SUBMIT = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("p_task"), _TASKS.c.state != TaskState.SUBMITTED)
    .values(
        state=TaskState.SUBMITTED,
        submitted_at=bindparam("p_now", type_=_TASKS.c.submitted_at.type),
        updated_at=bindparam("p_now_", type_=_TASKS.c.updated_at.type),
    )
    .returning(_TASKS.c.state, _TASKS.c.submitted_at, _TASKS.c.updated_at)
)


def confirm(ctx: Ctx, task_id: int) -> Reply:
    """Submit once: a second tap (or a replayed one) finds it submitted already."""
    task = own(ctx, task_id)
    next_rows = [[ctx.button(_("Next person"), "next"), ctx.button(_("People to score"), "list:0")]]
    if task.state == TaskState.SUBMITTED:
        return Reply(
            _("{name} is already submitted.").format(name=task.appraisee.name),
            next_rows,
            ctx.tapped,
        )
    inds = _inds(task)
    entries = _entries(task)
    gap = next(
        (
            k
            for k, ind in enumerate(inds)
            if (ind.kind in WEIGHTED and ind.id not in entries)
            or (ind.id in entries and _unfinished(ind, entries[ind.id]))
        ),
        None,
    )
    if gap is not None:
        task.cursor = gap
        ctx.update(form=task.id, step=None)
        return ask(ctx, task, _("Not submitted: this indicator still needs an answer."))
    # A guarded update, so two taps racing in two requests still submit once; by Core,
    # giving back what it wrote (RETURNING), as the ORM's bulk update path costs more.
    done = (
        flushed(ctx.session)
        .execute(_SUBMIT, {"p_task": task.id, "p_now": ctx.now, "p_now_": ctx.now})
        .one_or_none()
    )
    if done is None:
        ctx.session.refresh(task, ["state", "submitted_at", "updated_at"])
    else:
        for name, stored in done._asdict().items():
            set_committed_value(task, name, stored)
    if not done:
        return Reply(
            _("{name} is already submitted.").format(name=task.appraisee.name),
            next_rows,
            ctx.tapped,
        )
    record(
        ctx.session,
        ctx.now,
        "task.submit",
        "scoring_task",
        task.id,
        actor_id=ctx.employee.id,
        after={i.code: str(entries[i.id].value) for i in inds if i.id in entries},
    )
    ctx.update(form=None, review=None, step=None)
    revised = appeals.finish_revision(ctx.session, ctx.now, task)
    if revised is not None:
        result_id = ctx.session.scalar(
            select(Result.id).where(
                Result.period_id == revised.period_id, Result.employee_id == revised.employee_id
            )
        )
        appeal_notices.decided(ctx.session, ctx.now, revised, result_id or 0)
    return Reply(
        _("Submitted: {name}. {preview}").format(name=task.appraisee.name, preview=_preview(task)),
        [*next_rows, [ctx.button(_("Menu"), "menu")]],
        ctx.tapped,
    )
