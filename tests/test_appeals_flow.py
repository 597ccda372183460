"""A period end to end on the demo data, after scoring: publication opens the objection
window; one employee confirms, one appeals and is revised (result, pay, explanation and
pay sheet change; they are told before and after), one appeals and is upheld, one
withdraws; finalize waits for the window and the open appeal; a later correction is paid
with the next period as an adjustment line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from bot.appraisal import adjustments, appeals
from bot.appraisal.export import pay_sheet
from bot.appraisal.periods import close_period, finalize_period, publish_period
from bot.appraisal.results import compute_period
from bot.cli import demo_data as demo
from bot.infra.errors import Refused
from bot.infra.i18n import money
from bot.notify.reminders import queue_results_published
from models import (
    Appeal,
    AppealState,
    AuditEvent,
    Employee,
    Indicator,
    IndicatorKind,
    Institution,
    OutboxMessage,
    Period,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from tests.chat_helpers import Chat, Tap, bind
from tests.paysheet_helpers import cli

SH = ZoneInfo("Asia/Shanghai")
BUILT = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)
PUBLISHED = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)  # a Tuesday
IN_WINDOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SH)
# Five workdays after Tuesday 1 December: Tuesday 8 December, to its end.
CLOSES = dt.datetime(2026, 12, 8, 23, 59, 59, tzinfo=SH)
AFTER = dt.datetime(2026, 12, 9, 9, 0, tzinfo=SH)


def _finish_scoring(s, period: Period, at: dt.datetime) -> None:
    """Every task of the demo's open month submitted, with 80s where marks are missing."""
    inds = list(s.scalars(select(Indicator).where(Indicator.scheme_id == period.scheme_id)))
    for task in s.scalars(
        select(ScoringTask).where(
            ScoringTask.period_id == period.id, ScoringTask.state != TaskState.SUBMITTED
        )
    ):
        have = {e.indicator_id for e in task.entries}
        for ind in inds:
            if ind.id in have or ind.kind not in (IndicatorKind.SCORE, IndicatorKind.RATING):
                continue
            value = Decimal("85") if ind.kind == IndicatorKind.RATING else Decimal("80")
            s.add(
                ScoreEntry(
                    task_id=task.id,
                    indicator_id=ind.id,
                    value=value,
                    comment="",
                    entered_by=task.scorer_id,
                    entered_at=at,
                )
            )
        task.state = TaskState.SUBMITTED
        task.submitted_at = at
    s.flush()


def _result(s, period, employee) -> Result:
    s.expire_all()
    return s.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )


def _outbox(s, employee) -> str:
    return "\n".join(
        m.content["text"]
        for m in s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.employee_id == employee.id)
            .order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def world(engine, Session):
    demo.prepare(engine, BUILT, employees=40, institutions=3)
    s = Session()
    yield s
    s.close()


def test_a_period_from_publication_to_final_and_a_later_correction(engine, world):
    s = world
    nov = s.scalar(select(Period).where(Period.label == "2026-11"))
    oct_ = s.scalar(select(Period).where(Period.label == "2026-10"))
    assert oct_.state == PeriodState.FINAL
    _finish_scoring(s, nov, BUILT)
    close_period(s, BUILT, nov, actor="test")
    compute_period(s, BUILT, nov, actor="test")

    # People of the Beijing branch, with its head; their manager scores them.
    inst = s.scalar(select(Institution).where(Institution.name == "北京分公司"))
    head = s.get(Employee, inst.head_id)
    staff = list(
        s.scalars(
            select(Employee)
            .join(ScoringTask, ScoringTask.appraisee_id == Employee.id)
            .where(
                Employee.institution_id == inst.id,
                Employee.id != head.id,
                ScoringTask.period_id == nov.id,
                ScoringTask.role_code == "manager",
                ScoringTask.scorer_id != head.id,
            )
            .order_by(Employee.number)
        ).unique()
    )
    confirmer, reviser, upheld, withdrawer = staff[:4]

    # A correction of the final October is paid with November.
    adjustments.add(s, BUILT, oct_, confirmer, Decimal("120.00"), "10月加班费漏算", actor="test")

    publish_period(s, PUBLISHED, nov, actor="test")
    assert nov.window_closes_at == CLOSES
    queue_results_published(s, nov, PUBLISHED)
    s.commit()

    chats = {e.id: Chat(s, bind(s, e, language="zh_CN"), now=IN_WINDOW) for e in staff[:4]}
    head_chat = Chat(s, bind(s, head, language="zh_CN"), now=IN_WINDOW)
    queue_results_published(s, nov, PUBLISHED)  # now that they are bound
    assert "视为确认" in _outbox(s, confirmer)

    # 1. Confirm from the result screen.
    me = chats[confirmer.id]
    shown = me.say("/myscore")
    assert "视为确认" in shown
    assert "包含 +¥120.00 的 2026-10 更正" in shown
    me.say(Tap("确认结果"))
    assert "已确认" in me.say("/myscore")
    assert "确认结果" not in me.labels()

    # 2. Appeal from the explanation, pointing at one indicator; markup and emoji kept.
    was = _result(s, nov, reviser)
    before = (was.total, was.pay)
    me = chats[reviser.id]
    me.say("/why")
    me.say(Tap("申诉"))
    first = s.scalar(
        select(Indicator)
        .where(Indicator.scheme_id == nov.scheme_id)
        .order_by(Indicator.position)
        .limit(1)
    )
    me.say(Tap(first.name))
    assert "不能为空" in me.say("   ")
    reason = "<b>业绩</b> 漏记了一笔大单 😀 " + "x" * 9000
    assert "已提交" in me.say(reason)
    appeal = appeals.open_appeal(s, nov.id, reviser.id)
    assert appeal.reason == reason.strip()
    assert appeal.indicators == [first.code]
    assert "<b>业绩</b>" in me.say(Tap("申诉进度"))
    assert "做出决定" in _outbox(s, head)

    # A second appeal while one is open is refused by the database, too.
    with pytest.raises(Refused):
        appeals.file_appeal(s, IN_WINDOW, reviser, nov, "again")

    # The head decides in chat: revise reopens the manager's task for that indicator.
    head_chat.say("/menu")
    head_chat.say(Tap("待决定的申诉"))
    head_chat.say(Tap(reviser.name))
    assert "重新评分" in head_chat.say(Tap("改判"))
    task = s.scalar(
        select(ScoringTask).where(
            ScoringTask.appeal_id == appeal.id, ScoringTask.role_code == "manager"
        )
    )
    assert task.state == TaskState.DRAFT
    scorer = s.get(Employee, task.scorer_id)
    scorer_chat = Chat(s, bind(s, scorer, language="zh_CN"), now=IN_WINDOW)
    scorer_chat.say("/score")
    assert reviser.name in "\n".join(scorer_chat.labels())
    scorer_chat.say(Tap(reviser.name))
    assert "第 1/8 项" in scorer_chat.text()  # opened at the appealed indicator
    _rescore_open(scorer_chat, "100")
    s.expire_all()
    assert s.get(Appeal, appeal.id).state == AppealState.REVISING  # the head's task waits
    # The head scored it too: their task was reopened as well; they keep their marks.
    head_chat.say("/score")
    head_chat.say(Tap(reviser.name))
    _rescore_open(head_chat, None)
    s.expire_all()
    assert s.get(Appeal, appeal.id).state == AppealState.REVISED
    after = _result(s, nov, reviser)
    assert after.total > before[0]
    assert after.pay >= before[1]
    told = _outbox(s, reviser)
    assert f"{before[0]} → {after.total}" in told
    assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "score.edit")) is not None
    assert "已改判" in me.say("/myscore")
    # Re-explained from the new stored trace: the new pay and total.
    why = me.say("/why")
    assert money(after.pay, "zh_CN") in why
    assert f"{after.total}" in why

    # 3. Appeal, upheld by the head with a written answer.
    me = chats[upheld.id]
    me.say("/myscore")
    me.say(Tap("申诉"))
    me.say("我觉得分数偏低")
    # 4. Appeal, then withdraw.
    wd = chats[withdrawer.id]
    wd.say("/myscore")
    wd.say(Tap("申诉"))
    wd.say("误点了")
    assert "已撤回" in wd.say(Tap("撤回申诉"))

    # Finalize waits for the window, then for the open appeal.
    s.commit()
    with pytest.raises(Refused, match="公示期"):
        finalize_period(s, IN_WINDOW, nov, actor="test")
    with time_machine.travel(AFTER, tick=False):
        refused = cli(engine, "period", "finalize", "2026-11")
        assert refused.exit_code == 2
        assert upheld.number in refused.output
        listed = cli(engine, "appeals", "list", "2026-11")
        assert listed.exit_code == 0, listed.output
        assert "北京分公司" in listed.output
        assert upheld.number in listed.output

    head_chat.now = AFTER
    head_chat.say("/menu")
    head_chat.say(Tap("待决定的申诉"))
    head_chat.say(Tap(upheld.name))
    head_chat.say(Tap("维持"))
    head_chat.say("经复核，评分符合标准。")
    s.commit()
    me.now = AFTER
    assert "经复核，评分符合标准" in me.say("/myscore")
    s.commit()

    with time_machine.travel(AFTER, tick=False):
        done = cli(engine, "period", "finalize", "2026-11")
        assert done.exit_code == 0, done.output
    s.expire_all()
    assert s.get(Period, nov.id).state == PeriodState.FINAL
    # After final nothing changes: confirming is refused.
    with pytest.raises(Refused):
        appeals.confirm(s, AFTER, withdrawer, s.get(Period, nov.id))

    # The pay sheet: the revised pay, and October's correction as its own line.
    sheet = pay_sheet(s, s.get(Period, nov.id))
    rows = {(r.number, r.adjustment): r for r in sheet.rows}
    assert rows[(reviser.number, False)].pay == after.pay
    line = rows[(confirmer.number, True)]
    assert line.pay == Decimal("120.00")
    assert "2026-10" in line.status
    results = sum(r.pay for r in s.scalars(select(Result).where(Result.period_id == nov.id)))
    assert sheet.pay_sum == results + Decimal("120.00")

    # A correction after final is carried into December, and said in November's story.
    s.commit()
    with time_machine.travel(AFTER, tick=False):
        added = cli(
            engine, "adjust", "2026-11", confirmer.number, "--amount", "-50.00", "--reason", "多发"
        )
        assert added.exit_code == 0, added.output
        assert "2026-12" in added.output
    s.expire_all()
    why = chats[confirmer.id]
    why.now = AFTER
    assert "−¥50.00" in why.say("/why")
    assert "2026-12" in why.text()


def _rescore_open(chat: Chat, value: str | None) -> None:
    """The form is open at the appealed indicator: answer `value` (None: keep it), then
    keep or skip the rest, and submit."""
    for step in range(30):
        labels = chat.labels()
        if "确认提交" in labels:
            chat.say(Tap("确认提交"))
            return
        if step == 0 and value is not None:
            chat.say(value)
        elif any("保持" in b for b in labels):
            chat.say(Tap("保持"))
        elif "跳过" in labels:
            chat.say(Tap("跳过"))
        else:
            raise AssertionError(chat.text())
    raise AssertionError(chat.text())
