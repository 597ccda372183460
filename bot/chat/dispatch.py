"""The one entry point of the conversation: `handle(session, incoming, now)`.

It loads who is speaking and where their conversation stands, answers in their language,
and routes commands, buttons and free questions to the step modules. The caller owns the
transaction and commits after.

    with Session() as s, s.begin():
        replies = handle(s, Incoming("web", "u1", "u1", text="/start K7Q2M9XD"), now)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.chat import (
    appeal,
    binding,
    calibrate,
    codes,
    explain,
    form,
    heads,
    intents,
    language,
    legacy,
    menu,
    myscore,
    spread,
    status,
    tasks,
    whatif,
)
from bot.chat.context import Ctx, chat_state, unsign
from bot.chat.intents import Intent
from bot.infra import i18n
from bot.infra.i18n import _
from bot.infra.message import Incoming, Kind, Reply
from bot.notify.nudge import nudge_answer, remind_overdue
from models import SeenUpdate
from models.db import write_now

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
TEXT_MAX = 1000  # outside a form; comments have their own limit


def handle(session: Session, incoming: Incoming, now: dt.datetime) -> list[Reply]:
    """Everything the bot shows in answer to one message or tap."""
    return converse(session, incoming, now, _route)


def handle_once(
    sessions: sessionmaker[Session],
    platform: str,
    key: str,
    incoming: Incoming | None,
    now: dt.datetime,
) -> list[Reply] | None:
    """`handle` in its own transaction, once per delivery `key` (platforms redeliver):
    None if `key` was handled before, [] for an update with nothing to answer.

    The key is recorded in the same transaction: handled and remembered, or neither.
    Two first messages from a new chat can race to create its conversation row; the
    loser's transaction is rolled back whole and run again, when it finds the winner's.
    """
    for attempt in (1, 2):
        try:
            with sessions() as s, s.begin():
                seen = s.scalar(
                    select(SeenUpdate.id).where(
                        SeenUpdate.platform == platform, SeenUpdate.key == key
                    )
                )
                if seen is not None:
                    return None
                s.add(SeenUpdate(platform=platform, key=key, at=now))
                return [] if incoming is None else handle(s, incoming, now)
        except IntegrityError:
            if attempt == 2:
                raise
    return None


T = TypeVar("T")


def converse(
    session: Session, incoming: Incoming, now: dt.datetime, step: Callable[[Ctx], T]
) -> T | list[Reply]:
    """Run one step for whoever is speaking, in their language, with their stored state;
    a refused step answers politely instead. Platforms with their own forms (Slack's
    modals) call this with their own step."""
    chat = chat_state(session, incoming.platform, incoming.user_id, now, lock=True)
    ctx = Ctx(session, incoming, now, chat, None)
    employee = tasks.speaker_and_form(ctx)
    if employee is not None and employee.active:
        ctx.me = employee
    with i18n.using(language.of(ctx)):
        replies: T | list[Reply]
        try:
            replies = step(ctx)
        except tasks.Denied as exc:
            ctx.update(form=None, review=None, step=None)
            replies = [exc.reply]
    # Where the conversation now stands, by one cached UPDATE rather than the flush.
    write_now(session, chat)
    return replies


def _privately() -> Reply:
    return Reply(
        _(
            "I'll reply privately: scores and pay are shown only in a private chat. "
            "Open a private chat with me and ask there."
        )
    )


def _route(ctx: Ctx) -> list[Reply]:
    """The answer, after the welcome still owed to a chat bound by email."""
    return [*binding.take_welcome(ctx), *_answer(ctx)]


def _answer(ctx: Ctx) -> list[Reply]:
    incoming = ctx.incoming
    if incoming.kind == Kind.BUTTON:
        body = unsign(ctx.chat.secret, incoming.payload)
        if body is None:
            return [ctx.refuse("button not issued to this chat", "button")]
        if ctx.me is None and not body.startswith("lang"):
            return [binding.how_to_bind(incoming.platform)]
        if ctx.me is not None and not incoming.private and not body.startswith("lang"):
            return [_privately()]
        return [_button(ctx, body)]
    if incoming.kind != Kind.TEXT:
        return [_unreadable(ctx)]
    text = incoming.text.strip()
    found = _COMMAND.match(text)
    command, arg = (found.group(1).lower(), (found.group(2) or "").strip()) if found else ("", "")
    if command == "lang":
        code = language.wanted(arg)
        if code is None:
            return [language.choose(ctx)]
        return [_switched(ctx, code)]
    # A code typed bare or a pasted deep link binds too (Slack cannot send "/start"). Once
    # bound, only a pasted link counts: it answers as tapping the link again would.
    code = None
    if not command:
        code = codes.code_in(text) if ctx.me is None else codes.linked_code(text)
    if (command == "start" and arg) or code:
        if not incoming.private:
            return [_privately()]
        bound = binding.bind(ctx, code or arg)
        if isinstance(bound, Reply):
            return [bound]
        ctx.me = bound
        i18n.set_language(language.of(ctx))
        return [menu.show(ctx, binding.welcome(bound))]
    if ctx.me is None:
        return [binding.how_to_bind(incoming.platform)]
    if not incoming.private:
        return [_privately()]
    if command:
        return [_command_reply(ctx, command)]
    if ctx.state.get("form"):
        return [form.typed(ctx, incoming.text)]
    if "appeal" in ctx.state or "answer" in ctx.state or "keep" in ctx.state:
        # An appeal's reason may be long (bot.appraisal.appeals.REASON_MAX), so before TEXT_MAX.
        return [appeal.typed(ctx, incoming.text)]
    if ctx.state.get("calibrating"):
        return [calibrate.reason(ctx, text)]
    if ctx.state.get("whatif") and (value := whatif.typed(ctx, text)) is not None:
        return [value]
    if not text:
        return [menu.show(ctx)]
    if len(text) > TEXT_MAX:
        return [menu.show(ctx, _("That message is too long for me; please ask in a sentence."))]
    return [_question(ctx, text)]


def _unreadable(ctx: Ctx) -> Reply:
    """A sticker, photo or voice note: say so, and stay where the form was."""
    note = _("I can read only text and buttons here.")
    if ctx.me is None:
        reply = binding.how_to_bind(ctx.incoming.platform)
        reply.text = f"{note}\n\n{reply.text}"
        return reply
    if ctx.state.get("form") and ctx.incoming.private:
        return form.ask(ctx, tasks.own(ctx, int(ctx.state["form"])), note)
    return menu.show(ctx, note) if ctx.incoming.private else _privately()


def _command_reply(ctx: Ctx, command: str) -> Reply:
    steps: dict[str, Callable[[Ctx], Reply]] = {
        "score": tasks.show_list,
        "myscore": myscore.show,
        "why": explain.show,
        "history": myscore.history,
        "progress": heads.progress,
        "ranking": heads.ranking,
        "status": status.hr_status,
        "quotas": calibrate.show,
        "scorers": spread.show,
    }
    ctx.update(form=None, review=None, appeal=None, answer=None, calibrating=None, whatif=None)
    step = steps.get(command)
    if step is None:
        return menu.show(ctx)
    return step(ctx)


def _question(ctx: Ctx, text: str) -> Reply:
    """A free question: recognised phrasings, or the menu."""
    intent = intents.classify(ctx.session, ctx.employee, text)
    if intent == Intent.WHAT_IF:
        return whatif.question(ctx, text)
    if intent is None:
        return menu.show(ctx, _("Sorry, I did not understand. Here is what I can do:"))
    steps: dict[Intent, Callable[[Ctx], Reply]] = {
        Intent.WHY: explain.show,
        Intent.WHY_OTHER: explain.someone_else,
        Intent.MY_SCORE: myscore.show,
        Intent.HISTORY: myscore.history,
        Intent.TASKS: tasks.show_list,
        Intent.LANGUAGE: language.choose,
        Intent.MENU: menu.show,
        Intent.PROGRESS: heads.progress_question,
        Intent.RANKING: heads.ranking,
        Intent.REMIND: heads.remind,
        Intent.PAY_SHEET: status.pay_sheet_question,
        Intent.LEGACY: legacy.show,
        Intent.SPREAD: spread.show,
    }
    return steps[intent](ctx)


def _button(ctx: Ctx, body: str) -> Reply:
    """A tap: the body names a step and the records it points to; each step re-checks."""
    name, *args = body.split(":")
    ctx.update(calibrating=None)
    if name not in (whatif.START, whatif.VALUE):
        ctx.update(whatif=None)
    if name not in FORM_STEPS:
        ctx.update(form=None, review=None)
    if name != "ai":
        ctx.update(appeal=None, answer=None)
    if name == "lang":
        if not args:
            return language.choose(ctx)
        return _switched(ctx, args[0])
    try:
        ids = [int(a) for a in args[:2]]
    except ValueError:
        return ctx.refuse(f"malformed button {body[:40]}", "button")
    if name == "v" and len(args) == 3:
        return form.value_button(ctx, ids[0], ids[1], args[2])
    if name in ("back", "keep", "skip") and len(ids) == 2:
        return FORM_STEPS[name](ctx, *ids)
    if name in ("task", "leave", "ok", "edit") and len(ids) == 1:
        return FORM_STEPS[name](ctx, *ids)
    if name == "list":
        return tasks.show_list(ctx, ids[0] if ids else 0)
    if name == calibrate.PAYLOAD and len(args) == 4:
        try:
            at, version = int(args[2]), int(args[3])
        except ValueError:
            return ctx.refuse(f"malformed button {body[:40]}", "button")
        return calibrate.tapped(ctx, ids[0], ids[1], at, version)
    if name == whatif.VALUE and len(args) == 3:
        return whatif.value_button(ctx, ids[0], ids[1], args[2])
    if name == whatif.START and len(ids) == 1:
        return whatif.pick(ctx, ids[0])
    if name == whatif.START and len(ids) == 2:
        return whatif.ask_value(ctx, ids[0], ids[1])
    if name == "nudge" and len(ids) == 1:
        return _nudge(ctx, ids[0])
    if name == "ai" and len(ids) == 2:
        return appeal.start(ctx, ids[0], ids[1])
    one: dict[str, Callable[[Ctx, int], Reply]] = {
        "cf": appeal.confirm,
        "appeal": appeal.start,
        "wd": appeal.withdraw,
        "apst": appeal.status,
        "ap": appeal.view,
        "up": appeal.uphold_start,
        "rv": appeal.revise,
        "ko": appeal.keep_start,
    }
    if name in one and len(ids) == 1:
        return one[name](ctx, ids[0])
    if name in ("res", "why") and len(ids) <= 1:
        ref = ids[0] if ids else None
        return myscore.show(ctx, ref) if name == "res" else explain.show(ctx, ref)
    simple: dict[str, Callable[[Ctx], Reply]] = {
        "menu": menu.show,
        "my": myscore.show,
        "hist": myscore.history,
        "next": _next_person,
        "prog": heads.progress,
        "rank": heads.ranking,
        "hr": status.hr_status,
        "paysheet": status.pay_sheet,
        "aps": appeal.to_decide,
        "apx": appeal.cancel,
        "quo": calibrate.show,
        "legacy": legacy.show,
        "spread": spread.show,
    }
    if name in simple and not args:
        return simple[name](ctx)
    return ctx.refuse(f"unknown button {body[:40]}", "button")


def _nudge(ctx: Ctx, institution_id: int) -> Reply:
    """The digest's one tap: remind every overdue scorer, at most once a day each."""
    nudged = remind_overdue(ctx.session, ctx.now, ctx.employee, institution_id)
    if nudged is None:
        return ctx.refuse(
            "nudge for an institution the speaker does not head", "institution", institution_id
        )
    return Reply(nudge_answer(nudged))


def _switched(ctx: Ctx, code: str) -> Reply:
    """Switch the language; say so in the new one, with the menu for a bound person."""
    note = language.switch(ctx, code)
    return menu.show(ctx, note) if ctx.me else Reply(note)


def _next_person(ctx: Ctx) -> Reply:
    """Open the first task not yet submitted, or say everyone is done."""
    task_id = tasks.next_task(ctx)
    if task_id is None:
        todo = tasks.left(ctx)
        return menu.show(
            ctx,
            _("Everyone is scored ({total}/{total}). Thank you!").format(
                total=todo.total - todo.left
            ),
        )
    return form.open_task(ctx, task_id)


FORM_STEPS: dict[str, Callable[..., Reply]] = {
    "task": form.open_task,
    "v": form.value_button,
    "back": form.back,
    "keep": form.keep,
    "skip": form.skip,
    "leave": form.leave,
    "ok": form.confirm,
    "edit": form.edit,
}
