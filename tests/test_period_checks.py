"""Opening refuses a deadline that cannot be meant and names everyone who can never get a
result; publishing and finalizing name everyone left without one."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.appraisal import gaps
from bot.appraisal.periods import close_period, open_period, publish_period
from bot.appraisal.results import compute_period
from bot.infra.errors import Refused
from models import Period, PeriodState, Scheme, ScoringTask
from tests.factories import T0, small_org
from tests.paysheet_helpers import LATER, cli, join, open_, org, period_of, score

# T0 is 2026-11-01.


@pytest.mark.parametrize(
    ("label", "deadline", "start"),
    [
        ("2026-12", dt.date(2026, 11, 30), "2026-12-01"),
        ("2027-Q1", dt.date(2026, 12, 31), "2027-01-01"),
        ("2027", dt.date(2026, 12, 31), "2027-01-01"),
    ],
)
def test_a_deadline_before_the_period_starts_is_refused_unless_forced(
    session, label, deadline, start
):
    group, _people = org(session)
    with pytest.raises(Refused) as exc:
        open_period(session, T0, group=group, label=label, scheme_code="STD", deadline=deadline)
    said = str(exc.value)
    assert deadline.isoformat() in said
    assert start in said
    assert "早于" in said
    assert "--force" in said
    assert session.scalar(select(func.count(Period.id))) == 0
    period, tasks = open_period(
        session, T0, group=group, label=label, scheme_code="STD", deadline=deadline, force=True
    )
    assert period.state is PeriodState.SCORING
    assert tasks > 0


def test_a_deadline_already_past_is_refused_unless_forced(session):
    group, _people = org(session)
    with pytest.raises(Refused, match=r"已经过去.*--force"):
        open_period(
            session,
            T0,
            group=group,
            label="2026-10",
            scheme_code="STD",
            deadline=dt.date(2026, 10, 31),
        )
    period, _tasks = open_period(
        session,
        T0,
        group=group,
        label="2026-10",
        scheme_code="STD",
        deadline=dt.date(2026, 10, 31),
        force=True,
    )
    assert period.deadline.date() == dt.date(2026, 10, 31)


def test_a_deadline_today_or_within_the_period_is_fine(session):
    group, _people = org(session)
    period, _tasks = open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 1)
    )
    assert period.state is PeriodState.SCORING


def test_unscorable_names_whoever_has_no_scorer_whose_score_counts(session):
    group, people = org(session)
    # A manager who left: this employee keeps the head's task, which counts.
    _inst, _head, staff = people["西城支行"]
    period = open_(session, group)
    join(session, group, people)
    found = gaps.unscorable(session, period)
    assert [(g.number, g.name) for g in found] == [
        ("100", "东城支行行长"),
        ("200", "西城支行行长"),
        ("3001", "新员工"),
    ]
    assert found[0].reason() == "没有计入权重的考核人：只有本人，权重为 0"
    assert found[2].reason() == "本周期没有评分任务"
    assert all(g.number != staff[0].number for g in found)


def test_a_scheme_without_a_self_role_leaves_heads_with_no_task_at_all(session):
    group, _people = small_org(session)  # manager only
    period = open_(session, group)
    found = gaps.unscorable(session, period)
    assert [g.number for g in found] == ["100", "200"]
    assert {g.tasks for g in found} == {0}


def test_publishing_with_people_missing_names_them_with_the_reason(session):
    group, people = org(session)
    period = open_(session, group)
    score(session, period)
    join(session, group, people)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    with pytest.raises(Refused) as exc:
        publish_period(session, LATER, period)
    said = str(exc.value)
    assert "2 人没有结果" in said
    assert "100 东城支行行长（没有计入权重的考核人" in said
    assert "200 西城支行行长" in said
    assert "--allow-missing" in said
    assert "不能再计算" in said  # what happens to them
    left = publish_period(session, LATER, period, allow_missing=True)
    assert [g.number for g in left] == ["100", "200", "3001"]


def test_a_late_joiner_without_a_task_does_not_block_publication(session):
    group, people = org(session)
    (_i1, h1, _s1), (_i2, h2, _s2) = people.values()
    h1.manager_id, h2.manager_id = h2.id, h1.id
    period = open_(session, group)
    score(session, period)
    join(session, group, people)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    left = publish_period(session, LATER, period)
    assert [(g.number, g.tasks) for g in left] == [("3001", 0)]


# The command line


def test_open_warns_on_stderr_naming_who_can_never_get_a_result(engine, Session):
    with Session() as session, session.begin():
        org(session, sizes=[(f"支行{n:02d}", 1) for n in range(12)])
    result = cli(engine, "period", "open", "2099-01", "--scheme", "STD", "--deadline", "2099-02-07")
    assert result.exit_code == 0, result.output
    assert "考核周期 2099-01 已开启" in result.stdout
    warning = result.stderr
    assert "警告：考核周期 2099-01 中有 12 人永远得不到结果" in warning
    assert "100 支行00行长（没有计入权重的考核人：只有本人，权重为 0）" in warning
    assert "另有 2 人" in warning  # capped
    assert "1200 支行11行长" not in warning
    with Session() as session:
        assert session.scalar(select(func.count(ScoringTask.id))) > 0


def test_open_says_nothing_when_everyone_can_get_a_result(engine, Session):
    with Session() as session, session.begin():
        _group, people = org(session)
        (_i1, h1, _s1), (_i2, h2, _s2) = people.values()
        h1.manager_id, h2.manager_id = h2.id, h1.id
    result = cli(engine, "period", "open", "2099-01", "--scheme", "STD", "--deadline", "2099-02-07")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_open_refuses_a_bad_deadline_on_one_line_and_accepts_it_with_force(engine, Session):
    with Session() as session, session.begin():
        org(session)
    before = cli(engine, "period", "open", "2099-03", "--scheme", "STD", "--deadline", "2099-02-01")
    assert before.exit_code == 2
    assert len(before.stderr.strip().splitlines()) == 1
    assert "2099-02-01" in before.stderr
    assert "--force" in before.stderr
    past = cli(
        engine,
        "--lang",
        "en",
        "period",
        "open",
        "2020-01",
        "--scheme",
        "STD",
        "--deadline",
        "2020-02-07",
    )
    assert past.exit_code == 2
    assert "already past" in past.stderr
    forced = cli(
        engine,
        "period",
        "open",
        "2099-03",
        "--scheme",
        "STD",
        "--deadline",
        "2099-02-01",
        "--force",
    )
    assert forced.exit_code == 0, forced.output
    with Session() as session:
        assert session.scalar(select(Period.label)) == "2099-03"


def test_publish_and_finalize_say_what_happens_to_the_people_missing(engine, Session):
    with Session() as session, session.begin():
        group, people = org(session)
        period = open_(session, group)
        score(session, period)
        join(session, group, people)
        close_period(session, LATER, period)
        compute_period(session, LATER, period)
    refused = cli(engine, "period", "publish", "2026-11")
    assert refused.exit_code == 2
    assert "100 东城支行行长" in refused.stderr
    # No objection window, so the same test can finalize at once.
    published = cli(engine, "period", "publish", "2026-11", "--allow-missing", "--window-days", "0")
    assert published.exit_code == 0, published.output
    assert "已公示" in published.stdout
    assert "有 3 人在考核周期 2026-11 没有结果，也不会再有" in published.stderr
    assert "3001 新员工（本周期没有评分任务）" in published.stderr
    assert "绩效工资表会列出他们但不填金额" in published.stderr
    final = cli(engine, "period", "finalize", "2026-11")
    assert final.exit_code == 0, final.output
    assert "有 3 人在考核周期 2026-11 没有结果" in final.stdout
    with Session() as session:
        assert period_of(session).state is PeriodState.FINAL
        assert session.scalar(select(func.count(Scheme.id))) == 1


def test_publishing_with_no_result_at_all_says_who_waits_for_what_not_just_compute(session):
    group, _people = org(session)
    period = open_(session, group)
    close_period(session, LATER, period)
    compute_period(session, LATER, period)
    with pytest.raises(Refused) as exc:
        publish_period(session, LATER, period)
    said = str(exc.value)
    assert "9 位被考核人都还没有完整的评分" in said
    assert "1001 东城支行员工0（尚无计入权重的已提交评分，待提交：直接上级 东城支行行长" in said
    assert "另有 6 人" in said


def test_adding_tasks_reaches_only_those_who_cannot_get_a_result(session):
    from bot.appraisal.periods import add_missing_tasks

    group, people = org(session)
    period = open_(session, group)
    (_i1, h1, s1), (_i2, h2, _s2) = people.values()
    late = join(session, group, people)
    # Since opening: the heads got managers, and one scorable employee a new manager.
    h1.manager_id, h2.manager_id = h2.id, h1.id
    s1[0].manager_id = s1[1].id
    session.flush()
    before = session.scalar(select(func.count(ScoringTask.id)))
    added, still = add_missing_tasks(session, LATER, period)
    assert still == []
    tasks = session.scalars(select(ScoringTask).where(ScoringTask.period_id == period.id)).all()
    assert len(tasks) == before + added
    new = {(t.appraisee_id, t.role_code, t.scorer_id) for t in tasks[before:]}
    assert new == {
        (h1.id, "manager", h2.id),
        (h2.id, "manager", h1.id),
        (late.id, "manager", h1.id),
        (late.id, "head", h1.id),
        (late.id, "self", late.id),
    }
    # No second manager task for someone who could already get a result.
    assert not [t for t in tasks if t.appraisee_id == s1[0].id and t.scorer_id == s1[1].id]
    close_period(session, LATER, period)
    with pytest.raises(Refused, match="评分期间"):
        add_missing_tasks(session, LATER, period)


def test_the_tasks_command_adds_them_and_says_who_is_still_missing(engine, Session):
    with Session() as session, session.begin():
        group, people = org(session)
        open_(session, group)
        (_i1, h1, _s1), (_i2, h2, _s2) = people.values()
        h1.manager_id = h2.id  # 200 still has nobody
    result = cli(engine, "period", "tasks", "2026-11")
    assert result.exit_code == 0, result.output
    assert "已为考核周期 2026-11 补建 1 个评分任务。" in result.stdout
    assert "1 人永远得不到结果" in result.stderr
    assert "200 西城支行行长" in result.stderr
    assert "100 东城支行行长" not in result.stderr
