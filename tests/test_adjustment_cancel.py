"""An adjustment entered by mistake is cancelled before it is paid: kept in the history
with who, when and why, left off the pay sheet (to the fen, checksum and acceptance
following) and off the explanations; refused once paid (a counter-adjustment is the way
out), refused twice, refused for an unknown id; through the CLI in both languages; the
audit chain still verifies."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.appraisal import adjustments
from bot.appraisal.audit_verify import verify
from bot.appraisal.export import pay_sheet
from bot.appraisal.periods import close_period, finalize_period, publish_period
from bot.appraisal.results import compute_period
from bot.cli import demo_data as demo
from bot.infra.errors import Refused
from models import Adjustment, AuditEvent, Employee, Period, PeriodState, Result
from tests.paysheet_helpers import cli
from tests.test_appeals_flow import AFTER, BUILT, PUBLISHED, _finish_scoring


@pytest.fixture
def world(engine, Session):
    demo.prepare(engine, BUILT, employees=30, institutions=2)
    s = Session()
    yield s
    s.close()


def _period(s, label: str) -> Period:
    return s.scalar(select(Period).where(Period.label == label))


def _verify(s):
    """verify() in its own transaction: it streams with yield_per set on the connection,
    which on PostgreSQL would stay set for later writes of the same transaction."""
    s.commit()
    verdict = verify(s)
    s.commit()
    return verdict


def _people(s, period: Period) -> list[Employee]:
    return list(
        s.scalars(
            select(Employee)
            .join(Result, Result.employee_id == Employee.id)
            .where(Result.period_id == period.id)
            .order_by(Employee.number)
        )
    )


def _result(s, period: Period, employee: Employee) -> Result:
    return s.scalar(
        select(Result).where(Result.period_id == period.id, Result.employee_id == employee.id)
    )


def test_cancel_before_payment_then_refused_once_paid(world):
    s = world
    oct_, nov = _period(s, "2026-10"), _period(s, "2026-11")
    assert oct_.state == PeriodState.FINAL
    _finish_scoring(s, nov, BUILT)
    close_period(s, BUILT, nov, actor="test")
    compute_period(s, BUILT, nov, actor="test")
    a, b = _people(s, oct_)[:2]
    kept = adjustments.add(s, BUILT, oct_, a, Decimal("120.00"), "10月加班费漏算", actor="hr1")
    twice = adjustments.add(s, BUILT, oct_, a, Decimal("120.00"), "10月加班费漏算", actor="hr1")
    other = adjustments.add(s, BUILT, oct_, b, Decimal("-33.33"), "多发餐补", actor="hr1")
    s.commit()
    results = sum(r.pay for r in s.scalars(select(Result).where(Result.period_id == nov.id)))
    before = pay_sheet(s, nov)
    # The helper that finishes scoring writes score entries beside the chain, so verify
    # names those: cancelling must add no complaint of its own.
    chain_before = _verify(s)
    assert chain_before.chain == []
    assert before.pay_sum == results + Decimal("206.67")

    cancelled = adjustments.cancel(s, BUILT, oct_, a, twice.id, "  重复录入  ", actor="hr2")
    s.commit()
    assert cancelled.cancelled_by == "hr2"
    assert cancelled.cancel_reason == "重复录入"
    assert cancelled.cancelled_at is not None
    # Never deleted: the history keeps it, the sheet leaves it out, to the fen.
    assert s.get(Adjustment, twice.id) is not None
    assert [x.id for x in adjustments.of_period(s, oct_)] == [kept.id, twice.id, other.id]
    assert [x.id for x in adjustments.of_period(s, nov, a.number)] == [kept.id, twice.id]
    sheet = pay_sheet(s, nov)
    assert sheet.pay_sum == results + Decimal("86.67")
    assert [r.pay for r in sheet.rows if r.adjustment and r.number == a.number] == [
        Decimal("120.00")
    ]
    assert sheet.digest != before.digest
    # The explanations say one correction, in both periods.
    later = adjustments.adjustment_lines(s, _result(s, nov, a))
    assert len(later) == 1
    assert "120.00" in later[0]
    assert len(adjustments.adjustment_lines(s, _result(s, oct_, a))) == 1

    # Audited; the chain verifies.
    event = s.scalar(select(AuditEvent).where(AuditEvent.action == "adjustment.cancel"))
    assert event.entity_id == twice.id
    assert event.actor_label == "hr2"
    assert event.note == "重复录入"
    chain_after = _verify(s)
    assert chain_after.chain == []
    assert chain_after.rows == chain_before.rows
    assert chain_after.events == chain_before.events + 1

    # Refused: a second cancel, an unknown id, another person's id, another period, no reason.
    with pytest.raises(Refused, match=r"已于 .* 由 hr2 撤销"):
        adjustments.cancel(s, BUILT, oct_, a, twice.id, "again")
    with pytest.raises(Refused, match="没有 2026-10 的调整 #999999"):
        adjustments.cancel(s, BUILT, oct_, a, 999999, "typo")
    with pytest.raises(Refused, match=f"调整 #{other.id}。"):
        adjustments.cancel(s, BUILT, oct_, a, other.id, "wrong person")
    with pytest.raises(Refused, match=f"没有 2026-11 的调整 #{kept.id}"):
        adjustments.cancel(s, BUILT, nov, a, kept.id, "wrong period")
    with pytest.raises(Refused, match="必须填写原因"):
        adjustments.cancel(s, BUILT, oct_, b, other.id, "  ")
    s.rollback()

    # November is finalized: its sheet paid the adjustments; cancelling is refused.
    publish_period(s, PUBLISHED, nov, actor="test")
    finalize_period(s, AFTER, nov, actor="test")
    s.commit()
    with pytest.raises(Refused, match="反向调整") as refused:
        adjustments.cancel(s, AFTER, oct_, b, other.id, "录错了")
    assert "--amount +33.33" in str(refused.value)
    assert "2026-11" in str(refused.value)
    s.rollback()
    assert s.get(Adjustment, other.id).cancelled_at is None
    assert pay_sheet(s, _period(s, "2026-11")).pay_sum == results + Decimal("86.67")
    assert _verify(s).chain == []


def test_the_cli_lists_and_cancels_in_both_languages(engine, world):
    s = world
    oct_ = _period(s, "2026-10")
    a = _people(s, oct_)[0]
    s.close()

    added = cli(engine, "adjust", "2026-10", a.number, "--amount", "+88.80", "--reason", "录错人")
    assert added.exit_code == 0, added.output
    found = re.search(r"#(\d+)", added.output)
    assert found, added.output
    adj_id = found.group(1)
    assert "2026-11" in added.output

    listed = cli(engine, "adjustments", "2026-10", lang="en")
    assert listed.exit_code == 0, listed.output
    assert f"#{adj_id} {a.number}" in listed.output
    assert "+CN¥88.80" in listed.output
    assert "录错人" in listed.output
    assert "CANCELLED" not in listed.output

    both = cli(
        engine,
        "adjust",
        "2026-10",
        a.number,
        "--amount",
        "1",
        "--cancel",
        adj_id,
        "--reason",
        "x",
        lang="en",
    )
    assert both.exit_code == 2, both.output
    assert "either --amount" in both.output

    done = cli(
        engine,
        "adjust",
        "2026-10",
        a.number,
        "--cancel",
        adj_id,
        "--reason",
        "entered for the wrong person",
        lang="en",
    )
    assert done.exit_code == 0, done.output
    assert f"Adjustment #{adj_id}" in done.output
    assert "is cancelled" in done.output

    again = cli(engine, "adjust", "2026-10", a.number, "--cancel", adj_id, "--reason", "再撤")
    assert again.exit_code == 2, again.output
    assert "由 cli 撤销" in again.output
    assert "entered for the wrong person" in again.output

    unknown = cli(engine, "adjust", "2026-10", a.number, "--cancel", "999999", "--reason", "错")
    assert unknown.exit_code == 2, unknown.output
    assert "#999999" in unknown.output
    assert "没有" in unknown.output

    zh = cli(engine, "adjustments", "2026-11", "--number", a.number)
    assert zh.exit_code == 0, zh.output
    assert f"#{adj_id}" in zh.output
    assert "已撤销" in zh.output
    assert "不发放" in zh.output
    en = cli(engine, "adjustments", "2026-10", lang="en")
    assert "CANCELLED" in en.output
    assert "entered for the wrong person" in en.output
    none = cli(engine, "adjustments", "2026-11", "--number", "NOBODY", lang="en")
    assert none.exit_code == 0, none.output
    assert "No adjustments for or paid with 2026-11." in none.output
    history = cli(engine, "audit", "show", "--employee", a.number, lang="en")
    assert history.exit_code == 0, history.output
    assert "Cancelled" in history.output

    events = cli(engine, "audit", "verify", lang="en")
    assert events.exit_code == 0, events.output
