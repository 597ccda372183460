"""Outbox pushes to Slack through the real slack_sdk client and a local fake Web API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.notify import outbox
from bot.notify.delivery import Sender
from handlers.slack.transport import SLACK_LIMITS, SlackTransport
from models import ChatIdentity, OutboxMessage, OutboxState
from models.db import make_engine
from tests.factories import small_org
from tests.fakes.slack import FakeSlackAPI, dm_of

NOW = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


@pytest.fixture
def api():
    fake = FakeSlackAPI().start()
    yield fake
    fake.stop()


def _drain(Session, api):
    client = WebClient(token="xoxb-test", base_url=api.base_url)
    sender = Sender(Session, SlackTransport(client), "slack", limits=SLACK_LIMITS)
    return asyncio.run(sender.drain())


def _queue(Session, users):
    with Session() as s, s.begin():
        for n, user in enumerate(users):
            outbox.enqueue(
                s,
                NOW,
                platform="slack",
                chat_id=user,
                content={
                    "text": f"提醒 {n}",
                    "buttons": [[{"label": "开始评分", "payload": "list|x"}]],
                },
                dedupe_key=f"s:{n}",
            )


def test_pushes_arrive_as_block_kit_with_buttons(Session, api):
    _queue(Session, ["U1", "U2"])
    stats = _drain(Session, api)
    assert stats.sent == 2
    posted = api.posted()
    assert [p["channel"] for p in posted] == [
        dm_of("U1"),
        dm_of("U2"),
    ]  # the DMs conversations.open gave
    assert posted[0]["blocks"][1]["elements"][0]["value"] == "list|x"


def test_a_user_who_left_the_workspace_is_not_retried(Session, api):
    api.errors["U9"] = "user_not_found"
    _queue(Session, ["U9"])
    stats = _drain(Session, api)
    assert stats.failed == 1
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.state == OutboxState.FAILED
    assert row.last_error == "user_not_found"


def test_slacks_429_is_honoured_with_retry_after(Session, api):
    api.rate_limit_next = 1
    _queue(Session, ["U3"])
    _drain(Session, api)
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.state == OutboxState.QUEUED  # queued again, not failed
    assert row.attempts == 0, "a 429 is a wait, not a failed attempt"
    assert row.last_error == "ratelimited"
    assert api.posted() == []


def test_the_worker_runs_a_sender_for_each_configured_platform(tmp_path, monkeypatch):
    from bot.cli.worker import _senders
    from bot.infra.settings import Settings

    # Each platform reads its own settings from the environment (handlers/*/settings.py).
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    for env, expected in (
        ({}, 0),
        ({"SLACK_BOT_TOKEN": "xoxb-t"}, 1),
        ({"SLACK_BOT_TOKEN": "xoxb-t", "TELEGRAM_BOT_TOKEN": "1:T"}, 2),
    ):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        jobs = _senders(Settings(_env_file=None), engine)
        assert len(jobs) == expected
        for job in jobs:
            job.close()  # built, not run
    engine.dispose()


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()


def _queue_digest(Session, user):
    with Session() as s, s.begin():
        outbox.enqueue(
            s,
            NOW,
            platform="slack",
            chat_id=user,
            content={
                "text": "进度 2/4",
                "image": PNG,
                "buttons": [[{"label": "提醒", "payload": "nudge|x"}]],
            },
            dedupe_key=f"d:{user}",
        )


def test_a_digest_goes_to_the_dm_text_first_then_its_chart(Session, api):
    _queue_digest(Session, "U5")
    stats = _drain(Session, api)
    assert stats.sent == 1
    calls = [name for name, _ in api.calls if not name.startswith("F")]
    assert calls == [
        "conversations.open",
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert api.posted()[0]["channel"] == dm_of("U5") == "D00000005"
    assert api.posted("files.completeUploadExternal")[0]["channel_id"] == "D00000005"
    assert api.uploads == 1
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.state, row.parts_sent) == (OutboxState.SENT, 2)


def test_a_chart_that_cannot_be_uploaded_never_costs_the_text(Session, api):
    api.upload_error = "invalid_arguments"
    _queue_digest(Session, "U6")
    stats = _drain(Session, api)
    assert stats.failed == 1  # permanent: not retried, left for HR
    assert [p["text"] for p in api.posted()] == ["进度 2/4"]
    assert api.posted()[0]["blocks"][1]["elements"][0]["value"] == "nudge|x"
    with Session() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.state, row.parts_sent, row.last_error) == (
        OutboxState.FAILED,
        1,
        "invalid_arguments",
    )


def test_the_fake_refuses_to_share_a_file_to_a_user_id_as_slack_does(api):
    status, _headers, body = api.answer(
        "files.completeUploadExternal", {"channel_id": "U07ABCDEF9", "files": [{"id": "F1"}]}
    )
    assert (status, body) == (200, {"ok": False, "error": "invalid_arguments"})


def test_a_user_who_left_is_marked_unreachable(Session, api):
    with Session() as s, s.begin():
        _group, people = small_org(s)
        head = people["东城支行"][1]
        s.add(ChatIdentity(platform="slack", external_id="U8", employee_id=head.id, bound_at=NOW))
    api.errors["U8"] = "account_inactive"
    _queue(Session, ["U8"])
    _drain(Session, api)
    with Session() as s:
        assert s.scalars(select(ChatIdentity.unreachable)).one() is True
