"""`jixiao period tasks --reassign`: unsubmitted manager and head tasks follow the org to
whoever holds the role now, afresh; submitted ones stay and are listed; all audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.appraisal.audit_verify import verify
from bot.appraisal.reassign import move_tasks, stale_tasks
from bot.infra import i18n
from models import AuditEvent, Employee, OutboxMessage, ScoreEntry, ScoringTask, TaskState
from tests.chat_helpers import Chat, Tap, bind, build_world
from tests.factories import bind as bind_chat
from tests.paysheet_helpers import LATER, cli, open_, org


def task_of(session, period, appraisee, role):
    return session.scalar(
        select(ScoringTask).where(
            ScoringTask.period_id == period.id,
            ScoringTask.appraisee_id == appraisee.id,
            ScoringTask.role_code == role,
        )
    )


def changed_org(session):
    """東城 staff 0 pending, 1 draft with an answer, 2 submitted: all three get a new
    manager (西城's head); the self tasks stay with their people."""
    group, people = org(session)
    period = open_(session, group)
    (_i1, h1, s1), (_i2, h2, _s2) = people.values()
    draft = task_of(session, period, s1[1], "manager")
    draft.state, draft.cursor = TaskState.DRAFT, 1
    ind = period.scheme.indicators[0]
    session.add(
        ScoreEntry(
            task_id=draft.id,
            indicator_id=ind.id,
            value=Decimal(77),
            entered_by=h1.id,
            entered_at=LATER,
        )
    )
    done = task_of(session, period, s1[2], "manager")
    done.state, done.submitted_at = TaskState.SUBMITTED, LATER
    for e in s1[:3]:
        e.manager_id = h2.id
    session.flush()
    return group, people, period


def test_pending_and_draft_move_afresh_submitted_stays_self_untouched(session):
    _group, people, period = changed_org(session)
    (_i1, h1, s1), (_i2, h2, _s2) = people.values()
    selves = {
        t.id: t.scorer_id for t in session.scalars(select(ScoringTask)) if t.role_code == "self"
    }
    moves = move_tasks(session, LATER, period)
    assert [(m.appraisee, m.old, m.new, m.dropped) for m in moves.moved] == [
        (f"{s1[0].number} {s1[0].name}", f"{h1.number} {h1.name}", f"{h2.number} {h2.name}", 0),
        (f"{s1[1].number} {s1[1].name}", f"{h1.number} {h1.name}", f"{h2.number} {h2.name}", 1),
    ]
    assert [m.appraisee for m in moves.submitted] == [f"{s1[2].number} {s1[2].name}"]
    for e in s1[:2]:
        t = task_of(session, period, e, "manager")
        assert (t.scorer_id, t.state, t.cursor) == (h2.id, TaskState.PENDING, 0)
        assert not session.scalars(select(ScoreEntry).where(ScoreEntry.task_id == t.id)).all()
    kept = task_of(session, period, s1[2], "manager")
    assert (kept.scorer_id, kept.state) == (h1.id, TaskState.SUBMITTED)
    # The head role did not change hands; the self tasks never move.
    assert task_of(session, period, s1[0], "head").scorer_id == h1.id
    assert {
        t.id: t.scorer_id for t in session.scalars(select(ScoringTask)) if t.role_code == "self"
    } == selves
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.reassign")).all()
    assert [(e.before["answers"], e.after["scorer"]) for e in events] == [
        (0, f"{h2.number} {h2.name}"),
        (1, f"{h2.number} {h2.name}"),
    ]
    # Nothing stale is left but the submitted one; a second run moves nothing.
    assert move_tasks(session, LATER, period).moved == []
    assert len(stale_tasks(session, period).submitted) == 1


def test_a_task_of_a_deactivated_scorer_moves_too_and_the_chain_verifies(engine, Session):
    with Session() as session, session.begin():
        group, people = org(session)
        period = open_(session, group)
        (_i1, h1, s1), (_i2, h2, _s2) = people.values()
        h1.active = False
        s1[0].manager_id = h2.id
    with Session() as session, session.begin():
        period = session.get(type(period), period.id)
        moves = move_tasks(session, LATER, period)
        assert [m.old.split()[0] for m in moves.moved] == [h1.number]
    with Session() as session, i18n.using("en"):
        verdict = verify(session)
        assert verdict.intact, verdict
        assert verdict.events > 0


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "zh_CN",
            [
                "考核周期 2026-11 中已移交 2 个未提交的任务",
                "直接上级",
                "作废草稿评分 1 项",
                "1 个已提交的任务保留在原考核人处",
                "已排队 1 条给新考核人的消息",
            ],
        ),
        (
            "en",
            [
                "2 unsubmitted tasks moved in period 2026-11",
                "direct manager",
                "(1 draft answers dropped)",
                "1 submitted tasks stay with their scorer",
                "1 messages to new scorers queued",
            ],
        ),
    ],
)
def test_the_cli_moves_them_reports_per_person_and_tells_the_new_scorer_once(
    engine, Session, lang, words
):
    with Session() as session, session.begin():
        _group, people, _period = changed_org(session)
        (_i1, h1, s1), (_i2, h2, _s2) = people.values()
        bind_chat(session, h2)
        names = (s1[0].name, h1.name, h2.name)
    plain = cli(engine, "period", "tasks", "2026-11", lang=lang)
    assert plain.exit_code == 0, plain.output
    assert "--reassign" in plain.stderr  # says what would move, moves nothing
    result = cli(engine, "period", "tasks", "2026-11", "--reassign", lang=lang)
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.stdout, result.stdout
    line = next(x for x in result.stdout.splitlines() if names[0] in x)
    assert f"{names[1]} → " in line
    assert names[2] in line
    with Session() as session:
        moved = session.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("moved:%"))
        ).all()
        assert len(moved) == 1
        again = cli(engine, "period", "tasks", "2026-11", "--reassign", lang=lang)
        assert again.exit_code == 0, again.output
        assert (
            session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like("moved:%"))
            )
            == 1
        )


@pytest.mark.parametrize(
    ("lang", "refusal"),
    [("zh_CN", "已不属于您"), ("en", "this task is no longer yours")],
)
def test_the_old_scorers_next_form_step_is_refused_after_the_move(session, lang, refusal):
    w = build_world(session)
    old = Chat(session, bind(session, w.manager, language=lang))
    old.say("/score")
    old.say(Tap("张三"))
    w.zhang.manager_id = w.head.id
    session.flush()
    moves = move_tasks(session, w.period.deadline, w.period)
    assert [m.new for m in moves.moved if "张三" in m.appraisee] == [
        f"{w.head.number} {w.head.name}"
    ]
    got = old.say("90")
    assert refusal in got, got
    assert "张三" in got
    task = session.get(ScoringTask, moves.moved[0].task_id)
    assert task.scorer_id == w.head.id
    assert not session.scalars(select(ScoreEntry).where(ScoreEntry.task_id == task.id)).all()
    assert session.get(Employee, w.head.id).active


def test_a_new_head_gets_the_head_tasks_and_a_clash_withdraws_the_stale_one(session):
    group, people = org(session)
    period = open_(session, group)
    (i1, h1, s1), (_i2, h2, _s2) = people.values()
    i1.head_id = h2.id
    # s1[0] already has a head task with h2 (say, HR added one by hand): no second one.
    session.add(
        ScoringTask(
            period_id=period.id,
            scorer_id=h2.id,
            appraisee_id=s1[0].id,
            role_code="head",
            deadline=period.deadline,
        )
    )
    session.flush()
    moves = move_tasks(session, LATER, period)
    heads = [m for m in moves.moved if m.role_code == "head"]
    assert {m.appraisee.split()[0] for m in heads} == {e.number for e in s1}
    assert [m.withdrawn for m in heads if m.appraisee.startswith(s1[0].number)] == [True]
    for e in s1:
        rows = session.scalars(
            select(ScoringTask).where(
                ScoringTask.appraisee_id == e.id, ScoringTask.role_code == "head"
            )
        ).all()
        assert [t.scorer_id for t in rows] == [h2.id]
    # The manager role did not change hands.
    assert task_of(session, period, s1[0], "manager").scorer_id == h1.id


def test_moving_is_refused_once_scoring_has_closed(session):
    from bot.appraisal.periods import close_period
    from bot.infra.errors import Refused

    _group, _people, period = changed_org(session)
    close_period(session, LATER, period)
    with pytest.raises(Refused, match="评分期间"):
        move_tasks(session, LATER, period)
