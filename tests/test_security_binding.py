"""Bind codes under attack: simultaneous binds with one code, a copy of the database,
guessing from many chats and one source, and a flood that must leave a bounded trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.chat import binding, codes
from bot.chat.dispatch import handle, handle_once
from bot.infra.message import Incoming
from bot.infra.settings import Settings, get_settings
from models import (
    AuditEvent,
    BindCode,
    BindFailure,
    ChatIdentity,
    ChatState,
    OutboxMessage,
    Role,
    RoleGrant,
)
from tests.chat_helpers import NOW, Chat, bind, build_world, issue_code

CODE = "K7Q2-M9XD-3F8A"
WRONG = "does not work"


@pytest.fixture
def limits(monkeypatch):
    """Settings read by the limits, changeable per test."""

    def set_(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        get_settings.cache_clear()

    yield set_
    get_settings.cache_clear()


def _start(platform: str, user: str, text: str, source: str = "") -> Incoming:
    return Incoming(platform, user, user, text=text, source=source, language_code="en")


def test_twenty_simultaneous_binds_with_one_code_bind_exactly_once(Session):
    with Session() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.zhang, CODE)
    barrier = threading.Barrier(20)

    def one(i: int) -> str:
        barrier.wait()
        replies = handle_once(
            Session, "telegram", f"k{i}", _start("telegram", f"tg{i}", f"/start {CODE}"), NOW
        )
        return "\n".join(r.text for r in replies or [])

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(20)))
    welcomed = [a for a in answers if "Welcome" in a]
    assert len(welcomed) == 1, answers
    # Every other request gets the answer of a used code, nothing else.
    assert all(WRONG in a for a in answers if "Welcome" not in a), answers
    with Session() as s:
        binds = s.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "identity.bind")
        )
        identities = s.scalars(select(ChatIdentity)).all()
    assert binds == 1
    assert len(identities) == 1
    assert identities[0].revoked_at is None


def test_a_copy_of_the_database_does_not_reveal_codes(session):
    """The stored hash is keyed: without the key, it matches no code a thief could try,
    not even the one it stands for."""
    w = build_world(session)
    code = codes.issue(session, w.zhang.id, NOW)
    stored = session.scalar(select(BindCode.code_hash).where(BindCode.employee_id == w.zhang.id))
    plain = codes.normalise(code)
    assert stored != hashlib.sha256(plain.encode()).hexdigest()
    other_key = Settings(_env_file=None, bind_code_secret="another-key-" + "x" * 32)
    assert codes.hash_code(code, other_key) != stored
    assert codes.hash_code(code) == stored


def test_without_a_configured_secret_a_key_file_is_made_once_and_kept(tmp_path):
    path = tmp_path / "keys" / "bind_code.key"
    settings = Settings(_env_file=None, bind_code_secret="", bind_code_secret_file=str(path))
    first = codes.hash_code(CODE, settings)
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    codes._key_file.cache_clear()
    assert codes.hash_code(CODE, settings) == first  # read back, not made anew
    other = Settings(
        _env_file=None, bind_code_secret="", bind_code_secret_file=str(tmp_path / "b.key")
    )
    assert codes.hash_code(CODE, other) != first


def test_codes_issued_before_keyed_hashing_still_bind_until_they_expire(session):
    w = build_world(session)
    legacy = BindCode(
        employee_id=w.zhang.id,
        code_hash=hashlib.sha256(b"ZH4NG8KP").hexdigest(),
        created_at=NOW,
        expires_at=NOW + dt.timedelta(hours=72),
    )
    session.add(legacy)
    session.flush()
    assert "Welcome" in Chat(session, "old", language_code="en").say("/start zh4ng8kp")


@pytest.mark.parametrize(
    "typed",
    [CODE, "k7q2m9xd3f8a", "K7Q2 M9XD 3F8A", f"https://t.me/JixiaoBot?start={CODE}"],
)
@pytest.mark.parametrize("platform", ["telegram", "slack", "web"])
def test_a_bare_code_or_a_pasted_link_binds_on_every_platform(session, platform, typed):
    w = build_world(session)
    issue_code(session, w.zhang, CODE)
    chat = Chat(session, "newcomer", platform=platform, language_code="en")
    assert "Welcome" in chat.say(typed)
    assert "93.90" in chat.say("/myscore")


def test_slack_users_are_never_told_to_type_a_slash_command(session):
    build_world(session)
    slack = Chat(session, "U1", platform="slack", language_code="en").say("hello")
    assert CODE.split("-")[0] in slack
    assert "/start" not in slack
    assert "/start" in Chat(session, "t1", platform="telegram", language_code="en").say("hi")


def test_wrong_used_and_expired_codes_get_the_same_answer(session):
    w = build_world(session)
    issue_code(session, w.zhang, CODE)
    issue_code(session, w.manager, "OLDC-ODE2-3456", now=NOW - dt.timedelta(days=10))
    Chat(session, "first").say(f"/start {CODE}")
    answers = [
        Chat(session, f"guess{i}", language_code="en").say(f"/start {typed}")
        for i, typed in enumerate([CODE, "OLDC-ODE2-3456", "WXYZ-WXYZ-WXYZ"])
    ]
    assert len(set(answers)) == 1
    assert WRONG in answers[0]


def test_tapping_ones_own_link_again_says_already_bound_and_never_locks(session):
    w = build_world(session)
    issue_code(session, w.zhang, CODE)
    chat = Chat(session, "mine", platform="telegram", language_code="en")
    assert "Welcome" in chat.say(f"/start {CODE}")
    for _ in range(binding.TRIES + 2):
        again = chat.say(f"/start {CODE}")
        assert "already bound" in again
        assert "张三" in again
    assert session.scalar(select(func.count(BindFailure.id))) == 0
    assert "93.90" in chat.say("/myscore")


def test_a_bound_user_pasting_their_link_as_text_is_told_they_are_bound(session):
    w = build_world(session)
    issue_code(session, w.zhang, CODE)
    chat = Chat(session, "pasted", platform="telegram", language_code="en")
    assert "Welcome" in chat.say(f"/start {CODE}")
    pasted = chat.say(f"https://t.me/JixiaoBot?start={CODE.replace('-', '')}")
    assert "already bound" in pasted
    assert "did not understand" not in pasted
    # A bare line that happens to be code-shaped stays what it is once bound.
    assert "already bound" not in chat.say("90 90 90 90 90 90")
    assert session.scalar(select(func.count(BindFailure.id))) == 0


def test_one_source_is_stopped_however_many_chat_identities_it_makes(session, limits):
    limits(BIND_FAILURES_PER_SOURCE=8, BIND_FAILURES_PER_MINUTE=1000)
    w = build_world(session)
    issue_code(session, w.zhang, CODE)
    now = NOW
    for i in range(8):  # a fresh identity each time: the per-chat limit never trips
        r = handle(
            session, _start("web", f"web-{i:032x}", "/start WXYZ-WXYZ-WXYZ", "10.0.0.9"), now
        )
        now += dt.timedelta(seconds=1)
    assert "Too many wrong codes" in r[0].text
    # Even the right code is not checked from there now ...
    r = handle(session, _start("web", "web-" + "f" * 32, f"/start {CODE}", "10.0.0.9"), now)
    assert "Too many wrong codes" in r[0].text
    # ... while another machine binds, and the source may try again an hour later.
    r = handle(session, _start("web", "web-" + "e" * 32, f"/start {CODE}", "10.0.0.7"), now)
    assert "Welcome" in r[0].text


def test_a_flood_of_guesses_hits_the_overall_limit_alerts_hr_once_and_stays_small(session, limits):
    limits(BIND_FAILURES_PER_MINUTE=30, BIND_FAILURES_PER_SOURCE=1000)
    w = build_world(session)
    session.add(RoleGrant(employee_id=w.hr.id, role=Role.HR))
    hr_chat = bind(session, w.hr, "hr-phone", platform="telegram")
    issue_code(session, w.zhang, CODE)
    before = binding.GUESSES.labels("overall_limit")._value.get()
    answers = []
    for i in range(300):  # 300 chats from 300 addresses, all within one minute
        user = f"tg-attacker-{i}"
        guess = f"/start {codes.new_code()}"
        at = NOW + dt.timedelta(milliseconds=100 * i)
        answers.append(handle(session, _start("telegram", user, guess, f"10.1.{i}.1"), at)[0].text)
    paused = [a for a in answers if "Too many people" in a]
    assert len(paused) == 270  # the first 30 were checked, the rest refused unchecked
    # The legitimate user is refused too, for that minute only.
    late = NOW + dt.timedelta(seconds=30)
    assert "Too many people" in handle(session, _start("web", "zh", f"/start {CODE}"), late)[0].text
    after = NOW + dt.timedelta(minutes=2)
    assert "Welcome" in handle(session, _start("web", "zh", f"/start {CODE}"), after)[0].text
    assert binding.GUESSES.labels("overall_limit")._value.get() - before == 271
    alerts = session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == hr_chat)).all()
    assert len(alerts) == 1
    assert "30" in alerts[0].content["text"]
    # Bounded trail: one failure row per checked guess, one audit event for the flood.
    assert session.scalar(select(func.count(BindFailure.id))) == 30 + 30  # + source rows
    assert (
        session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action.like("identity.bind_%"))
        )
        == 1
    )
    # A second flood within the hour: refused again, HR is not told twice.
    for i in range(40):
        at = NOW + dt.timedelta(minutes=10, milliseconds=100 * i)
        handle(session, _start("telegram", f"tg2-{i}", "/start WXYZ-WXYZ-WXYZ"), at)
    assert len(session.scalars(select(OutboxMessage)).all()) == 1
    # Hours later, failures past the window are gone, and so are the idle chats of
    # never-bound guessers.
    later = NOW + dt.timedelta(days=2)
    handle(session, _start("telegram", "late", "/start WXYZ-WXYZ-WXYZ"), later)
    assert session.scalar(select(func.count(BindFailure.id))) == 1
    left = session.scalar(select(func.count(ChatState.id)).where(ChatState.external_id.like("tg%")))
    assert left == 340 - binding.PRUNE_BATCH  # a batch per failure, never all at once


def test_a_spike_of_wrong_codes_raises_the_metric(Session, limits):
    from starlette.testclient import TestClient

    from bot.infra.workdays import utc_now
    from handlers.server import create_server

    limits(BIND_FAILURES_PER_MINUTE=10, BIND_FAILURES_PER_SOURCE=1000)
    with Session() as s, s.begin():
        build_world(s)
    server = create_server(Settings(_env_file=None), Session)
    with TestClient(server, base_url="http://127.0.0.1") as client:

        def scrape() -> dict[str, float]:
            lines = client.get("/metrics").text.splitlines()
            return {
                name: float(value)
                for name, _, value in (line.rpartition(" ") for line in lines)
                if name.startswith("jixiao_bind")
            }

        calm = scrape()
        assert calm["jixiao_bind_guessing_alarm"] == 0
        assert calm["jixiao_bind_failures_last_minute"] == 0
        now = utc_now()
        with Session() as s, s.begin():
            for i in range(12):
                handle(s, _start("telegram", f"spike{i}", "/start WXYZ-WXYZ-WXYZ"), now)
        spike = scrape()
    assert spike["jixiao_bind_guessing_alarm"] == 1
    assert spike["jixiao_bind_failures_last_minute"] == 10
    wrong = 'jixiao_bind_attempts_total{outcome="wrong"}'
    paused = 'jixiao_bind_attempts_total{outcome="overall_limit"}'
    assert spike[wrong] - calm.get(wrong, 0) == 10
    assert spike[paused] - calm.get(paused, 0) == 2


def test_a_guesser_back_after_days_keeps_their_own_conversation(session):
    w = build_world(session)
    issue_code(session, w.zhang, CODE, ttl=dt.timedelta(days=5))
    chat = Chat(session, "returning")
    assert "Language set to English" in chat.say("/lang en")
    chat.now += dt.timedelta(days=3)  # idle longer than never-bound chats are kept
    assert "does not work" in chat.say("/start WXYZ-WXYZ-WXYZ")
    # Pruning spared the chat speaking: its language choice is still there.
    assert "Welcome" in chat.say(f"/start {CODE}")
