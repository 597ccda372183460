"""Heads calibrate their institution's boundary people in chat: violations shown, one tap
and a reason; forged, foreign, replayed and late buttons refused and audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.appraisal.periods import publish_period
from bot.chat.context import sign
from bot.infra.message import Incoming, Kind
from models import AuditEvent, Calibration, ChatState, Result
from tests.chat_helpers import Chat, Tap, bind, verify_dialog
from tests.paysheet_helpers import LATER
from tests.quota_helpers import scored_period

D = Decimal


def grade_of(session, period, employee) -> str:
    return session.scalar(
        select(Result.grade).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )


def refusals(session) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "chat.refused")
    )


def tap_payload(chat: Chat, payload: str) -> str:
    return chat.say(Incoming("web", chat.user_id, chat.user_id, kind=Kind.BUTTON, payload=payload))


@pytest.fixture
def world(session):
    _group, period, staff = scored_period(session)
    head = staff[0].manager
    return period, staff, head


@pytest.mark.parametrize(
    ("lang", "steps"),
    [
        (
            "en",
            [
                (
                    "/quotas",
                    [
                        "东城支行, 2026-11: grade quota violations",
                        "东城支行: 3 of 7 people in A, limit 1",
                        "Tap a person to calibrate their grade",
                        "1021 东城支行员工2: A → B",
                        "1011 东城支行员工1: A → B",
                    ],
                ),
                (Tap("1021"), ["Calibrate 1021 东城支行员工2 in 2026-11 to grade B. Why?"]),
                (
                    "与同组相比偏高",
                    [
                        "1021 东城支行员工2 calibrated: grade A → B, pay 7500.00 → 6000.00.",
                        "2 of 7 people in A, limit 1",
                        "!1021 东城支行员工2: A → B",
                    ],
                ),
                (Tap("1011"), ["Why?"]),
                (
                    "同上",
                    [
                        "1011 东城支行员工1 calibrated",
                        "东城支行, 2026-11: every grade quota rule is met.",
                    ],
                ),
            ],
        ),
        (
            "zh_CN",
            [
                (
                    "/quotas",
                    [
                        "东城支行，2026-11：强制分布违规",
                        "东城支行：7 人中 3 人为 A，上限 1",
                        "点选人员即可校准其等级",
                        "1021 东城支行员工2：A → B",
                    ],
                ),
                (Tap("1021"), ["将 1021 东城支行员工2 在 2026-11 的等级校准为 B。理由是什么？"]),
                (
                    "与同组相比偏高",
                    ["1021 东城支行员工2 已校准：等级 A → B，绩效工资 7500.00 → 6000.00。"],
                ),
            ],
        ),
    ],
)
def test_a_head_calibrates_boundary_people_in_chat(session, world, lang, steps):
    period, staff, head = world
    chat = Chat(session, bind(session, head, language=lang))
    verify_dialog(chat, steps)
    assert grade_of(session, period, staff[2]) == "B"
    cal = session.scalar(select(Calibration).where(Calibration.employee_id == staff[2].id))
    assert (cal.role.value, cal.actor_id, cal.reason) == ("head", head.id, "与同组相比偏高")


def test_a_replayed_button_is_refused_and_changes_nothing(session, world):
    _period, _staff, head = world
    chat = Chat(session, bind(session, head, language="en"))
    chat.say("/quotas")
    old = chat.payload("1021")
    chat.say(Tap("1021"))
    chat.say("第一次")
    assert session.scalar(select(func.count()).select_from(Calibration)) == 1
    before = refusals(session)
    text = tap_payload(chat, old)
    assert "That button is out of date" in text
    assert refusals(session) == before + 1
    assert session.scalar(select(func.count()).select_from(Calibration)) == 1


def test_forged_and_foreign_buttons_are_refused(session, world):
    period, staff, head = world
    chat = Chat(session, bind(session, head, language="en"))
    chat.say("/quotas")
    real = chat.payload("1021")
    body, _, tag = real.rpartition("|")
    # Altered: another employee under the same tag.
    forged = body.replace(f":{staff[2].id}:", f":{staff[0].id}:") + "|" + tag
    before = refusals(session)
    assert "not available" in tap_payload(chat, forged)
    # Signed for the head's chat, sent from an employee's chat.
    employee = Chat(session, bind(session, staff[3], language="en"))
    employee.say("/menu")
    assert "not available" in tap_payload(employee, real)
    # Signed for the employee's own chat, but the employee heads nothing.
    secret = session.scalar(
        select(ChatState.secret).where(ChatState.external_id == employee.user_id)
    )
    own = sign(secret, body)
    assert "not available" in tap_payload(employee, own)
    assert employee.say("/quotas") == "Grade quotas are shown to heads."
    assert refusals(session) == before + 4
    assert session.scalar(select(Calibration)) is None
    assert grade_of(session, period, staff[2]) == "A"


def test_a_button_after_publication_and_a_reason_after_publication_are_refused(session, world):
    period, _staff, head = world
    chat = Chat(session, bind(session, head, language="en"))
    chat.say("/quotas")
    chat.say(Tap("1021"))  # asked for the reason
    old = chat.payload("Cancel")
    publish_period(session, LATER, period, override_quota="试运行")
    text = chat.say("太高")
    assert "published: its results can no longer be calibrated" in text
    assert session.scalar(select(Calibration)) is None
    chat.last = []
    assert tap_payload(chat, old)  # the view, now without the period
    assert "No period of yours is waiting for calibration." in chat.say("/quotas")


def test_progress_points_a_head_to_the_violations(session, world):
    _period, _staff, head = world
    chat = Chat(session, bind(session, head, language="en"))
    text = chat.say("/progress")
    assert "Grade quotas: 1 violation waits for calibration." in text
    assert "Grade quotas" in chat.labels()
