"""Slack through the real slack-bolt app: signed requests in, a local fake Web API out."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from starlette.testclient import TestClient

from bot.infra.settings import Settings
from handlers.server import create_server
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.slack import FakeSlackAPI, dm_of

SECRET = "slack-signing-secret"


@pytest.fixture
def api():
    fake = FakeSlackAPI().start()
    yield fake
    fake.stop()


def slack_on(monkeypatch, **extra: str) -> Settings:
    """Slack's settings are its own (SLACK_*, handlers/slack/settings.py): from the
    environment, as in production; Jixiao's from nowhere but their defaults."""
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, **extra}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


@pytest.fixture
def client(Session, api, monkeypatch):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.zhang, "ZH4NG8KP")
        issue_code(s, w.manager, "K7Q2M9XD")
    settings = slack_on(monkeypatch)
    server = create_server(settings, Session, slack_base_url=api.base_url, clock=lambda: NOW)
    with TestClient(server, base_url="http://127.0.0.1") as c:
        yield c


def _signed(body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET):
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def _event(client, text, user="U1", event_id="Ev1", **kw):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": "T1",
            "event": {
                "type": "message",
                "user": user,
                "channel": f"D{user}",
                "channel_type": "im",
                "text": text,
                "ts": "1.1",
            },
        }
    )
    return client.post(
        "/slack/events", content=body, headers=_signed(body, "application/json", **kw)
    )


def _command(client, text, user="U1", trigger="t1"):
    body = urlencode(
        {
            "command": "/jixiao",
            "text": text,
            "user_id": user,
            "channel_id": f"D{user}",
            "channel_name": "directmessage",
            "trigger_id": trigger,
            "team_id": "T1",
        }
    )
    return client.post(
        "/slack/events", content=body, headers=_signed(body, "application/x-www-form-urlencoded")
    )


def _press(client, value, user="U1", trigger="t9"):
    payload = json.dumps(
        {
            "type": "block_actions",
            "trigger_id": trigger,
            "team": {"id": "T1"},
            "user": {"id": user},
            "channel": {"id": f"D{user}", "name": "directmessage"},
            "actions": [
                {"action_id": "jx-1", "value": value, "type": "button", "action_ts": "2.2"}
            ],
        }
    )
    body = urlencode({"payload": payload})
    return client.post(
        "/slack/events", content=body, headers=_signed(body, "application/x-www-form-urlencoded")
    )


def _wait_for(api, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posted = api.posted()
        if len(posted) >= count:
            return posted
        time.sleep(0.02)
    raise AssertionError(f"expected {count} messages, got {api.posted()}")


def _text(message):
    return " ".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


def test_binding_by_direct_message_and_reading_the_pay_explanation(client, api):
    assert _event(client, "/start ZH4NG8KP").status_code == 200
    assert "欢迎" in _text(_wait_for(api, 1)[0])
    _event(client, "为什么我这个月绩效工资这么少", event_id="Ev2")
    why = _text(_wait_for(api, 2)[1])
    assert "¥" in why


def test_the_slash_command_and_buttons_open_the_scoring_form(client, api):
    _command(client, "start K7Q2M9XD", user="U2")
    _wait_for(api, 1)
    _command(client, "score", user="U2", trigger="t2")
    listing = _wait_for(api, 2)[1]
    buttons = [e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons
    _press(client, buttons[0]["value"], user="U2")
    modal = _wait_for_method(api, "views.open")[0]["view"]
    assert modal["type"] == "modal"
    assert [b["block_id"] for b in modal["blocks"]][:2] == ["ind-1", "com-1"]


def test_a_retried_event_is_answered_once(client, api):
    _event(client, "/start ZH4NG8KP", event_id="EvSame")
    _wait_for(api, 1)
    _event(client, "/start ZH4NG8KP", event_id="EvSame")
    time.sleep(0.5)
    assert len(api.posted()) == 1


def test_unsigned_forged_and_stale_requests_are_refused(client, api):
    body = json.dumps({"type": "event_callback", "event_id": "x", "event": {}})
    assert (
        client.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 401
    )
    forged = _signed(body, "application/json", secret="not-the-secret")
    assert client.post("/slack/events", content=body, headers=forged).status_code == 401
    stale = _signed(body, "application/json", timestamp=int(time.time()) - 6 * 60)
    assert client.post("/slack/events", content=body, headers=stale).status_code == 401
    time.sleep(0.2)
    assert api.posted() == []


def test_a_button_from_another_users_chat_is_refused(client, api):
    _command(client, "start K7Q2M9XD", user="U3")
    _wait_for(api, 1)
    _command(client, "score", user="U3", trigger="t3")
    listing = _wait_for(api, 2)[1]
    stolen = next(e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"])[
        "value"
    ]
    _event(client, "/start ZH4NG8KP", user="U4", event_id="Ev4")
    _wait_for(api, 3)
    _press(client, stolen, user="U4", trigger="t4")
    answer = _text(_wait_for(api, 4)[3])
    assert "1/5" not in answer


@pytest.fixture
def email_client(Session, api, monkeypatch):
    with Session() as s, s.begin():
        w = build_world(s)
        w.zhang.email = "Zhang.San@example.com"
        w.staff[1].email = "shared@example.com"
        w.staff[2].email = "shared@example.com"
    api.emails.update({"UZ": "zhang.san@example.com", "US": "shared@example.com"})
    settings = slack_on(monkeypatch, SLACK_BIND_BY_EMAIL="true")
    server = create_server(settings, Session, slack_base_url=api.base_url, clock=lambda: NOW)
    with TestClient(server, base_url="http://127.0.0.1") as c:
        yield c


def _home(client, user, event_id):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": "T1",
            "event": {"type": "app_home_opened", "user": user, "tab": "home"},
        }
    )
    return client.post("/slack/events", content=body, headers=_signed(body, "application/json"))


def _wait_for_method(api, method, count=1, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.posted(method)
        if len(found) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {method} among {[m for m, _ in api.calls]}")


def test_the_app_home_shows_the_menu_with_a_why_button(client, api):
    _event(client, "/start ZH4NG8KP", user="UH", event_id="EvH1")
    _wait_for(api, 1)
    _home(client, "UH", "EvH2")
    view = _wait_for_method(api, "views.publish")[0]["view"]
    assert view["type"] == "home"
    labels = [
        e["text"]["text"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "为什么是这个绩效工资" in labels
    shown = " ".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    assert "2026-10" in shown  # the latest published result
    assert "¥" in shown


def test_hr_can_let_slack_users_bind_by_their_workspace_email(email_client, api):
    _event(email_client, "我的成绩", user="UZ", event_id="EvE1")
    welcome, answer = (_text(m) for m in _wait_for(api, 2)[:2])
    assert "欢迎" in welcome
    assert "张三" in welcome
    assert "93.90" in answer  # then answered as 张三
    _event(email_client, "我的成绩", user="UZ", event_id="EvE3")
    assert "欢迎" not in _text(_wait_for(api, 3)[2])
    _event(email_client, "我的成绩", user="US", event_id="EvE2")
    how = _text(_wait_for(api, 4)[3])  # two employees share it: no binding
    assert "绑定码" in how
    assert "/start" not in how  # Slack takes "/..." for its own commands


def test_the_web_api_client_waits_out_a_429(client, api):
    api.rate_limit_next = 1
    _event(client, "/start ZH4NG8KP", user="UR", event_id="EvR1")
    assert "欢迎" in _text(_wait_for(api, 1, timeout=15)[0])


def _submit(client, user, view, values, draft=False):
    state = {"values": {}}
    for ind, (value, comment) in values.items():
        state["values"][f"ind-{ind}"] = {"value": {"type": "plain_text_input", "value": value}}
        state["values"][f"com-{ind}"] = {"value": {"type": "plain_text_input", "value": comment}}
    chosen = [{"value": "draft"}] if draft else []
    state["values"]["mode"] = {"value": {"type": "checkboxes", "selected_options": chosen}}
    payload = json.dumps(
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": user},
            "view": {**view, "id": "V1", "state": state},
        }
    )
    body = urlencode({"payload": payload})
    return client.post(
        "/slack/events", content=body, headers=_signed(body, "application/x-www-form-urlencoded")
    )


def _open_modal(client, api, user):
    _command(client, "start K7Q2M9XD", user=user, trigger=f"s-{user}")
    _wait_for(api, 1)  # bolt answers in the background: bound before asking for tasks
    _command(client, "score", user=user, trigger=f"l-{user}")
    listing = _wait_for(api, 2)[1]
    first = next(e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"])[
        "value"
    ]
    _press(client, first, user=user, trigger=f"o-{user}")
    return _wait_for_method(api, "views.open")[0]["view"]


def test_the_modal_shows_problems_inline_and_writes_nothing(client, api, Session):
    view = _open_modal(client, api, "UM")
    ids = [int(b["block_id"][4:]) for b in view["blocks"] if b["block_id"].startswith("ind-")]
    r = _submit(client, "UM", view, {ids[0]: ("150", ""), ids[1]: ("九十", "")})
    assert r.status_code == 200
    answer = r.json()
    assert answer["response_action"] == "errors"
    assert "0–100" in answer["errors"][f"ind-{ids[0]}"]
    assert f"ind-{ids[2]}" in answer["errors"]  # required before submitting
    from models import ScoreEntry, ScoringTask

    task_id = json.loads(view["private_metadata"])["task"]
    with Session() as s:
        assert s.query(ScoreEntry).filter_by(task_id=task_id).count() == 0
        assert s.get(ScoringTask, task_id).state.value == "pending"


def test_the_modal_saves_a_draft_then_submits_once(client, api, Session):
    from models import ScoringTask

    view = _open_modal(client, api, "UN")
    ids = [int(b["block_id"][4:]) for b in view["blocks"] if b["block_id"].startswith("ind-")]
    task_id = json.loads(view["private_metadata"])["task"]
    assert _submit(client, "UN", view, {ids[0]: ("88", "")}, draft=True).status_code == 200
    with Session() as s:
        assert s.get(ScoringTask, task_id).state.value == "draft"
    full = {ids[0]: ("88", ""), ids[1]: ("85", ""), ids[2]: ("良好", "")}
    assert _submit(client, "UN", view, full).status_code == 200
    assert _submit(client, "UN", view, full).status_code == 200  # a double submit
    with Session() as s:
        assert s.get(ScoringTask, task_id).state.value == "submitted"
    texts = [_text(m) for m in _wait_for(api, 5)]
    assert any("已提交：" in t for t in texts)
    # Submitting the unchanged sheet again says so, rather than a bare "already submitted".
    assert any("没有改动" in t and "仍为已提交" in t for t in texts)


def test_a_modal_edit_of_a_submitted_scoring_says_what_changed_and_the_new_total(
    client, api, Session
):
    view = _open_modal(client, api, "UE")
    ids = [int(b["block_id"][4:]) for b in view["blocks"] if b["block_id"].startswith("ind-")]
    full = {ids[0]: ("88", ""), ids[1]: ("85", ""), ids[2]: ("良好", "")}
    assert _submit(client, "UE", view, full).status_code == 200
    edited = {**full, ids[1]: ("75", "")}
    assert _submit(client, "UE", view, edited).status_code == 200
    texts = [_text(m) for m in _wait_for(api, 4)]
    # 40 × 88 + 30 × 75 + 30 × 80, ÷ 100 = 35.2 + 22.5 + 24 = 81.70
    assert any("质量 85 → 75" in t and "仍为已提交" in t and "81.70" in t for t in texts), texts


def test_two_tasks_for_one_person_show_their_role_in_the_list_and_the_modal_title(
    client, api, Session
):
    """A head who is also the direct manager scores the same person in two roles."""
    from models import Employee, Period, ScoringTask

    with Session() as s, s.begin():
        zhang = s.query(Employee).filter_by(number="003").one()
        manager = s.query(Employee).filter_by(number="002").one()
        period = s.query(Period).filter_by(label="2026-11").one()
        s.add(
            ScoringTask(
                period_id=period.id,
                scorer_id=manager.id,
                appraisee_id=zhang.id,
                role_code="head",
                deadline=period.deadline,
            )
        )
    _command(client, "start K7Q2M9XD", user="UR", trigger="s-UR")
    _wait_for(api, 1)
    _command(client, "score", user="UR", trigger="l-UR")
    listing = _wait_for(api, 2)[1]
    buttons = [e for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]]
    labels = [b["text"]["text"] for b in buttons]
    assert "⬜ 张三 (003) · 直接上级" in labels
    assert "⬜ 张三 (003) · 一把手" in labels
    head_task = next(b for b in buttons if b["text"]["text"] == "⬜ 张三 (003) · 一把手")
    _press(client, head_task["value"], user="UR", trigger="o-UR")
    modal = _wait_for_method(api, "views.open")[0]["view"]
    assert modal["title"]["text"] == "张三 (003) · 一把手"
    assert len(modal["title"]["text"]) <= 24


def test_socket_mode_is_for_development_and_needs_both_tokens(Session, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli.main import app as cli
    from bot.infra.settings import get_settings
    from handlers.slack.app import socket_mode

    handler = socket_mode("xoxb-test", "xapp-test", Session)  # built, not connected
    assert handler.app_token == "xapp-test"
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli,
            ["--database-url", f"sqlite:///{tmp_path / 's.db'}", "--lang", "en", "slack-socket"],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SLACK_APP_TOKEN" in result.output


# Requests that crashed, and figures that reached channels (issue 10 and 9): every
# request gets a clean refusal or a polite answer; pay only in the user's own DM.


def _post(client, payload: dict, timestamp: str | bytes | None = None):
    body = urlencode({"payload": json.dumps(payload)})
    headers = _signed(body, "application/x-www-form-urlencoded")
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    return client.post("/slack/events", content=body, headers=headers)


def _bound(client, api, user="U1"):
    _event(client, "/start ZH4NG8KP", user=user, event_id=f"Ev-bind-{user}")
    _wait_for(api, 1)


def _metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'{name}_total{{platform="slack"}}'):
            return float(line.split()[-1])
    return 0.0


def test_a_non_numeric_timestamp_is_refused_cleanly_and_counts_as_no_update(client, api):
    for ts in ("abc", "", "1e9", "-5", "12.5", b"\xb2"):
        r = _post(client, {"type": "block_actions"}, timestamp=ts)
        assert r.status_code == 401, ts
    assert _metric(client, "jixiao_updates") == 0
    assert _metric(client, "jixiao_errors") == 0


def test_a_forged_signature_is_no_update(client, api):
    body = json.dumps({"type": "event_callback", "event_id": "x", "event": {}})
    forged = _signed(body, "application/json", secret="not-the-secret")
    assert client.post("/slack/events", content=body, headers=forged).status_code == 401
    assert _metric(client, "jixiao_updates") == 0


def test_a_modal_submitted_by_an_unbound_user_gets_a_polite_answer(client, api):
    view = _open_modal(client, api, "UM")
    r = _submit(client, "UX", view, {})
    assert r.status_code == 200
    answer = _text(_wait_for(api, 3)[2])
    assert "/start" in answer or "绑定" in answer
    assert _wait_for(api, 3)[2]["channel"] == dm_of("UX")


def test_a_modal_for_another_scorers_task_writes_nothing(client, api, Session):
    from models import ScoreEntry

    view = _open_modal(client, api, "UM")
    _event(client, "/start ZH4NG8KP", user="UZ", event_id="EvZ")
    _wait_for(api, 3)
    ids = [int(b["block_id"][4:]) for b in view["blocks"] if b["block_id"].startswith("ind-")]
    r = _submit(client, "UZ", view, {ids[0]: ("90", ""), ids[1]: ("90", ""), ids[2]: ("良好", "")})
    assert r.status_code == 200
    with Session() as s:
        assert s.query(ScoreEntry).count() > 0  # the world's published scores
        task = json.loads(view["private_metadata"])["task"]
        assert s.query(ScoreEntry).filter_by(task_id=task).count() == 0


def test_forged_private_metadata_and_fields_get_no_500(client, api, Session):
    from models import ScoreEntry

    view = _open_modal(client, api, "UM")
    before = len(api.posted())
    with Session() as s:
        stored = s.query(ScoreEntry).count()
    for meta in ("not json", "[1]", '{"task": "x"}', '{"task": null}', "{}", '{"task": 99999}'):
        r = _submit(client, "UM", {**view, "private_metadata": meta}, {})
        assert r.status_code == 200, meta
    bad_state = {"values": {"ind-x": {"value": {"value": "90"}}}}
    r = _post(
        client,
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "UM"},
            "view": {**view, "id": "V1", "state": bad_state},
        },
    )
    assert r.status_code == 200
    numbers = {"values": {f"ind-{view['blocks'][0]['block_id'][4:]}": {"value": {"value": 90}}}}
    r = _post(
        client,
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "UM"},
            "view": {**view, "id": "V1", "state": numbers},
        },
    )
    assert r.status_code == 200
    time.sleep(0.3)
    with Session() as s:
        assert s.query(ScoreEntry).count() == stored
    # Only the unknown task was answered (politely, in UM's own DM).
    assert all(m["channel"] == dm_of("UM") for m in api.posted()[before:])
    assert _metric(client, "jixiao_errors") == 0


def _mention(client, user="U1", channel="C42", event_id="EvM"):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": "T1",
            "event": {
                "type": "app_mention",
                "user": user,
                "channel": channel,
                "text": "<@B1> 我的成绩",
                "ts": "3.3",
            },
        }
    )
    return client.post("/slack/events", content=body, headers=_signed(body, "application/json"))


def test_an_app_mention_is_answered_only_to_the_speaker(client, api):
    _bound(client, api)
    r = _mention(client)
    assert r.status_code == 200
    note = _wait_for_method(api, "chat.postEphemeral")[0]
    assert note["channel"] == "C42"
    assert note["user"] == "U1"
    assert "¥" not in note["text"]
    assert len(api.posted()) == 1  # nothing public


def _channel_message(client, user="U1", channel="C42", event_id="EvC"):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": event_id,
            "team_id": "T1",
            "event": {
                "type": "message",
                "user": user,
                "channel": channel,
                "channel_type": "channel",
                "text": "我的成绩",
                "ts": "4.4",
            },
        }
    )
    return client.post("/slack/events", content=body, headers=_signed(body, "application/json"))


def test_messages_in_channels_get_no_public_reply(client, api):
    _bound(client, api)
    assert _channel_message(client).status_code == 200
    time.sleep(0.5)
    assert len(api.posted()) == 1
    assert not api.posted("chat.postEphemeral")


def _press_in(client, value, channel: dict | None, user="U1", trigger="tp"):
    payload = {
        "type": "block_actions",
        "trigger_id": trigger,
        "team": {"id": "T1"},
        "user": {"id": user},
        "actions": [{"action_id": "jx-1", "value": value, "type": "button", "action_ts": "2.2"}],
    }
    if channel is not None:
        payload["channel"] = channel
    return _post(client, payload)


def _my_button(client, api):
    _bound(client, api)
    _event(client, "菜单", event_id="EvMenu")
    menu = _wait_for(api, 2)[1]
    return next(
        e["value"]
        for b in menu["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "我的成绩" in e["text"]["text"]
    )


def test_a_button_in_a_channel_without_a_name_never_posts_pay_there(client, api):
    value = _my_button(client, api)
    for n, channel in enumerate(({"id": "C778"}, {"id": "C779", "name": None})):
        _press_in(client, value, channel, trigger=f"tc{n}")
    notes = _wait_for_method(api, "chat.postEphemeral", 2)
    assert all("¥" not in n["text"] for n in notes)
    assert {n["channel"] for n in notes} == {"C778", "C779"}
    assert all(m["channel"] == dm_of("U1") for m in api.posted())
    assert all("¥" not in _text(m) for m in api.posted())


def test_a_button_in_the_dm_shows_the_pay_in_the_dm(client, api):
    value = _my_button(client, api)
    _press_in(client, value, {"id": "DU1"})
    answer = _wait_for(api, 3)[2]
    assert answer["channel"] == dm_of("U1")
    assert "¥" in _text(answer)


def test_a_forged_button_refusal_is_not_posted_into_the_victims_dm(client, api):
    value = _my_button(client, api)  # U1's button
    _event(client, "/start K7Q2M9XD", user="U3", event_id="EvU3")
    _wait_for(api, 3)
    to_victim = [m for m in api.posted() if m["channel"] in ("U1", dm_of("U1"))]
    _press_in(client, value, {"id": "DU1", "name": "directmessage"}, user="U3", trigger="tf")
    refusal = _wait_for(api, 4)[3]
    assert refusal["channel"] == dm_of("U3")
    assert "¥" not in _text(refusal)
    time.sleep(0.3)
    assert [m for m in api.posted() if m["channel"] in ("U1", dm_of("U1"))] == to_victim


def _command_in(client, api, text, channel_id, channel_name, user="U1", trigger="tc"):
    body = urlencode(
        {
            "command": "/jixiao",
            "text": text,
            "user_id": user,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "trigger_id": trigger,
            "team_id": "T1",
            "response_url": f"{api.base_url}response",
        }
    )
    return client.post(
        "/slack/events", content=body, headers=_signed(body, "application/x-www-form-urlencoded")
    )


def test_the_slash_command_in_a_channel_answers_only_the_speaker(client, api):
    _bound(client, api)
    r = _command_in(client, api, "myscore", "C42", "general")
    assert r.status_code == 200
    answer = _wait_for_method(api, "response")[0]
    assert answer["response_type"] == "ephemeral"
    assert "¥" not in answer["text"]
    assert len(api.posted()) == 1  # nothing posted in the channel


def test_myscore_in_a_dm_between_two_people_goes_to_the_users_own_dm(client, api):
    _bound(client, api)
    _command_in(client, api, "myscore", "DPEER", "directmessage")
    answer = _wait_for(api, 2)[1]
    assert answer["channel"] == dm_of("U1")
    assert "¥" in _text(answer)
    assert not [m for m in api.posted() if m["channel"] == "DPEER"]


def test_a_slow_database_never_makes_slack_wait_nor_stalls_the_server(
    client, api, Session, monkeypatch
):
    import threading

    from handlers.slack import app as slack_app

    view = _open_modal(client, api, "UM")
    ids = [int(b["block_id"][4:]) for b in view["blocks"] if b["block_id"].startswith("ind-")]
    real = slack_app.save_sheet

    def slow(*args, **kw):
        time.sleep(3.5)
        return real(*args, **kw)

    monkeypatch.setattr(slack_app, "save_sheet", slow)
    answer = {}

    def submit():
        started = time.monotonic()
        answer["response"] = _submit(client, "UM", view, {ids[0]: ("88", "")}, draft=True)
        answer["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=submit)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert client.get("/healthz").status_code == 200
    assert time.monotonic() - started < 1.0  # the event loop is free meanwhile
    worker.join(timeout=10)
    assert answer["response"].status_code == 200
    assert answer["seconds"] < 3.0  # acknowledged within Slack's 3 s
    saved = _wait_for(api, 3, timeout=10)[2]  # the outcome comes to the DM
    assert saved["channel"] == dm_of("UM")
    assert "草稿" in _text(saved)
    from models import ScoreEntry

    with Session() as s:
        assert s.query(ScoreEntry).filter_by(value=Decimal(88)).count() == 1


def test_a_failing_request_counts_as_an_error_not_an_update(client, api, monkeypatch):
    from handlers.slack import app as slack_app

    view = _open_modal(client, api, "UM")
    updates = _metric(client, "jixiao_updates")

    def broken(*args, **kw):
        raise RuntimeError("database gone")

    monkeypatch.setattr(slack_app, "save_sheet", broken)
    r = _submit(client, "UM", view, {})
    assert r.status_code == 500
    assert _metric(client, "jixiao_errors") == 1
    assert _metric(client, "jixiao_updates") == updates


def test_the_app_manifest_names_what_the_app_listens_to():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    manifest = (root / "docs" / "slack_manifest.yaml").read_text(encoding="utf-8")
    source = (root / "handlers" / "slack" / "app.py").read_text(encoding="utf-8")
    for event in ("app_mention", "app_home_opened"):
        assert f'@app.event("{event}")' in source
        assert f"- {event}" in manifest
    assert '@app.event("message")' in source
    assert "- message.im" in manifest
    assert '@app.command("/jixiao")' in source
    assert "command: /jixiao" in manifest
    assert manifest.count("example.com/slack/events") == 3  # command, events, interactivity
    for scope in ("chat:write", "im:history", "commands", "app_mentions:read"):
        assert f"- {scope}" in manifest


def _wait_for_uploads(api, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = api.posted("files.completeUploadExternal")
        if len(done) >= count:
            return done
        time.sleep(0.02)
    raise AssertionError(f"expected {count} uploads, got {api.calls}")


@pytest.fixture
def head_client(Session, api, monkeypatch):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.head, "HEAD7K2M")
    settings = slack_on(monkeypatch)
    server = create_server(settings, Session, slack_base_url=api.base_url, clock=lambda: NOW)
    with TestClient(server, base_url="http://127.0.0.1") as c:
        yield c


def test_a_heads_progress_on_slack_posts_the_text_then_the_chart_in_the_apps_dm(head_client, api):
    _event(head_client, "/start HEAD7K2M", user="U7", event_id="Ev-h1")
    _wait_for(api, 1)
    _event(head_client, "今天的进度怎么样", user="U7", event_id="Ev-h2")
    text = _wait_for(api, 2)[1]
    (upload,) = _wait_for_uploads(api, 1)
    assert text["channel"] == upload["channel_id"] == dm_of("U7")
    assert api.uploads == 1


def test_a_chart_slack_refuses_costs_only_the_picture(head_client, api):
    api.upload_error = "not_allowed_token_type"
    _event(head_client, "/start HEAD7K2M", user="U7", event_id="Ev-h1")
    _wait_for(api, 1)
    _event(head_client, "今天的进度怎么样", user="U7", event_id="Ev-h2")
    assert "%" in _text(_wait_for(api, 2)[1])
    _event(head_client, "/menu", user="U7", event_id="Ev-h3")
    assert _wait_for(api, 3)  # the app still answers
