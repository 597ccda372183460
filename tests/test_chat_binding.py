"""Binding with one-time codes, the lockout after wrong codes, rebinding, the menu by role
and the language switch, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import AuditEvent, ChatIdentity, Role, RoleGrant
from tests.chat_helpers import (
    NOW,
    WORDS,
    Chat,
    Other,
    Tap,
    bind,
    build_world,
    issue_code,
    verify_dialog,
)

CODES = {"zh_CN": "zh-CN", "en": "en-US"}


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


@pytest.fixture
def stranger(session, lang):
    """An unbound user whose platform reports their language."""
    return Chat(session, "new-user", language_code=CODES[lang])


def test_an_unbound_user_sees_only_how_to_bind(w, lang, stranger):
    words = WORDS[lang]
    for said in ("/menu", "/myscore", "/why", "为什么我这个月绩效工资这么少", "/score", Other()):
        text = stranger.say(said)
        assert words["bind"] in text
    assert stranger.payloads == []
    assert "93.90" not in stranger.text()


def test_a_code_binds_once_with_full_width_spaces_and_lower_case(session, w, lang, stranger):
    words = WORDS[lang]
    issue_code(session, w.zhang, "K7Q2M9XD")
    verify_dialog(
        stranger,
        [
            ("/start k7q2m9xd", [words["welcome"], "张三", "003", words["my"]]),
            ("/myscore", "93.90"),
        ],
    )
    other = Chat(session, "someone-else", language_code=CODES[lang])
    verify_dialog(other, [("/start K7Q2M9XD", [words["used"], "4"])])
    identity = session.scalars(select(ChatIdentity)).one()
    assert (identity.external_id, identity.employee_id) == ("new-user", w.zhang.id)


def test_an_expired_code_is_refused(session, w, lang, stranger):
    issue_code(session, w.zhang, "OLDCODE1", now=NOW - dt.timedelta(days=10))
    verify_dialog(stranger, [("/start OLDCODE1", WORDS[lang]["expired"])])


def test_five_wrong_codes_in_an_hour_lock_the_user_out_for_an_hour(session, w, lang, stranger):
    words = WORDS[lang]
    issue_code(session, w.zhang, "RIGHT123")
    for left in (4, 3, 2, 1):
        assert str(left) in stranger.say("/start WRONG")
        assert words["wrong"] in stranger.last[0].text
        stranger.now += dt.timedelta(minutes=5)
    verify_dialog(stranger, [("/start WRONG", words["locked"])])
    verify_dialog(stranger, [("/start RIGHT123", [words["locked"], "2026", "!张三"])])
    stranger.now += dt.timedelta(hours=1, minutes=1)
    verify_dialog(stranger, [("/start RIGHT123", [words["welcome"], "张三"])])
    # One audit event for the lockout, not one per guess: a flood stays small.
    locked = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "identity.bind_locked")
    ).all()
    assert len(locked) == 1
    assert "5" in locked[0].note


def test_wrong_codes_spread_over_more_than_an_hour_do_not_lock(session, w, lang, stranger):
    issue_code(session, w.zhang, "RIGHT123")
    for _ in range(6):
        stranger.say("/start WRONG")
        stranger.now += dt.timedelta(minutes=20)
    verify_dialog(stranger, [("/start RIGHT123", WORDS[lang]["welcome"])])


def test_rebinding_on_the_same_platform_revokes_the_old_identity(session, w, lang):
    old = Chat(session, bind(session, w.zhang, "old-phone", language=lang))
    assert "93.90" in old.say("/myscore")
    issue_code(session, w.zhang, "NEWPHONE")
    new = Chat(session, "new-phone")
    verify_dialog(new, [("/start NEWPHONE", WORDS[lang]["welcome"])])
    verify_dialog(old, [("/myscore", [WORDS[lang]["bind"], "!93.90"])])
    revoked = session.scalars(
        select(ChatIdentity).where(ChatIdentity.external_id == "old-phone")
    ).one()
    assert revoked.revoked_at is not None


def test_a_code_typed_in_a_group_is_not_used(session, w, lang):
    issue_code(session, w.zhang, "K7Q2M9XD")
    group = Chat(session, "member", private=False, language_code=CODES[lang])
    verify_dialog(group, [("/start K7Q2M9XD", WORDS[lang]["privately"])])
    assert session.scalars(select(ChatIdentity)).all() == []


def test_the_menu_depends_on_the_role(session, w, lang):
    words = WORDS[lang]
    session.add(RoleGrant(employee_id=w.head.id, role=Role.HEAD, institution_id=w.inst.id))
    people = {
        "employee": (w.zhang, [words["my"], words["why"], words["history"], words["language"]]),
        "scorer": (w.manager, [words["to_score"], "3", "2026", words["my"]]),
        "head": (w.head, [words["progress"], words["my"]]),
        "hr": (w.hr, [words["status"], words["my"]]),
    }
    for role, (who, expected) in people.items():
        chat = Chat(session, bind(session, who, language=lang))
        chat.say("/menu")
        shown = " ".join(chat.labels())
        for want in expected:
            assert want in shown, (role, want, shown)
    zhang = Chat(session, "u003")
    zhang.say("/menu")
    for absent in (words["to_score"], words["progress"], words["status"]):
        assert absent not in " ".join(zhang.labels())


def test_a_head_sees_progress_for_their_institution(session, w, lang):
    head = Chat(session, bind(session, w.head, language=lang))
    verify_dialog(
        head,
        [
            ("/menu", words_of(lang, "progress")),
            (Tap(words_of(lang, "progress")), ["一分公司", "0/3", "!二分公司"]),
        ],
    )


def test_progress_and_status_commands_are_refused_to_others(session, w, lang):
    zhang = Chat(session, bind(session, w.zhang, language=lang))
    verify_dialog(
        zhang,
        [("/progress", words_of(lang, "only_heads")), ("/status", words_of(lang, "only_hr"))],
    )
    assert (
        len(session.scalars(select(AuditEvent).where(AuditEvent.action == "chat.refused")).all())
        == 2
    )


def test_hr_sees_a_short_status(session, w, lang):
    hr = Chat(session, bind(session, w.hr, language=lang))
    verify_dialog(hr, [("/status", ["2026-11", "0/3", "2026-10", "3/3"])])


def words_of(lang, key):
    return WORDS[lang][key]


def test_the_language_follows_the_platform_until_chosen_and_is_stored(session, w):
    chat = Chat(session, bind(session, w.zhang), language_code="en-GB")
    assert "My score" in " ".join((chat.say("/menu"), *chat.labels()))
    verify_dialog(
        chat,
        [
            ("/lang", "Choose your language"),
            (Tap("中文"), ["语言已设为中文", "我的成绩"]),
            ("/myscore", ["¥4,800.00", "!CN¥"]),
            ("/lang en", ["Language set to English", "My score"]),
        ],
    )
    assert w.zhang.language == "en"


def test_an_unbound_user_can_switch_language_before_binding(session, w):
    chat = Chat(session, "newcomer")
    verify_dialog(
        chat,
        [
            ("hello", "/start"),
            ("/lang", "请选择语言"),
            (Tap("English"), "Language set to English"),
            ("anything", ["Hello! I am Jixiao", "/start"]),
        ],
    )
