"""Buttons are opaque references: replayed by someone else, or forged, they are refused,
audited, and show nothing of the first user's scores or pay."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.chat.context import sign
from bot.infra.message import Incoming, Kind
from models import AuditEvent, ChatState, Result
from tests.chat_helpers import WORDS, Chat, Tap, bind, build_world


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    return build_world(session)


def a_full_session(session, w, lang) -> list[str]:
    """Everything a scorer and an employee tap through; returns every payload sent."""
    words = WORDS[lang]
    scorer = Chat(session, bind(session, w.manager, language=lang))
    for said in (
        "/menu",
        Tap(words["to_score"]),
        Tap("张三"),
        "99",
        Tap(words["back"]),
        "100",
        "全年第一",
        "85",
        Tap("良好"),
        Tap(words["skip"]),
        Tap(words["skip"]),
        Tap(words["confirm"]),
        Tap(words["next"]),
        Tap(words["leave"]),
        "/lang",
    ):
        scorer.say(said)
    employee = Chat(session, bind(session, w.zhang, language=lang))
    for said in ("/menu", Tap(words["my"]), Tap(words["why"]), "/history", Tap("2026-09")):
        employee.say(said)
    assert "93.90" in employee.text()
    return scorer.payloads + employee.payloads


def test_every_button_replayed_by_another_user_is_refused_and_reveals_nothing(session, w, lang):
    payloads = a_full_session(session, w, lang)
    assert len(payloads) > 40
    before = session.scalar(select(func.count(AuditEvent.id)))
    intruder = Chat(session, bind(session, w.staff[1], language=lang))
    for payload in dict.fromkeys(payloads):
        text = intruder.say(Incoming("web", intruder.user_id, "x", Kind.BUTTON, payload=payload))
        assert WORDS[lang]["sorry"] in text
    after = session.scalar(select(func.count(AuditEvent.id)))
    assert after - before == len(set(payloads))
    seen = "\n".join(intruder.shown)
    for secret in ("93.90", "4,800", "张三", "99", "全年第一", "84.50", "业绩突出", "2026-09"):
        assert secret not in seen


def test_forged_buttons_naming_someone_elses_records_are_refused_by_the_server(session, w, lang):
    """Even with a valid tag for the intruder's own chat, each step re-checks ownership."""
    a_full_session(session, w, lang)
    intruder = Chat(session, bind(session, w.staff[1], language=lang))
    intruder.say("/menu")
    key = session.scalar(select(ChatState.secret).where(ChatState.external_id == intruder.user_id))
    task = w.tasks(session)[1]
    perf = w.scheme.indicators[0]
    zhang_result = session.scalars(select(Result).where(Result.employee_id == w.zhang.id)).first()
    assert zhang_result is not None
    bodies = [
        f"task:{task.id}",
        f"v:{task.id}:{perf.id}:100",
        f"back:{task.id}:{perf.id}",
        f"skip:{task.id}:{perf.id}",
        f"keep:{task.id}:{perf.id}",
        f"leave:{task.id}",
        f"ok:{task.id}",
        f"edit:{task.id}",
        f"res:{zhang_result.id}",
        f"why:{zhang_result.id}",
        "prog",
        "hr",
        "nonsense:1",
        "task:abc",
    ]
    for body in bodies:
        payload = sign(key, body)
        text = intruder.say(Incoming("web", intruder.user_id, "x", Kind.BUTTON, payload=payload))
        assert WORDS[lang]["sorry"] in text or "only" in text or "仅向" in text, (body, text)
    refused = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "chat.refused", AuditEvent.actor_id == w.staff[1].id
        )
    ).all()
    assert len(refused) == len(bodies)
    seen = "\n".join(intruder.shown)
    for secret in ("93.90", "4,800", "业绩突出"):
        assert secret not in seen
    assert task.state.value == "pending"


def test_a_head_cannot_see_another_institutions_progress(session, w, lang):
    outsider = Chat(session, bind(session, w.outsider, language=lang))
    text = outsider.say("/progress")
    assert "二分公司" in text
    assert "一分公司" not in text
