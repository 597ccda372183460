"""Feishu through the real lark-oapi SDK: encrypted, signed callbacks in, a local fake of
Feishu's open API out."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time

import pytest
from sqlalchemy import select

from bot.infra.message import Button, Reply
from bot.notify.delivery import Sender
from handlers.feishu.cards import buttons_of, card, text_of
from handlers.feishu.client import make_client
from handlers.feishu.settings import FeishuSettings
from handlers.feishu.transport import FEISHU_LIMITS, FeishuTransport
from models import ChatIdentity, ScoreEntry
from tests.chat_helpers import NOW, build_world, issue_code
from tests.fakes.feishu import FakeFeishuAPI
from tests.feishu_helpers import (
    APP_ID,
    KEY,
    SECRET,
    TOKEN,
    FeishuUser,
    card_action,
    encrypt,
    message_event,
    signed,
)


@pytest.fixture
def api():
    fake = FakeFeishuAPI().start()
    yield fake
    fake.stop()


@pytest.fixture
def world(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.zhang, "ZH4NG8KP")
        issue_code(s, w.manager, "K7Q2M9XD")
    return w


@pytest.fixture
def user(Session, api, world, monkeypatch):
    u = FeishuUser(Session, api, monkeypatch)
    yield u
    u.close()


def test_the_url_verification_challenge_is_answered_only_with_our_token(user):
    plain = {"challenge": "ch-123", "token": TOKEN, "type": "url_verification"}
    body = json.dumps({"encrypt": encrypt(plain)}).encode()
    r = user.client.post("/feishu/events", content=body)
    assert r.status_code == 200
    assert r.json() == {"challenge": "ch-123"}
    forged = {**plain, "token": "not-ours"}
    r = user.client.post("/feishu/events", content=json.dumps({"encrypt": encrypt(forged)}))
    assert r.status_code == 401
    assert "ch-123" not in r.text


def test_bad_signatures_and_foreign_keys_are_refused_and_nothing_is_answered(user, api):
    event = message_event("e1", "ou_9", "ZH4NG8KP")
    body, headers = signed(event, sign_key="another-key")
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 401
    body, headers = signed(event, key="another-key")  # encrypted and signed with theirs
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 401
    _, headers = signed(event)
    plain = json.dumps(event).encode()  # not encrypted at all
    assert user.client.post("/feishu/events", content=plain, headers=headers).status_code == 401
    body, headers = signed(event)
    del headers["X-Lark-Signature"]
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 401
    body, headers = signed(message_event("e2", "ou_9", "ZH4NG8KP", token="not-ours"))
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 401
    assert api.messages == []


def test_binding_by_code_then_the_menu_as_cards_with_buttons(user, api, Session):
    seen = user.say("ZH4NG8KP")
    assert "张三" in seen[0][0]
    with Session() as s:
        ident = s.scalar(select(ChatIdentity).where(ChatIdentity.platform == "feishu"))
        assert ident is not None
        assert ident.external_id == "ou_9"
    menu = user.say("/menu")
    assert menu[-1][1], "the menu has buttons"
    sent = api.messages[-1]
    assert sent["receive_id"] == "ou_9"
    assert sent["receive_id_type"] == "open_id"
    assert sent["msg_type"] == "interactive"
    # The fake refuses any call without the tenant access token it hands out, so these
    # cards arrived with it (the SDK fetches it once per app and caches it).


def test_a_redelivered_event_is_answered_once(user, api):
    body, headers = signed(message_event("same", "ou_9", "ZH4NG8KP"))
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 200
    n = len(api.messages)
    body, headers = signed(message_event("same", "ou_9", "ZH4NG8KP"))
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 200
    assert len(api.messages) == n == 1


def _find(replies, label):
    for _, buttons in reversed(replies):
        for text, payload in buttons:
            if label in text:
                return payload
    raise AssertionError(f"no {label!r} in {replies}")


def test_a_form_step_updates_the_tapped_card_in_place(user, api):
    user.say("K7Q2M9XD")
    listing = user.say("/score")
    before = len(api.messages)
    body, headers = signed(card_action("c1", "ou_9", {"jx": _find(listing, "张三")}))
    r = user.client.post("/feishu/events", content=body, headers=headers)
    assert r.status_code == 200
    updated = r.json()["card"]
    assert updated["type"] == "raw"
    assert "张三" in text_of(updated["data"])
    assert buttons_of(updated["data"])
    step = user.press(_find([(text_of(updated["data"]), buttons_of(updated["data"]))], "90"))
    assert step
    assert len(api.messages) == before


def test_forged_card_actions_are_refused_and_write_nothing(user, api, Session):
    user.say("K7Q2M9XD")
    listing = user.say("/score")
    payload = _find(listing, "张三")
    with Session() as s:
        entries = len(s.scalars(select(ScoreEntry)).all())
    forged = payload[:-2] + ("aa" if not payload.endswith("aa") else "bb")
    seen = user.press(forged)
    assert seen, "a forged tap is answered politely"
    assert seen[0][0] == "抱歉，您无权查看或操作此内容。", seen
    body, headers = signed(card_action("c9", "ou_9", {"other": "x"}))
    r = user.client.post("/feishu/events", content=body, headers=headers)
    assert r.status_code == 200
    assert "card" not in r.json()
    with Session() as s:
        assert len(s.scalars(select(ScoreEntry)).all()) == entries


def test_binding_by_profile_email_when_hr_allows_it(Session, api, world, monkeypatch):
    with Session() as s, s.begin():
        s.merge(world.zhang).email = "zhang@example.cn"
    api.emails["ou_z"] = "Zhang@Example.cn"
    u = FeishuUser(Session, api, monkeypatch, user="ou_z", FEISHU_BIND_BY_EMAIL="true")
    try:
        seen = u.say("/menu")
    finally:
        u.close()
    assert "张三" in seen[0][0]


def test_without_the_setting_the_email_is_not_used(Session, api, world, monkeypatch):
    with Session() as s, s.begin():
        s.merge(world.zhang).email = "zhang@example.cn"
    api.emails["ou_z"] = "zhang@example.cn"
    u = FeishuUser(Session, api, monkeypatch, user="ou_z")
    try:
        seen = u.say("/menu")
    finally:
        u.close()
    assert "张三" not in seen[0][0]


def _settings(api) -> FeishuSettings:
    return FeishuSettings(_env_file=None, app_id=APP_ID, app_secret=SECRET, api_url=api.base_url)


def test_a_push_with_a_chart_is_one_card_with_the_uploaded_image(api):
    transport = FeishuTransport(make_client(_settings(api)))
    content = {
        "text": "今日进度",
        "buttons": [[{"label": "催办", "payload": "p1"}]],
        "image": base64.b64encode(b"\x89PNG-chart").decode(),
    }
    parts = transport.parts(content)
    assert len(parts) == 1
    delivery = asyncio.run(transport.send("ou_h", parts[0]))
    assert delivery.outcome == "sent"
    assert api.images == [b"\x89PNG-chart"]
    sent = api.cards()[0]
    assert text_of(sent) == "今日进度"
    assert buttons_of(sent) == [("催办", "p1")]
    assert any(e["tag"] == "img" and e["img_key"] == "img_1" for e in sent["elements"])


def test_failures_are_sorted_as_feishu_documents_them(api):
    transport = FeishuTransport(make_client(_settings(api)))
    api.rate_limit_next = 1
    limited = asyncio.run(transport.send("ou_a", {"text": "x"}))
    assert (limited.outcome, limited.retry_after) == ("retry_after", 2.0)
    api.errors["ou_gone"] = 230013  # Bot has NO availability to this user
    gone = asyncio.run(transport.send("ou_gone", {"text": "x"}))
    assert (gone.outcome, gone.unreachable) == ("permanent", True)
    api.errors["ou_bad"] = 230001  # invalid parameter
    bad = asyncio.run(transport.send("ou_bad", {"text": "x"}))
    assert (bad.outcome, bad.unreachable) == ("permanent", False)
    api.errors["ou_odd"] = 1234567
    assert asyncio.run(transport.send("ou_odd", {"text": "x"})).outcome == "transient"


def test_a_person_feishu_cannot_reach_is_marked_unreachable_by_the_sender(Session, api, world):
    from bot.chat.binding import attach
    from bot.notify import outbox

    with Session() as s, s.begin():
        attach(s, NOW, "feishu", "ou_gone", s.merge(world.zhang))
        outbox.enqueue(
            s,
            NOW,
            platform="feishu",
            chat_id="ou_gone",
            content={"text": "结果已发布"},
            dedupe_key="published:1",
        )
    api.errors["ou_gone"] = 230013
    transport = FeishuTransport(make_client(_settings(api)))
    sender = Sender(Session, transport, "feishu", limits=FEISHU_LIMITS, clock=lambda: NOW)
    stats = asyncio.run(sender.drain())
    assert stats.failed == 1
    with Session() as s:
        ident = s.scalar(select(ChatIdentity).where(ChatIdentity.external_id == "ou_gone"))
        assert ident is not None
        assert ident.unreachable


def test_cards_keep_text_plain_and_payloads_opaque():
    reply = Reply("*not bold* <at id=all></at>", [[Button("好", "sig.1")]])
    data = card(reply)
    assert data["elements"][0]["text"] == {
        "tag": "plain_text",
        "content": "*not bold* <at id=all></at>",
    }
    assert buttons_of(data) == [("好", "sig.1")]


def test_feishus_limits_are_kept_per_minute_as_well_as_per_second():
    from bot.notify.delivery import RateLimiter

    limiter = RateLimiter(FEISHU_LIMITS)
    at = 0.0
    for n in range(FEISHU_LIMITS.per_minute):
        at = max(at, at + limiter.overall_wait(at))
        limiter.note(f"ou_{n}", False, at)
    # 950 sends at 45 a second take 21 s; the 951st waits for the minute to turn.
    assert limiter.overall_wait(at) == pytest.approx(60.0 - at, abs=0.05)
    assert KEY  # the helpers' key is the one the server was configured with


def _drain(Session, api):
    transport = FeishuTransport(make_client(_settings(api)))
    sender = Sender(Session, transport, "feishu", limits=FEISHU_LIMITS, clock=lambda: NOW)
    return asyncio.run(sender.drain())


def test_the_result_push_has_a_why_button_that_explains_the_pay(Session, api, world, monkeypatch):
    from bot.notify.reminders import queue_results_published

    u = FeishuUser(Session, api, monkeypatch, user="ou_z")
    try:
        u.say("ZH4NG8KP")
        with Session() as s, s.begin():
            assert queue_results_published(s, s.merge(world.october), NOW) >= 1
        before = len(api.messages)
        assert _drain(Session, api).sent >= 1
        pushed = [(text_of(c), buttons_of(c)) for c in api.cards()[before:]]
        mine = [
            p
            for p, m in zip(pushed, api.messages[before:], strict=True)
            if m["receive_id"] == "ou_z"
        ]
        assert len(mine) == 1
        text, buttons = mine[0]
        assert "2026-10" in text
        assert len(buttons) == 1
        why = u.press(buttons[0][1])
    finally:
        u.close()
    assert "¥" in why[0][0]


def test_the_heads_digest_is_one_card_with_its_chart(Session, api):
    from bot.appraisal.periods import open_period
    from bot.notify.digest import queue_head_digests
    from tests.factories import T0, bind, small_org

    nine = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with Session() as s, s.begin():
        group, people = small_org(s)
        open_period(s, T0, group=group, label="2026-11", scheme_code="STD")
        for _inst, head, _ in people.values():
            bind(s, head, chat="ou_head", platform="feishu")
        assert queue_head_digests(s, group.id, nine) == 2
    assert _drain(Session, api).sent == 2
    assert len(api.images) == 2
    assert all(image.startswith(b"\x89PNG") for image in api.images)
    for sent in api.cards():
        assert [e["tag"] for e in sent["elements"]].count("img") == 1
        assert "0/" in text_of(sent)  # nobody has submitted yet


def test_in_a_group_only_a_mention_is_answered_there_without_buttons_or_figures(user, api):
    user.say("ZH4NG8KP")
    before = len(api.messages)
    body, headers = signed(message_event("g1", "ou_9", "/myscore", chat_type="group"))
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 200
    assert len(api.messages) == before  # not addressed to the bot
    mention = [{"key": "@_user_1", "name": "Jixiao", "id": {"open_id": "ou_bot"}}]
    body, headers = signed(
        message_event("g2", "ou_9", "@_user_1 /myscore", chat_type="group", mentions=mention)
    )
    assert user.client.post("/feishu/events", content=body, headers=headers).status_code == 200
    sent = api.messages[before:]
    assert [m["receive_id_type"] for m in sent] == ["chat_id"]
    answer = json.loads(sent[0]["content"])
    assert buttons_of(answer) == []
    assert "¥" not in text_of(answer)


def test_the_long_connection_command_needs_the_apps_credentials(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from bot.cli.main import build

    monkeypatch.chdir(tmp_path)  # no .env here
    for key in ("FEISHU_APP_ID", "FEISHU_APP_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(build(), ["--lang", "en", "feishu-socket"])
    assert result.exit_code == 2
    assert "FEISHU_APP_ID" in result.output


def test_a_429_in_the_middle_of_a_chats_pushes_keeps_their_order_and_sends_each_once(
    Session, api, world
):
    """The chart's upload of the second push meets Feishu's 429 (99991400): it waits the
    seconds Feishu gives, then the card goes once, and the third push only after it."""
    from bot.notify import outbox

    def push(n: int, **extra: str) -> None:
        with Session() as s, s.begin():
            outbox.enqueue(
                s,
                NOW,
                platform="feishu",
                chat_id="ou_z",
                content={"text": f"m{n}", **extra},
                dedupe_key=f"order:{n}",
            )

    started = time.monotonic()

    def clock() -> dt.datetime:  # the test's NOW, running as real time runs
        return NOW + dt.timedelta(seconds=time.monotonic() - started)

    transport = FeishuTransport(make_client(_settings(api)))
    sender = Sender(Session, transport, "feishu", limits=FEISHU_LIMITS, clock=clock)
    push(1)
    assert asyncio.run(sender.drain()).sent == 1
    api.rate_limit_next = 1
    push(2, image=base64.b64encode(b"\x89PNG-chart").decode())
    push(3)
    deadline = time.monotonic() + 30
    while len(api.cards()) < 3 and time.monotonic() < deadline:
        asyncio.run(sender.drain())
        time.sleep(0.2)
    assert api.rate_limit_next == 0  # the 429 was met
    assert [text_of(card) for card in api.cards()] == ["m1", "m2", "m3"]
    assert any(e["tag"] == "img" for e in api.cards()[1]["elements"])
