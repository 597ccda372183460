"""HR sees who the bot could not reach; opening a period tells its scorers."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from bot import outbox
from bot.cli.main import app
from models import ChatIdentity, OutboxMessage, OutboxState
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
    assert "has blocked the bot" in result.output


def test_opening_a_period_queues_one_message_per_scorer(tmp_path):
    url = f"sqlite:///{tmp_path / 'y.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        _, people = small_org(s)
        for _, head, _ in people.values():
            bind(s, head)
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
