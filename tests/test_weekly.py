"""Leadership's Monday report and HR's announcements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.appraisal.periods import open_period
from bot.cli.main import app
from bot.notify.weekly import announce, queue_weekly_report, rows
from models import OutboxMessage, Role, RoleGrant
from models.db import make_engine, sessions, upgrade
from tests.factories import T0, bind, small_org, submit

SH = dt.timezone(dt.timedelta(hours=8))
MONDAY = dt.datetime(2026, 11, 23, 9, 5, tzinfo=SH)


def _leader(session, people):
    _, leader, _ = people["东城支行"]
    session.add(RoleGrant(employee_id=leader.id, role=Role.LEADERSHIP))
    bind(session, leader)
    session.flush()
    return leader


def test_the_report_ranks_institutions_with_on_time_rates(session):
    group, people = small_org(session)
    open_period(
        session, T0, group=group, label="2026-11", scheme_code="STD", deadline=dt.date(2026, 11, 20)
    )
    east, west = people["东城支行"][2], people["西城支行"][2]
    submit(session, east[:1], dt.datetime(2026, 11, 19, tzinfo=SH))  # on time
    submit(session, west[:3], dt.datetime(2026, 11, 22, tzinfo=SH))  # late
    session.flush()
    table = {r.name: r for r in rows(session, group.id, MONDAY)}
    assert table["西城支行"].completion == Decimal("100.0")
    assert table["西城支行"].on_time == Decimal("0.0")
    assert table["西城支行"].rank == 1
    assert table["东城支行"].completion == Decimal("25.0")
    assert table["东城支行"].on_time == Decimal("25.0")
    assert not table["东城支行"].published


def test_leadership_gets_it_once_on_monday_morning_with_a_chart(session):
    group, people = small_org(session)
    open_period(session, T0, group=group, label="2026-11", scheme_code="STD")
    leader = _leader(session, people)
    assert queue_weekly_report(session, group.id, MONDAY - dt.timedelta(hours=1)) == 0
    assert queue_weekly_report(session, group.id, MONDAY) == 1
    assert queue_weekly_report(session, group.id, MONDAY + dt.timedelta(hours=2)) == 0
    assert queue_weekly_report(session, group.id, MONDAY + dt.timedelta(days=1)) == 0
    message = session.scalars(select(OutboxMessage)).one()
    assert message.employee_id == leader.id
    assert "每周考核报告" in message.content["text"]
    assert "1. " in message.content["text"]
    assert message.content["image"]


def test_a_later_run_on_monday_draws_nothing(session, monkeypatch):
    import bot.notify.weekly as weekly

    group, people = small_org(session)
    open_period(session, T0, group=group, label="2026-11", scheme_code="STD")
    _leader(session, people)
    assert queue_weekly_report(session, group.id, MONDAY) == 1
    monkeypatch.setattr(weekly, "render", lambda *a: pytest.fail("drawn again"))
    assert queue_weekly_report(session, group.id, MONDAY + dt.timedelta(minutes=15)) == 0


def test_an_announcement_reaches_a_role_or_an_institution_once(session):
    group, people = small_org(session)
    for inst, head, staff in people.values():
        session.add(RoleGrant(employee_id=head.id, role=Role.HEAD, institution_id=inst.id))
        bind(session, head)
        bind(session, staff[0])
    session.flush()
    assert announce(session, T0, group.id, "周五前请完成评分", role=Role.HEAD) == 2
    assert announce(session, T0, group.id, "周五前请完成评分", role=Role.HEAD) == 0
    east = people["东城支行"][0]
    assert announce(session, T0, group.id, "东城支行培训", institution_id=east.id) == 2


def test_hr_announces_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        for _, head, _ in people.values():
            bind(s, head)
    engine.dispose()
    runner = CliRunner()
    ok = runner.invoke(app, ["--database-url", url, "--lang", "en", "announce", "Hello all"])
    assert ok.exit_code == 0, ok.output
    assert "Announcement queued for 2 chats." in ok.output
    bad = runner.invoke(
        app, ["--database-url", url, "--lang", "en", "announce", "x", "--role", "boss"]
    )
    assert bad.exit_code == 2
    assert "Unknown role 'boss'" in bad.output
