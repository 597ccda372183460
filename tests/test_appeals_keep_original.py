"""A revision whose scorer never submits again: finalize names it, who must re-score and
the way out; HR closes it with `appeals decide --keep-original "reason"`, which submits
the marks from before the revision again. The result and pay stay the same to the fen,
the employee is told, the audit chain still verifies, and finalize then succeeds."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from bot.appraisal import appeals
from bot.appraisal.audit import record
from bot.appraisal.audit_history import show
from bot.appraisal.audit_verify import verify
from bot.appraisal.periods import close_period, publish_period
from bot.appraisal.results import compute_period
from bot.cli import demo_data as demo
from bot.infra.errors import Refused
from models import (
    Appeal,
    AppealState,
    AuditEvent,
    Employee,
    Group,
    Institution,
    OutboxMessage,
    Period,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from tests.chat_helpers import Chat, Tap, bind
from tests.paysheet_helpers import cli
from tests.test_appeals_flow import _finish_scoring, _rescore_open

SH = ZoneInfo("Asia/Shanghai")
BUILT = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)
PUBLISHED = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
IN_WINDOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SH)
AFTER = dt.datetime(2026, 12, 9, 9, 0, tzinfo=SH)
HR = appeals.Actor("hr", None, "cli")


@pytest.fixture
def world(engine, Session):
    demo.prepare(engine, BUILT, employees=40, institutions=3)
    s = Session()
    nov = s.scalar(select(Period).where(Period.label == "2026-11"))
    _finish_scoring(s, nov, BUILT)
    # The helper stores marks directly: vouch for them as a submission does.
    for task_id in s.scalars(select(ScoringTask.id).where(ScoringTask.period_id == nov.id)):
        record(s, BUILT, "task.submit", "scoring_task", task_id, actor_label="test")
    close_period(s, BUILT, nov, actor="test")
    compute_period(s, BUILT, nov, actor="test")
    publish_period(s, PUBLISHED, nov, actor="test")
    s.commit()
    _intact(s)
    yield s, nov
    s.close()


def _intact(s) -> None:
    verdict = verify(s)
    assert verdict.intact, verdict
    # verify streams on its connection (server-side cursors on PostgreSQL until the
    # transaction ends): end it before writing again.
    s.rollback()


def _staff(s, nov) -> list[Employee]:
    """Beijing staff scored by a manager who is not the head."""
    inst = s.scalar(select(Institution).where(Institution.name == "北京分公司"))
    return list(
        s.scalars(
            select(Employee)
            .join(ScoringTask, ScoringTask.appraisee_id == Employee.id)
            .where(
                Employee.institution_id == inst.id,
                Employee.id != inst.head_id,
                ScoringTask.period_id == nov.id,
                ScoringTask.role_code == "manager",
                ScoringTask.scorer_id != inst.head_id,
            )
            .order_by(Employee.number)
        ).unique()
    )


def _marks(s, task_id: int) -> dict[int, tuple[str, str]]:
    s.expire_all()
    return {
        e.indicator_id: (str(e.value), e.comment)
        for e in s.scalars(select(ScoreEntry).where(ScoreEntry.task_id == task_id))
    }


def _result(s, nov, emp) -> tuple:
    s.expire_all()
    r = s.scalar(select(Result).where(Result.period_id == nov.id, Result.employee_id == emp.id))
    return (str(r.total), r.grade, str(r.coefficient), str(r.pay))


def _revise_and_abandon(s, nov, emp) -> tuple[Appeal, ScoringTask]:
    """The appeal is revised on its first indicator; the manager starts re-scoring in
    chat (a changed draft) and never submits."""
    appeal = appeals.file_appeal(s, IN_WINDOW, emp, nov, "业绩漏记")
    first = nov.scheme.indicators[0]
    tasks = appeals.revise(s, IN_WINDOW, appeal, [first.code], HR)
    s.commit()
    task = next(t for t in tasks if t.role_code == "manager")
    scorer = s.get(Employee, task.scorer_id)
    chat = Chat(s, bind(s, scorer, language="zh_CN"), now=IN_WINDOW)
    chat.say("/score")
    chat.say(Tap(emp.name))
    chat.say("100")  # a changed mark in the reopened draft, then nothing
    s.commit()
    return appeal, task


def test_keep_original_closes_a_revision_the_scorer_abandoned(engine, world):
    s, nov = world
    emp = _staff(s, nov)[0]
    bind(s, emp, language="zh_CN")  # so the decision reaches them
    was = _result(s, nov, emp)
    appeal, task = _revise_and_abandon(s, nov, emp)
    original = _marks(s, task.id)
    s.expire_all()
    # The draft holds the scorer's new 100: its mark differs from the original.
    first = nov.scheme.indicators[0]
    assert original[first.id][0] == "100"
    edits = s.scalars(
        select(AuditEvent).where(AuditEvent.action == "score.edit").order_by(AuditEvent.id)
    ).all()
    assert edits, "the reopened draft's change is audited"
    before_revision = dict(original)
    before_revision[first.id] = (edits[0].before["value"], edits[0].before["comment"])
    assert before_revision[first.id][0] != "100"
    scorer = s.get(Employee, task.scorer_id)
    others = {
        t.scorer_id
        for t in s.scalars(
            select(ScoringTask).where(
                ScoringTask.appeal_id == appeal.id, ScoringTask.state != TaskState.SUBMITTED
            )
        )
    }

    with time_machine.travel(AFTER, tick=False):
        # Finalize names the appeal waiting for a re-score, who must re-score, the way out.
        zh = cli(engine, "period", "finalize", "2026-11")
        assert zh.exit_code == 2, zh.output
        assert emp.number in zh.output
        assert scorer.name in zh.output
        assert "--keep-original" in zh.output
        assert "重新评分" in zh.output
        en = cli(engine, "period", "finalize", "2026-11", lang="en")
        assert en.exit_code == 2, en.output
        assert "Waiting for a re-score" in en.output
        assert scorer.number in en.output

        # Neither an empty reason nor two decisions at once.
        empty = cli(engine, "appeals", "decide", "2026-11", emp.number, "--keep-original", " ")
        assert empty.exit_code == 2
        assert "理由" in empty.output
        both = cli(
            engine,
            "appeals",
            "decide",
            "2026-11",
            emp.number,
            "--revise",
            "--keep-original",
            "x",
            lang="en",
        )
        assert both.exit_code != 0
        assert "--keep-original" in both.output

        # Deciding it again points at the way out.
        decided = cli(
            engine, "appeals", "decide", "2026-11", emp.number, "--uphold", "x", lang="en"
        )
        assert decided.exit_code == 2
        assert "--keep-original" in decided.output
        named = cli(
            engine,
            "appeals",
            "decide",
            "2026-11",
            emp.number,
            "--keep-original",
            "x",
            "--indicator",
            "kpi",
            lang="en",
        )
        assert named.exit_code != 0
        assert "leave --indicator out" in named.output
        done = cli(
            engine,
            "appeals",
            "decide",
            "2026-11",
            emp.number,
            "--keep-original",
            "考核人已离职，维持原评分",
            lang="en",
        )
        assert done.exit_code == 0, done.output
        assert "The result stands" in done.output
        assert scorer.name in done.output

    s.expire_all()
    closed = s.get(Appeal, appeal.id)
    assert closed.state == AppealState.UPHELD
    assert closed.answer == "考核人已离职，维持原评分"
    assert closed.before == closed.after
    # The marks from before the revision, the result and pay unchanged to the fen.
    assert _marks(s, task.id) == before_revision
    assert _result(s, nov, emp) == was
    assert all(
        t.state == TaskState.SUBMITTED
        for t in s.scalars(select(ScoringTask).where(ScoringTask.appeal_id == appeal.id))
    )
    assert others  # at least the manager was waiting
    assert s.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "appeal.keep_original", AuditEvent.entity_id == appeal.id
        )
    )
    told = "\n".join(
        m.content["text"]
        for m in s.scalars(select(OutboxMessage).where(OutboxMessage.employee_id == emp.id))
    )
    assert "考核人已离职，维持原评分" in told
    assert "维持原结果" in told
    s.commit()
    _intact(s)
    history = "\n".join(show(s, s.get(Group, nov.group_id), emp.number, "2026-11"))
    assert "closed the appeal's re-scoring" in history
    assert scorer.name in history

    with time_machine.travel(AFTER, tick=False):
        again = cli(engine, "appeals", "decide", "2026-11", emp.number, "--keep-original", "x")
        assert again.exit_code == 2
        assert emp.number in again.output
        final = cli(engine, "period", "finalize", "2026-11")
        assert final.exit_code == 0, final.output
    s.expire_all()
    assert s.get(Period, nov.id).state == PeriodState.FINAL
    _intact(s)


def test_keep_original_is_refused_when_there_is_no_revision_to_close(engine, world):
    s, nov = world
    emp, other = _staff(s, nov)[:2]
    appeal = appeals.file_appeal(s, IN_WINDOW, emp, nov, "分数偏低")
    s.commit()
    with pytest.raises(Refused, match="--uphold"):
        appeals.keep_original(s, IN_WINDOW, appeal, "理由", HR)
    with time_machine.travel(IN_WINDOW, tick=False):
        open_ = cli(
            engine, "appeals", "decide", "2026-11", emp.number, "--keep-original", "r", lang="en"
        )
        assert open_.exit_code == 2, open_.output
        assert "not being re-scored" in open_.output
        none = cli(engine, "appeals", "decide", "2026-11", other.number, "--keep-original", "理由")
        assert none.exit_code == 2
        assert other.number in none.output

    # The scorer did submit again: the appeal is revised and there is nothing to keep.
    appeals.withdraw(s, IN_WINDOW, emp, appeal.id)
    appeal = appeals.file_appeal(s, IN_WINDOW, other, nov, "业绩漏记")
    tasks = appeals.revise(s, IN_WINDOW, appeal, [], HR)
    for t in tasks:
        t.state = TaskState.SUBMITTED
        appeals.finish_revision(s, IN_WINDOW, t)
    s.commit()
    assert s.get(Appeal, appeal.id).state == AppealState.REVISED
    with pytest.raises(Refused, match="已改判"):
        appeals.keep_original(s, IN_WINDOW, appeal, "理由", HR)


def test_keep_original_keeps_the_new_marks_of_a_scorer_who_did_submit(engine, world):
    """Two scorers' tasks reopened: the head re-scores and submits, the manager never
    does. Closing the revision puts back the manager's marks only; the head's new mark
    counts, so the appeal closes as revised, with before and after."""
    s, nov = world
    emp = _staff(s, nov)[0]
    was = _result(s, nov, emp)
    appeal, manager_task = _revise_and_abandon(s, nov, emp)
    manager_marks = _marks(s, manager_task.id)
    head_task = s.scalar(
        select(ScoringTask).where(
            ScoringTask.appeal_id == appeal.id, ScoringTask.id != manager_task.id
        )
    )
    assert head_task is not None
    assert head_task.state == TaskState.DRAFT
    head = s.get(Employee, head_task.scorer_id)
    chat = Chat(s, bind(s, head, language="zh_CN"), now=IN_WINDOW)
    chat.say("/score")
    chat.say(Tap(emp.name))
    _rescore_open(chat, "100")
    s.commit()
    assert s.get(Appeal, appeal.id).state == AppealState.REVISING
    head_marks = _marks(s, head_task.id)

    appeals.keep_original(s, AFTER, s.get(Appeal, appeal.id), "主管已离职", HR)
    s.commit()
    closed = s.get(Appeal, appeal.id)
    assert closed.state == AppealState.REVISED
    assert closed.before["total"] == was[0]
    assert closed.after["total"] != was[0]
    assert _result(s, nov, emp)[0] == closed.after["total"]
    assert _marks(s, head_task.id) == head_marks  # the head's submitted re-score counts
    restored = _marks(s, manager_task.id)
    first = nov.scheme.indicators[0]
    assert restored[first.id][0] != "100"
    assert {k: v for k, v in restored.items() if k != first.id} == {
        k: v for k, v in manager_marks.items() if k != first.id
    }
    _intact(s)
