"""Confirming, appealing, withdrawing and deciding in chat, in both languages, as
dialogue tables; and every new button forged, replayed or foreign, refused and audited
with nothing shown."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.appraisal import appeals
from bot.chat.context import sign
from bot.infra.errors import Refused
from bot.infra.message import Incoming, Kind
from models import (
    Appeal,
    AppealState,
    AuditEvent,
    ChatState,
    Confirmation,
    OutboxMessage,
    Result,
    ScoringTask,
)
from tests.chat_helpers import NOW, WORDS, Chat, Tap, bind, build_world, verify_dialog

A = {
    "zh_CN": {
        "confirm": "确认结果",
        "appeal": "申诉",
        "window": "视为确认",
        "confirmed": "已确认",
        "you_confirmed": "您已确认此结果",
        "empty": "不能为空",
        "filed": "申诉已提交",
        "status": "申诉进度",
        "waiting": "待决定",
        "withdraw": "撤回申诉",
        "withdrawn": "已撤回",
        "to_decide": "待决定的申诉",
        "uphold": "维持原结果并答复",
        "upheld": "已维持原结果",
        "revise": "改判",
        "revising": "重新评分中",
        "type_answer": "写下给",
        "concerns": "涉及指标：业绩",
        "answer_from": "机构负责人的答复",
        "closed": "公示期已结束",
        "reopened": "重新开放",
        "decided": "已决定或已撤回",
        "rescoring": "重新评分中的申诉",
        "keep": "保留原评分",
        "kept": "结果维持不变",
        "kept_told": "维持原结果",
        "no_revision": "没有可结束的改判",
    },
    "en": {
        "confirm": "Confirm result",
        "appeal": "Appeal",
        "window": "counts as confirmed",
        "confirmed": "is confirmed",
        "you_confirmed": "You confirmed this result",
        "empty": "cannot be empty",
        "filed": "is filed",
        "status": "Appeal status",
        "waiting": "waiting for a decision",
        "withdraw": "Withdraw appeal",
        "withdrawn": "is withdrawn",
        "to_decide": "Appeals to decide",
        "uphold": "Uphold with an answer",
        "upheld": "Upheld:",
        "revise": "Revise",
        "revising": "being re-scored",
        "type_answer": "Type your answer",
        "concerns": "Indicators: 业绩",
        "answer_from": "Answer from the institution's head",
        "closed": "window for 2026-10 is closed",
        "reopened": "reopened",
        "decided": "has been decided or withdrawn",
        "rescoring": "Appeals being re-scored",
        "keep": "Keep the original scores",
        "kept": "stays as it was",
        "kept_told": "your result stands as it was",
        "no_revision": "no revision to close",
    },
}


@pytest.fixture(params=["zh_CN", "en"])
def lang(request):
    return request.param


@pytest.fixture
def w(session):
    world = build_world(session)
    # October is published with its objection window open for five more days.
    world.october.window_closes_at = NOW + dt.timedelta(days=5)
    session.flush()
    return world


@pytest.fixture
def zhang(session, w, lang):
    return Chat(session, bind(session, w.zhang, language=lang))


@pytest.fixture
def head(session, w, lang):
    return Chat(session, bind(session, w.head, language=lang))


def _audits(session) -> int:
    return session.scalar(select(func.count(AuditEvent.id)))


def _appeal(zhang: Chat, a: dict[str, str], reason: str = "业绩漏记了一笔") -> None:
    zhang.say("/myscore")
    zhang.say(Tap(a["appeal"]))
    assert a["filed"] in zhang.say(reason)


def test_confirm_from_the_result_screen(session, w, lang, zhang):
    a = A[lang]
    verify_dialog(
        zhang,
        [
            ("/myscore", [a["window"], a["confirm"], a["appeal"]]),
            (Tap(a["confirm"]), a["confirmed"]),
            ("/myscore", [a["you_confirmed"], "!" + a["confirm"]]),
            ("/why", [a["you_confirmed"], "!" + a["confirm"]]),
        ],
    )
    assert session.scalar(select(func.count(Confirmation.id))) == 1


def test_appeal_pointing_at_an_indicator_then_withdraw(session, w, lang, zhang, head):
    a = A[lang]
    reason = "<script>alert(1)</script> **粗体** 😀\n第二行"
    verify_dialog(
        zhang,
        [
            ("/why", [a["window"], a["appeal"]]),
            (Tap(a["appeal"]), "业绩"),
            (Tap("业绩"), [a["concerns"], "✅ 业绩"]),
            ("   ", a["empty"]),
            (reason, [a["filed"], a["withdraw"]]),
            (Tap(a["status"]), [reason, a["waiting"], "业绩"]),
            ("/myscore", [a["waiting"], "!" + a["confirm"]]),
            (Tap(a["withdraw"]), a["withdrawn"]),
            ("/myscore", [a["window"], a["confirm"]]),
        ],
    )
    stored = session.scalar(select(Appeal))
    assert stored.reason == reason
    assert stored.indicators == ["perf"]
    assert stored.state == AppealState.WITHDRAWN
    # The head (bound to a chat) was told, with a button to decide.
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.employee_id == w.head.id))
    assert any("<script>" in m.content["text"] for m in told)


def test_the_head_upholds_and_the_employee_reads_the_answer(session, w, lang, zhang, head):
    a = A[lang]
    _appeal(zhang, a)
    answer = "经复核，评分符合标准 <i>ok</i>"
    verify_dialog(
        head,
        [
            ("/menu", a["to_decide"]),
            (Tap(a["to_decide"]), "张三"),
            (Tap("张三"), ["业绩漏记了一笔", "93.90", a["uphold"], a["revise"]]),
            (Tap(a["uphold"]), a["type_answer"]),
            ("", "!" + a["upheld"]),
            (answer, a["upheld"]),
            ("/menu", "!" + a["to_decide"]),
        ],
    )
    verify_dialog(zhang, [("/myscore", [a["answer_from"], answer])])
    assert session.scalar(select(Appeal.state)) == AppealState.UPHELD
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.employee_id == w.zhang.id))
    assert any(answer in m.content["text"] for m in told)


def test_the_head_revises_and_the_scorer_rescores_in_the_form(session, w, lang, zhang, head):
    a = A[lang]
    words = WORDS[lang]
    zhang.say("/why")
    zhang.say(Tap(a["appeal"]))
    zhang.say(Tap("质量"))
    zhang.say("质量分偏低")
    before = session.scalar(select(Result.total).where(Result.id == _october(session, w)))
    manager = Chat(session, bind(session, w.manager, language=lang))
    head.say("/menu")
    head.say(Tap(a["to_decide"]))
    head.say(Tap("张三"))
    assert a["reopened"] in head.say(Tap(a["revise"]))
    reopened = session.scalars(select(ScoringTask).where(ScoringTask.appeal_id.is_not(None)))
    assert [t.role_code for t in reopened] == ["manager"]  # only the manager scored 质量
    verify_dialog(zhang, [("/myscore", a["revising"])])
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.employee_id == w.manager.id))
    assert any("task:" in str(m.content["buttons"]) for m in told)
    # The manager re-scores 质量 from 85 to 95 through the normal form.
    manager.say("/score")
    assert "质量" in manager.say(Tap("张三"))
    manager.say("95")
    for _step in range(12):
        labels = " ".join(manager.labels())
        if words["confirm"] in manager.labels():
            break
        manager.say(Tap(words["keep"] if words["keep"] in labels else words["skip"]))
    manager.say(Tap(words["confirm"]))
    session.expire_all()
    assert session.scalar(select(Appeal.state)) == AppealState.REVISED
    after = session.scalar(select(Result.total).where(Result.id == _october(session, w)))
    # 质量 (weight 30) is the manager's alone: 85 → 95 is 10 × 30 ÷ 100 = 3.00 more.
    assert after - before == Decimal("3.00")
    told = "\n".join(
        m.content["text"]
        for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.employee_id == w.zhang.id)
        )
    )
    assert f"{before} → {after}" in told
    edits = session.scalars(select(AuditEvent).where(AuditEvent.action == "score.edit")).all()
    assert [e.after["indicator"] for e in edits] == ["quality"]


def test_the_head_closes_a_revision_the_scorer_abandoned(session, w, lang, zhang, head):
    """The manager starts re-scoring and never submits: the head keeps the original
    scores, with a reason; the result is unchanged to the fen and zhang is told."""
    a = A[lang]
    zhang.say("/why")
    zhang.say(Tap(a["appeal"]))
    zhang.say(Tap("质量"))
    zhang.say("质量分偏低")
    before = session.scalar(select(Result.pay).where(Result.id == _october(session, w)))
    total = session.scalar(select(Result.total).where(Result.id == _october(session, w)))
    head.say("/menu")
    head.say(Tap(a["to_decide"]))
    head.say(Tap("张三"))
    head.say(Tap(a["revise"]))
    manager = Chat(session, bind(session, w.manager, language=lang))
    manager.say("/score")
    manager.say(Tap("张三"))
    manager.say("95")  # then nothing: the draft waits
    verify_dialog(
        head,
        [
            ("/menu", a["rescoring"]),
            (Tap(a["rescoring"]), "张三"),
            (Tap("张三"), [w.manager.name, a["keep"]]),
        ],
    )
    keep = head.payload(a["keep"])
    verify_dialog(
        head,
        [
            (Tap(a["keep"]), w.manager.name),
            ("   ", "!" + a["kept"]),
            ("经沟通，主管不再重新评分", a["kept"]),
        ],
    )
    session.expire_all()
    appeal = session.scalar(select(Appeal))
    assert appeal.state == AppealState.UPHELD
    assert appeal.answer == "经沟通，主管不再重新评分"
    row = session.get(Result, _october(session, w))
    assert (row.total, row.pay) == (total, before)
    task = session.scalar(select(ScoringTask).where(ScoringTask.appeal_id == appeal.id))
    assert task.state.value == "submitted"
    told = "\n".join(
        m.content["text"]
        for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.employee_id == w.zhang.id)
        )
    )
    assert a["kept_told"] in told
    assert "经沟通，主管不再重新评分" in told
    # The button again, after it is closed: refused, nothing changes.
    said = head.say(Incoming("web", head.user_id, head.user_id, Kind.BUTTON, payload=keep))
    assert a["no_revision"] in said
    session.expire_all()
    assert session.scalar(select(Appeal.state)) == AppealState.UPHELD


def _october(session, w) -> int:
    return session.scalar(
        select(Result.id).where(Result.period_id == w.october.id, Result.employee_id == w.zhang.id)
    )


def test_after_the_window_nothing_can_be_confirmed_or_appealed(session, w, lang, zhang):
    a = A[lang]
    zhang.say("/myscore")
    confirm = zhang.payload(a["confirm"])
    appeal = zhang.payload(a["appeal"])
    zhang.now = NOW + dt.timedelta(days=6)
    before = _audits(session)
    for payload in (confirm, appeal):
        said = zhang.say(
            Incoming("web", zhang.user_id, zhang.user_id, Kind.BUTTON, payload=payload)
        )
        assert a["closed"] in said
    assert _audits(session) - before == 2
    shown = zhang.say("/myscore")
    assert a["confirm"] not in zhang.labels()
    assert a["window"] not in shown


def test_every_new_button_replayed_is_refused_and_audited(session, w, lang, zhang, head):
    """A confirm tapped twice, a withdraw or decision replayed after it happened."""
    a = A[lang]
    zhang.say("/myscore")
    zhang.say(Tap(a["appeal"]))
    zhang.say("理由")
    withdraw = zhang.payload(a["withdraw"])
    zhang.say(Tap(a["withdraw"]))
    zhang.say("/myscore")
    confirm = zhang.payload(a["confirm"])
    zhang.say(Tap(a["confirm"]))
    before = _audits(session)
    for payload in (withdraw, confirm):
        said = zhang.say(
            Incoming("web", zhang.user_id, zhang.user_id, Kind.BUTTON, payload=payload)
        )
        assert "93.90" not in said
    assert _audits(session) - before == 2
    # A decided appeal's buttons, replayed by the head.
    li = Chat(session, bind(session, w.staff[1], language=lang))
    li.say("/myscore")
    li.say(Tap(a["appeal"]))
    li.say("理由")
    head.say("/menu")
    head.say(Tap(a["to_decide"]))
    head.say(Tap("李四"))
    uphold, revise = head.payload(a["uphold"]), head.payload(a["revise"])
    head.say(Tap(a["uphold"]))
    head.say("维持")
    before = _audits(session)
    for payload in (uphold, revise):
        said = head.say(Incoming("web", head.user_id, head.user_id, Kind.BUTTON, payload=payload))
        assert a["decided"] in said
    assert _audits(session) - before == 2
    reopened = select(func.count(ScoringTask.id)).where(ScoringTask.appeal_id.is_not(None))
    assert session.scalar(reopened) == 0


def test_forged_and_foreign_buttons_are_refused_audited_and_show_nothing(
    session, w, lang, zhang, head
):
    a = A[lang]
    sorry = WORDS[lang]["sorry"]
    _appeal(zhang, a)
    appeal = session.scalar(select(Appeal))
    result = _october(session, w)
    # Someone else, with buttons signed by their own chat's key naming Zhang's records.
    li = Chat(session, bind(session, w.staff[1], language=lang))
    li.say("/menu")
    key = session.scalar(select(ChatState.secret).where(ChatState.external_id == li.user_id))
    perf = w.scheme.indicators[0].id
    bodies = [
        f"cf:{result}",
        f"appeal:{result}",
        f"ai:{result}:{perf}",
        f"wd:{appeal.id}",
        f"apst:{appeal.id}",
        f"ap:{appeal.id}",
        f"up:{appeal.id}",
        f"rv:{appeal.id}",
        "cf:999999",
        "wd:999999",
        "ap:x",
    ]
    before = _audits(session)
    for body in bodies:
        said = li.say(Incoming("web", li.user_id, li.user_id, Kind.BUTTON, payload=sign(key, body)))
        assert sorry in said, (body, said)
    # The head of the other institution may not decide it either.
    outsider = Chat(session, bind(session, w.outsider, language=lang))
    outsider.say("/menu")
    assert a["to_decide"] not in " ".join(outsider.labels())
    okey = session.scalar(select(ChatState.secret).where(ChatState.external_id == outsider.user_id))
    for body in (f"ap:{appeal.id}", f"up:{appeal.id}", f"rv:{appeal.id}"):
        said = outsider.say(
            Incoming(
                "web", outsider.user_id, outsider.user_id, Kind.BUTTON, payload=sign(okey, body)
            )
        )
        assert sorry in said
    # Zhang's own payloads, sent from another chat, fail the signature.
    for payload in dict.fromkeys(zhang.payloads):
        said = li.say(Incoming("web", li.user_id, li.user_id, Kind.BUTTON, payload=payload))
        assert sorry in said
    refused = [*bodies, "ap", "up", "rv", *dict.fromkeys(zhang.payloads)]
    assert _audits(session) - before == len(refused)
    seen = "\n".join(li.shown + outsider.shown)
    for secret in ("93.90", "4,800", "业绩漏记了一笔", "张三"):
        assert secret not in seen
    session.expire_all()
    assert session.get(Appeal, appeal.id).state == AppealState.OPEN
    assert session.scalar(select(func.count(Confirmation.id))) == 0
    assert session.scalar(select(func.count(ScoringTask.id)).where(ScoringTask.appeal_id > 0)) == 0


def test_one_open_appeal_even_when_two_first_appeals_race(session, w, monkeypatch):
    """The check before the insert is not enough when two requests race: the database's
    unique index refuses the second, and the person is told it is already open."""
    period = w.october
    appeals.file_appeal(session, NOW, w.zhang, period, "first")
    monkeypatch.setattr(appeals, "open_appeal", lambda *_args: None)
    with pytest.raises(Refused, match="已有一项正在处理的申诉"):
        appeals.file_appeal(session, NOW, w.zhang, period, "second")
    assert session.scalar(select(func.count(Appeal.id))) == 1


def test_reason_limits_empty_long_and_control_characters(session, w):
    period = w.october
    for bad in ("", "  \n ", "\u200b\u200b", "x" * 10_001, "bad\x07bell"):
        with pytest.raises(Refused):
            appeals.file_appeal(session, NOW, w.zhang, period, bad)
    long = "申" * 10_000
    assert appeals.file_appeal(session, NOW, w.zhang, period, long).reason == long


def test_two_confirmations_racing_store_one(session, w, monkeypatch):
    period = w.october
    assert appeals.confirm(session, NOW, w.zhang, period) is True
    monkeypatch.setattr(appeals, "confirmed", lambda *_args: False)
    assert appeals.confirm(session, NOW, w.zhang, period) is False
    assert session.scalar(select(func.count(Confirmation.id))) == 1
    confirms = select(func.count(AuditEvent.id)).where(AuditEvent.action == "result.confirm")
    assert session.scalar(confirms) == 1
