"""Races and bad bytes that answered 500: simultaneous first answers on a fresh task, and
control characters in a comment, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from bot.chat.dispatch import handle
from bot.infra import i18n
from bot.infra.message import Incoming
from models import ScoreEntry, ScoringTask
from tests.chat_helpers import NOW, Chat, Tap, bind, build_world


def _say(Session, user: str, text: str) -> str:
    with Session() as s, s.begin():
        incoming = Incoming(platform="web", user_id=user, chat_id=user, text=text)
        return "\n".join(r.text for r in handle(s, incoming, NOW))


def test_simultaneous_first_answers_on_a_fresh_task_all_get_a_true_answer(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        user = bind(s, w.manager, language="en")
        chat = Chat(s, user)
        chat.say("/score")
        chat.say(Tap("张三"))
        task_id = w.tasks(s)[0].id
        perf = w.scheme.indicators[0].id

    n = 20
    start = threading.Barrier(n)
    answers: list[str] = []
    failures: list[BaseException] = []

    def first_answer(k: int) -> None:
        start.wait()
        try:
            with i18n.using("en"):
                answers.append(_say(Session, user, str(70 + k % 10)))
        except BaseException as exc:  # each failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=first_answer, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures[:3]
    assert len(answers) == n

    with Session() as s:
        stored = s.scalars(
            select(ScoreEntry).where(ScoreEntry.task_id == task_id, ScoreEntry.indicator_id == perf)
        ).all()
        assert len(stored) == 1
        task = s.get(ScoringTask, task_id)
        assert task is not None
        # Every entry the task holds is one of the values typed, one row per indicator.
        assert len({e.indicator_id for e in task.entries}) == len(task.entries)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\ufffe"])
def test_control_characters_in_a_comment_are_refused_and_nothing_is_stored(Session, bad):
    with Session() as s, s.begin():
        w = build_world(s)
        user = bind(s, w.manager, language="zh_CN")
        chat = Chat(s, user)
        chat.say("/score")
        chat.say(Tap("张三"))
        task_id = w.tasks(s)[0].id
    with i18n.using("zh_CN"):
        first = _say(Session, user, "55")
        assert "评语" in first
        reply = _say(Session, user, f"完成太少{bad}了")
    assert "控制字符" in reply
    with Session() as s:
        comments = s.scalars(select(ScoreEntry.comment).where(ScoreEntry.task_id == task_id)).all()
        assert all(bad not in c for c in comments)
        # Nothing was stored with the refused comment: the form still asks for it.
        assert "完成太少" not in "".join(comments)


def test_a_nul_byte_in_a_value_and_comment_line_is_refused(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        user = bind(s, w.manager, language="en")
        chat = Chat(s, user)
        chat.say("/score")
        chat.say(Tap("张三"))
        task_id = w.tasks(s)[0].id
    with i18n.using("en"):
        reply = _say(Session, user, "55 too few\x00 tasks")
    assert "control character" in reply
    with Session() as s:
        assert not s.scalars(select(ScoreEntry).where(ScoreEntry.task_id == task_id)).all()


def test_two_answers_of_one_form_at_the_same_moment_each_take_their_own_step(Session, monkeypatch):
    """Two serve processes get "90" and "85" of one scorer at once (a double tap, a
    retry): each is a step of its own, one after the other, never both item 1."""
    import bot.chat.dispatch as dispatch

    with Session() as s, s.begin():
        w = build_world(s)
        user = bind(s, w.manager, language="en")
        chat = Chat(s, user)
        chat.say("/score")
        chat.say(Tap("张三"))
        task_id = w.tasks(s)[0].id
        perf, quality = (i.id for i in w.scheme.indicators[:2])

    real = dispatch.chat_state

    def slow(*args, **kw):
        found = real(*args, **kw)
        time.sleep(0.3)  # what a busy process does between reading and writing
        return found

    monkeypatch.setattr(dispatch, "chat_state", slow)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def answer(value: str) -> None:
        start.wait()
        try:
            with i18n.using("en"):
                _say(Session, user, value)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=answer, args=(v,)) for v in ("90", "85")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    with Session() as s:
        task = s.get(ScoringTask, task_id)
        assert task is not None
        values = {e.indicator_id: e.value for e in task.entries}
        assert sorted(values) == sorted([perf, quality])
        assert sorted(values.values()) == [85, 90]
        assert task.cursor == 2
