"""HR sees who the bot could not reach; opening a period tells its scorers."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.notify import outbox
from models import ChatIdentity, Employee, OutboxMessage, OutboxState, Role, RoleGrant
from models.db import make_engine, sessions, upgrade
from tests.factories import T0, bind, small_org

runner = CliRunner()


def test_hr_lists_failed_deliveries_and_people_who_blocked_the_bot(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        _, head, staff = people["东城支行"]
        outbox.enqueue(
            s,
            T0,
            platform="telegram",
            chat_id="9",
            content={"text": "x"},
            dedupe_key="k",
            employee_id=head.id,
        )
        s.flush()
        message = s.scalars(select(OutboxMessage)).one()
        message.state = OutboxState.FAILED
        message.last_error = "Forbidden: bot was blocked by the user"
        bind(s, staff[0])
        s.scalars(select(ChatIdentity)).one().unreachable = True
        numbers = (head.number, staff[0].number)
    engine.dispose()
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "undelivered"])
    assert result.exit_code == 0, result.output
    assert f"{numbers[0]} " in result.output
    assert "blocked by the user" in result.output
    assert f"{numbers[1]} " in result.output
    assert "Unreachable (blocked the bot or left the chat): 1 person." in result.output
    assert "Every message was delivered" not in result.output


def test_opening_a_period_queues_one_message_per_scorer(tmp_path):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        for _, head, _ in people.values():
            bind(s, head)
    # Opened on a fixed day of November 2026: the deadline below stays in the future.
    with time_machine.travel(T0, tick=False):
        result = runner.invoke(
            app,
            [
                "--database-url",
                url,
                "--lang",
                "en",
                "period",
                "open",
                "2026-12",
                "--scheme",
                "STD",
                "--deadline",
                "2027-01-08",
            ],
        )
    assert result.exit_code == 0, result.output
    assert "2 messages to scorers queued." in result.output
    with sessions(engine)() as s:
        texts = [m.content["text"] for m in s.scalars(select(OutboxMessage))]
    engine.dispose()
    # Each push speaks the recipient's language, not the HR command line's.
    assert sorted(texts) == [
        "考核周期 2026-12 已开启：请在 2027-01-08 前为 3 人评分。",
        "考核周期 2026-12 已开启：请在 2027-01-08 前为 4 人评分。",
    ]


def _queue(s, employee, key, *, state=OutboxState.QUEUED, created=T0, **values):
    outbox.enqueue(
        s,
        created,
        platform="telegram",
        chat_id=f"c{employee.id}",
        content={"text": key},
        dedupe_key=key,
        employee_id=employee.id,
    )
    s.flush()
    message = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).one()
    message.state = state
    for name, value in values.items():
        setattr(message, name, value)


def test_undelivered_tells_queued_in_flight_stranded_and_failed_apart(tmp_path):
    """15 messages still queued is not "all delivered"; a claim whose lease ran out is
    stranded; a person unreachable on two platforms is listed once."""
    url = f"sqlite:///{tmp_path / 'u.db'}"
    engine = make_engine(url)
    upgrade(engine)
    real_now = dt.datetime.now(dt.UTC)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        _, head, staff = people["东城支行"]
        for i in range(15):
            _queue(s, staff[i % 4], f"q{i}", created=real_now - dt.timedelta(hours=2))
        _queue(
            s,
            staff[0],
            "claimed",
            state=OutboxState.CLAIMED,
            claimed_by="worker-a",
            lease_until=real_now + dt.timedelta(minutes=5),
        )
        for i in range(3):
            _queue(
                s,
                staff[1],
                f"gone{i}",
                state=OutboxState.CLAIMED,
                claimed_by="worker-dead",
                lease_until=real_now - dt.timedelta(minutes=2),
            )
        bind(s, head)
        bind(s, head, platform="slack")
        for identity in s.scalars(select(ChatIdentity)):
            identity.unreachable = True
    engine.dispose()
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "undelivered"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Every message was delivered" not in out
    assert "Queued, not sent yet: 15 messages, the oldest queued 2 hours ago." in out
    assert "Being sent now: 1 message." in out
    assert "Stranded: 3 messages were taken by a sender that stopped (worker-dead;" in out
    assert "Unreachable (blocked the bot or left the chat): 1 person." in out
    assert out.count("100 东城支行行长") == 1
    assert "(slack, telegram)" in out

    zh = runner.invoke(app, ["--database-url", url, "--lang", "zh_CN", "undelivered"])
    assert "尚未发送：15 条" in zh.output
    assert "2小时" in zh.output


def test_undelivered_says_all_delivered_only_when_nothing_is_left(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        _queue(s, people["东城支行"][1], "done", state=OutboxState.SENT)
    engine.dispose()
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "undelivered"])
    assert result.exit_code == 0, result.output
    assert "Every message was delivered." in result.output
    assert "Nobody is unreachable." in result.output
    assert "Queued" not in result.output


def test_announce_to_nobody_bound_fails_and_names_who_has_no_chat(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        for _, head, _ in people.values():
            s.add(RoleGrant(employee_id=head.id, role=Role.HEAD))
    engine.dispose()
    args = ["--database-url", url, "--lang", "en", "announce", "周五前请完成评分"]
    result = runner.invoke(app, [*args, "--role", "head"])
    assert result.exit_code == 2, result.output
    assert "Announcement queued for 0 chats." in result.output
    assert "0 of 2 recipients can be reached in chat." in result.output
    assert "2 have no chat with the bot yet and will not get it: 100 东城支行行长, " in (
        result.output
    )
    assert "jixiao codes issue --institution 东城支行" in result.output
    assert "Nobody received it" in result.output

    # Everyone in one institution, one of them bound: queued to one, the rest named, capped.
    with sessions(engine)() as s, s.begin():
        staff = s.scalars(select(Employee).where(Employee.number == "1001")).one()
        bind(s, staff)
    engine.dispose()
    some = runner.invoke(app, [*args, "--institution", "东城支行", "--limit", "2"])
    assert some.exit_code == 0, some.output
    assert "Announcement queued for 1 chats." in some.output
    assert "1 of 5 recipients can be reached in chat." in some.output
    assert "4 have no chat with the bot yet and will not get it: 100 东城支行行长, " in some.output
    assert "… and 2 more people" in some.output
    again = runner.invoke(app, [*args, "--institution", "东城支行"])
    assert "1 of them already had this announcement queued" in again.output


def test_backlog_and_reach_queries_on_every_database(session):
    """The same questions asked of SQLite and PostgreSQL: counts, ages, stranded claims,
    failures grouped per person, and who an announcement would miss."""
    from bot.notify.undelivered import backlog, reach

    _, people = small_org(session)
    inst, head, staff = people["东城支行"]
    at = T0 + dt.timedelta(hours=3)
    for i in range(3):
        _queue(session, staff[0], f"q{i}", created=T0 + dt.timedelta(minutes=i))
    _queue(session, staff[1], "retry", next_attempt_at=at + dt.timedelta(minutes=1))
    _queue(session, staff[2], "live", state=OutboxState.CLAIMED, lease_until=at + dt.timedelta(1))
    _queue(session, staff[2], "dead", state=OutboxState.SENDING, lease_until=T0, claimed_by="w9")
    for key in ("f1", "f2"):
        _queue(session, head, key, state=OutboxState.FAILED, last_error="chat not found")
    _queue(session, head, "u", state=OutboxState.UNKNOWN, last_error="sender stopped")
    bind(session, staff[0])
    bind(session, staff[1])
    session.flush()
    session.scalars(
        select(ChatIdentity).where(ChatIdentity.employee_id == staff[1].id)
    ).one().unreachable = True
    session.add(RoleGrant(employee_id=head.id, role=Role.HEAD))
    session.flush()

    report = backlog(session, at)
    assert (report.queued, report.retrying, report.in_flight, report.stranded) == (4, 1, 1, 1)
    assert report.oldest_queued == T0
    assert report.stranded_by == ["w9"]
    assert [
        (f.person.number if f.person else None, f.state, f.messages) for f in report.failed
    ] == [
        (head.number, OutboxState.FAILED, 2),
        (head.number, OutboxState.UNKNOWN, 1),
    ]
    assert [p.number for p, _ in report.unreachable] == [staff[1].number]
    assert not report.all_delivered

    everyone = reach(session, inst.group_id, institution_id=inst.id)
    assert (everyone.recipients, everyone.reachable) == (5, 1)
    assert [p.number for p in everyone.blocked] == [staff[1].number]
    assert [p.number for p in everyone.no_chat] == sorted(
        [head.number, staff[2].number, staff[3].number]
    )
    assert everyone.no_chat[0].institution == "东城支行"
    heads = reach(session, inst.group_id, role=Role.HEAD)
    assert (heads.recipients, heads.reachable, len(heads.no_chat)) == (1, 0, 1)


def test_a_person_who_blocked_the_bot_is_listed_once_with_what_missed_them(tmp_path):
    """A failed push to someone whose chat is unreachable is told with that person, once,
    not again among the failures."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        _, _head, staff = people["东城支行"]
        bind(s, staff[0])
        identity = s.scalars(select(ChatIdentity)).one()
        identity.unreachable = True
        for key in ("a", "b"):
            outbox.enqueue(
                s,
                T0,
                platform=identity.platform,
                chat_id=identity.external_id,
                content={"text": key},
                dedupe_key=key,
                employee_id=staff[0].id,
            )
        s.flush()
        for message in s.scalars(select(OutboxMessage)):
            message.state = OutboxState.FAILED
            message.last_error = "Forbidden: bot was blocked by the user"
        number = staff[0].number
    engine.dispose()
    result = runner.invoke(app, ["--database-url", url, "--lang", "en", "undelivered"])
    assert result.exit_code == 0, result.output
    assert result.output.count(f"{number} ") == 1, result.output
    assert "Failed:" not in result.output
    assert ": 2 messages not delivered" in result.output
    assert "Every message was delivered" not in result.output
