"""Pruning the outbox: finished messages older than the retention go, in batches; what is
still to be sent, what is young, and the dedupe keys still guarding something stay."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from apscheduler.triggers.cron import CronTrigger
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from bot.appraisal.periods import open_period
from bot.cli.common import forget_engine
from bot.cli.main import app
from bot.infra.errors import Refused
from bot.infra.settings import Settings
from bot.notify import outbox, retention
from bot.notify import scheduler as sched
from bot.notify.reminders import queue_period_opened
from models import AuditEvent, OutboxMessage, OutboxState, Period, PeriodState
from models.db import make_engine, sessions, upgrade
from tests.conftest import new_pg_database
from tests.factories import T0, bind, small_org

Q = OutboxState
NOW = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=120)
YOUNG = NOW - dt.timedelta(days=10)


def _message(s, key, state, *, created, sent=None, retry=None):
    """One message in `state`, queued at `created` (sent at `sent`, next try at `retry`)."""
    outbox.enqueue(
        s, created, platform="telegram", chat_id="c1", content={"text": key}, dedupe_key=key
    )
    s.flush()
    m = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).one()
    m.state = state
    m.sent_at = sent
    if retry is not None:
        m.next_attempt_at = retry
    if state in (Q.CLAIMED, Q.SENDING):
        m.claimed_by = "w"
        m.lease_until = created + dt.timedelta(seconds=45)
    return m


def _keys(Session):
    with Session() as s:
        return set(s.scalars(select(OutboxMessage.dedupe_key)))


def _events(Session):
    with Session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.prune")))


def test_old_finished_messages_go_and_everything_still_to_send_or_young_stays(Session):
    with Session() as s, s.begin():
        # Still to be delivered, however old: never pruned.
        for state in (Q.QUEUED, Q.CLAIMED, Q.SENDING):
            _message(s, f"pending-{state.value}", state, created=OLD)
        # Done with long ago: pruned.
        _message(s, "old-sent", Q.SENT, created=OLD, sent=OLD)
        _message(s, "old-failed", Q.FAILED, created=OLD)
        _message(s, "old-unknown", Q.UNKNOWN, created=OLD)
        # Young, or long queued but sent (or last tried) lately: kept.
        _message(s, "young-sent", Q.SENT, created=YOUNG, sent=YOUNG)
        _message(s, "young-failed", Q.FAILED, created=YOUNG)
        _message(s, "old-but-sent-lately", Q.SENT, created=OLD, sent=YOUNG)
        _message(s, "old-but-failed-lately", Q.FAILED, created=OLD, retry=YOUNG)
    done = retention.prune_outbox(Session, NOW, 90)
    assert done.messages == 3
    assert done.cutoff == NOW - dt.timedelta(days=90)
    assert _keys(Session) == {
        "pending-queued",
        "pending-claimed",
        "pending-sending",
        "young-sent",
        "young-failed",
        "old-but-sent-lately",
        "old-but-failed-lately",
    }
    [event] = _events(Session)
    assert event.after == {"messages": 3, "cutoff": done.cutoff.isoformat(), "days": 90}
    assert event.actor_label == "cli"
    # Nothing left to prune: nothing deleted, nothing more audited.
    assert retention.prune_outbox(Session, NOW, 90).messages == 0
    assert len(_events(Session)) == 1


def test_pruning_goes_in_batches_each_in_its_own_transaction(Session, monkeypatch):
    with Session() as s, s.begin():
        for i in range(10):
            _message(s, f"old-{i}", Q.SENT, created=OLD, sent=OLD)
            _message(s, f"young-{i}", Q.SENT, created=YOUNG, sent=YOUNG)
    batches: list[int] = []
    real = outbox.prune

    def counted(session, *args, **kwargs):
        # What earlier batches deleted is committed already, seen from another session.
        assert len(_keys(Session)) == 20 - sum(batches)
        n, last = real(session, *args, **kwargs)
        batches.append(n)
        return n, last

    monkeypatch.setattr(outbox, "prune", counted)
    done = retention.prune_outbox(Session, NOW, 90, batch=3)
    assert done.messages == 10
    assert batches == [3, 3, 3, 1, 0]
    assert _keys(Session) == {f"young-{i}" for i in range(10)}
    [event] = _events(Session)  # one event for the run, with its total
    assert event.after["messages"] == 10


def test_a_dry_run_counts_and_deletes_nothing(Session):
    with Session() as s, s.begin():
        for i in range(7):
            _message(s, f"old-{i}", Q.SENT, created=OLD, sent=OLD)
        _message(s, "queued", Q.QUEUED, created=OLD)
    before = _keys(Session)
    done = retention.prune_outbox(Session, NOW, 90, dry_run=True, batch=2)
    assert (done.messages, done.dry_run) == (7, True)
    assert _keys(Session) == before
    assert _events(Session) == []


def test_a_retention_shorter_than_the_rule_is_refused(Session, monkeypatch):
    with Session() as s, s.begin():
        _message(s, "sent-40-days-ago", Q.SENT, created=NOW - dt.timedelta(days=40))
    for days in (0, 1, 29):
        with pytest.raises(Refused, match=f"至少保留 30 天，不能是 {days} 天"):
            retention.prune_outbox(Session, NOW, days)
        with pytest.raises(Refused):
            retention.prune_outbox(Session, NOW, days, dry_run=True)
    assert _keys(Session) == {"sent-40-days-ago"}
    assert retention.prune_outbox(Session, NOW, 30).messages == 1  # the rule's own minimum
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "7")
    with pytest.raises(ValidationError, match="OUTBOX_RETENTION_DAYS: at least 30 days, not 7"):
        Settings(_env_file=None)
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "30")
    assert Settings(_env_file=None).outbox_retention_days == 30


def test_a_periods_opened_messages_stay_until_it_is_published(Session):
    """`jixiao period tasks` queues the "opened" push again (its dedupe key skips whoever
    had it) whenever the period is open for scoring: pruned sooner, every scorer would
    hear again that the period opened."""
    with Session() as s, s.begin():
        group, people = small_org(s)
        for _inst, head, _staff in people.values():
            bind(s, head)
        period, _tasks = open_period(s, T0, group=group, label="2026-11", scheme_code="STD")
        assert queue_period_opened(s, period, T0) == 2
        _message(s, "old-sent", Q.SENT, created=OLD, sent=OLD)
        for m in s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("opened:%"))):
            m.state, m.sent_at = Q.SENT, T0
        period_id = period.id
    later = T0 + dt.timedelta(days=200)
    for state in (PeriodState.SCORING, PeriodState.SCORING_CLOSED):
        with Session() as s, s.begin():
            s.get(Period, period_id).state = state
        retention.prune_outbox(Session, later, 90)
        assert len([k for k in _keys(Session) if k.startswith(f"opened:{period_id}:")]) == 2
        # Queued again (as `period tasks` does): nobody is told twice.
        with Session() as s, s.begin():
            assert queue_period_opened(s, s.get(Period, period_id), later) == 0
    assert "old-sent" not in _keys(Session)
    with Session() as s, s.begin():
        s.get(Period, period_id).state = PeriodState.PUBLISHED
    assert retention.prune_outbox(Session, later, 90).messages == 2
    assert _keys(Session) == set()


def test_the_worker_prunes_each_night_with_its_clock_and_retention(Session):
    scheduler = sched.build_scheduler(sched.Jobs(Session))
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("prune")
        assert isinstance(job.trigger, CronTrigger)
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("3", "30")
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        assert job.coalesce
        assert job.max_instances == 1
    finally:
        scheduler.shutdown(wait=False)
    with Session() as s, s.begin():
        _message(s, "sent-40-days-ago", Q.SENT, created=NOW - dt.timedelta(days=40))
        _message(s, "sent-20-days-ago", Q.SENT, created=NOW - dt.timedelta(days=20))
    sched.Jobs(Session, clock=lambda: NOW, retention_days=90).prune()
    assert len(_keys(Session)) == 2
    sched.Jobs(Session, clock=lambda: NOW, retention_days=30).prune()
    assert _keys(Session) == {"sent-20-days-ago"}
    [event] = _events(Session)
    assert event.actor_label == "scheduler"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        found = f"sqlite:///{tmp_path / 'prune.db'}"
        yield found
        forget_engine(found)
    else:
        with new_pg_database("jixiao_prune") as found:
            yield found
            forget_engine(found)


def _jixiao(url, lang, *args):
    with time_machine.travel(NOW, tick=False):
        return CliRunner().invoke(
            app, ["--database-url", url, "--lang", lang, "outbox", "prune", *args]
        )


def test_jixiao_outbox_prune_says_what_it_deleted(url, monkeypatch):
    monkeypatch.delenv("OUTBOX_RETENTION_DAYS", raising=False)
    engine = make_engine(url)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        for i in range(3):
            _message(s, f"old-{i}", Q.SENT, created=OLD, sent=OLD)
        _message(s, "sent-60-days-ago", Q.SENT, created=NOW - dt.timedelta(days=60))
        _message(s, "queued", Q.QUEUED, created=OLD)
    engine.dispose()
    reader = make_engine(url)
    Session = sessions(reader)

    dry = _jixiao(url, "en", "--dry-run")
    assert dry.exit_code == 0, dry.output
    # The cutoff in DEFAULT_TIMEZONE (Shanghai): 90 days before 2027-03-01 10:00.
    assert dry.output == (
        "Would delete 3 messages sent or given up before 2026-12-01 10:00 "
        "(a dry run: nothing was deleted).\n"
    )
    assert len(_keys(Session)) == 5

    short = _jixiao(url, "zh_CN", "--older-than", "7")
    assert short.exit_code == 2
    assert short.output.startswith("已发消息至少保留 30 天，不能是 7 天")
    assert len(_keys(Session)) == 5

    done = _jixiao(url, "zh_CN", "--older-than", "45")
    assert done.exit_code == 0, done.output
    assert done.output == "已删除 2027-01-15 10:00 之前已发出或已放弃的 4 条消息。\n"
    assert _keys(Session) == {"queued"}
    reader.dispose()

    again = _jixiao(url, "en")
    assert again.output == "Deleted 0 messages sent or given up before 2026-12-01 10:00.\n"
