"""The tamper-evident audit log: every change made behind the chain's back is named by
`jixiao audit verify`, and every change made through the application keeps it intact."""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import time
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, text, update
from typer.testing import CliRunner

from bot.appraisal.audit import record
from bot.appraisal.audit_verify import verify
from bot.appraisal.periods import close_period
from bot.appraisal.results import compute_period
from bot.cli import demo_data as demo
from bot.cli.main import app
from bot.infra import i18n
from models import (
    AuditEvent,
    AuditHead,
    Employee,
    Period,
    PeriodState,
    Result,
    ScoreEntry,
    ScoringTask,
    TaskState,
)
from models.chain import (
    GENESIS,
    canonical,
    event_hash,
    group_digest,
    results_hasher,
    row_hash,
)
from models.db import make_engine, sessions, upgrade
from tests.conftest import new_pg_database

NOW = dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def built(engine):
    return demo.prepare(engine, NOW, employees=24, institutions=2)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run(engine: Engine, *args: str, lang: str = "en"):
    return CliRunner().invoke(app, ["--database-url", url_of(engine), "--lang", lang, *args])


def check(Session):
    """verify's verdict, in English."""
    with Session() as s, i18n.using("en"):
        return verify(s)


def sql(engine: Engine, statement: str, **params) -> None:
    with engine.begin() as c:
        c.execute(text(statement), params)


def final_result(session) -> Result:
    """A result of last month's (final) period, with its person."""
    return session.scalars(
        select(Result)
        .join(Period, Period.id == Result.period_id)
        .where(Period.state == PeriodState.FINAL)
        .order_by(Result.id)
    ).first()


def submitted_entry(session) -> ScoreEntry:
    return session.scalars(
        select(ScoreEntry)
        .join(ScoringTask, ScoringTask.id == ScoreEntry.task_id)
        .where(ScoringTask.state == TaskState.SUBMITTED)
        .order_by(ScoreEntry.id)
    ).first()


# The serialization, by hand.


def test_the_canonical_form_is_the_documented_one():
    value = {
        "b": Decimal("91.50"),
        "a": dt.datetime(2026, 11, 30, 19, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "c": None,
        "d": dt.date(2026, 11, 1),
        "e": "张三",
        "f": Decimal("1E+2"),
    }
    assert (
        canonical(value)
        == (
            '{"a":"2026-11-30T11:05:00.000000Z","b":"91.50","c":null,"d":"2026-11-01",'
            '"e":"张三","f":"100"}'
        ).encode()
    )
    assert row_hash("t", [1]) == hashlib.sha256(b'["t",1]').hexdigest()
    # row_hash writes items itself, for speed: the very bytes canonical() writes.
    tricky = [
        *(None, True, 0, -5, 1.5, '张三\n"引号"\\', '{"a":"中"}'),
        *(Decimal("1E+2"), Decimal("-0.00"), Decimal("1E-7"), Decimal("87.50")),
        *(
            dt.date(2026, 1, 2),
            dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        ),
        PeriodState.FINAL,
    ]
    assert row_hash("t", tricky) == hashlib.sha256(canonical(["t", *tricky])).hexdigest()
    at = dt.datetime(2026, 11, 30, 9, 1, 2, 3456, tzinfo=dt.UTC)
    values = (7, Decimal("87.50"), "B", Decimal("1.2"), Decimal("4000.00"), Decimal("1E+3"))
    trace = '{"v":2,"note":"张三说\\"好\\""}'
    assert results_hasher(3, at)(*values, trace) == row_hash("results", [3, *values, trace, at])
    assert group_digest([(2, "bb"), (1, "aa")]) == hashlib.sha256(b"1 aa\n2 bb\n").hexdigest()


# An intact chain.


def test_the_demo_database_verifies_intact_and_says_how_many_events(engine, built, Session):
    with Session() as s:
        count = s.scalar(select(func.count(AuditEvent.id)))
        head = s.get_one(AuditHead, 1)
        unsealed = s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.seq.is_(None)))
        first = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).first()
    assert count > 100
    assert unsealed == 0
    assert head.seq == count
    assert first.prev_hash == GENESIS
    result = run(engine, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Chain intact, {count} events."
    assert head.hash in result.output
    zh = run(engine, "audit", "verify", lang="zh_CN")
    assert zh.exit_code == 0
    assert zh.output.splitlines()[0] == f"审计链完整，共 {count} 条事件。"


def test_changes_made_through_the_application_keep_it_intact(engine, built, Session):
    """Close, compute and a later module's calibration of one result (an ORM update and
    an event through record): nothing flagged."""
    with Session() as s, s.begin():
        period = s.scalars(select(Period).where(Period.state == PeriodState.SCORING)).one()
        s.execute(
            update(ScoringTask)
            .where(ScoringTask.period_id == period.id)
            .values(state=TaskState.SUBMITTED)
        )
        close_period(s, NOW, period)
    with Session() as s, s.begin():
        period = s.scalars(select(Period).where(Period.state == PeriodState.SCORING_CLOSED)).one()
        # Tasks forced submitted above were never sealed: seal them as HR would.
        for task_id in s.scalars(select(ScoringTask.id).where(ScoringTask.period_id == period.id)):
            record(s, NOW, "task.submit_by_hr", "scoring_task", task_id, actor_label="cli")
    with Session() as s, s.begin():
        period = s.scalars(select(Period).where(Period.state == PeriodState.SCORING_CLOSED)).one()
        compute_period(s, NOW, period)
    with Session() as s, s.begin():
        result = final_result(s)
        old = result.pay
        result.grade, result.pay = "A", old + Decimal("100.00")
        record(
            s,
            NOW,
            "calibration.apply",
            "result",
            result.id,
            actor_label="cli",
            before={"grade": "B", "pay": str(old)},
            after={"grade": "A", "pay": str(result.pay)},
        )
    with Session() as s, s.begin():
        # A later module's way: the period's event first, then the result's, one
        # transaction; and a result changed through the ORM that no event names.
        period = s.scalars(select(Period).where(Period.state == PeriodState.FINAL)).one()
        first, second = s.scalars(
            select(Result).where(Result.period_id == period.id).order_by(Result.id).limit(2)
        ).all()
        record(s, NOW, "calibration.start", "period", period.id, actor_label="cli")
        first.grade = "B"
        record(s, NOW, "calibration.apply", "result", first.id, actor_label="cli")
        second.grade = "D"
    verdict = check(Session)
    assert verdict.intact, verdict.chain + verdict.rows


def test_a_change_through_the_orm_in_a_transaction_without_any_event_is_named(
    engine, built, Session
):
    with Session() as s, s.begin():
        result = final_result(s)
        result.grade = "E"
    verdict = check(Session)
    assert len(verdict.rows) == 1
    assert verdict.rows[0].startswith(f"Altered: result id {result.id} (")


# Rows changed behind the chain's back.


def test_an_altered_score_entry_is_named(engine, built, Session):
    with Session() as s:
        entry = submitted_entry(s)
    sql(engine, "UPDATE score_entries SET value = '100' WHERE id = :id", id=entry.id)
    verdict = check(Session)
    assert not verdict.chain
    assert len(verdict.rows) == 1
    assert verdict.rows[0].startswith(f"Altered: score entry id {entry.id} (indicator ")
    result = run(engine, "audit", "verify")
    assert result.exit_code == 1
    assert f"score entry id {entry.id}" in result.output
    assert "chain intact" not in result.output.lower()


def test_an_altered_result_is_named_with_the_person_and_period(engine, built, Session):
    with Session() as s:
        result = final_result(s)
        person = s.get_one(Employee, result.employee_id)
        label = s.get_one(Period, result.period_id).label
    sql(engine, "UPDATE results SET pay = '99999.00' WHERE id = :id", id=result.id)
    verdict = check(Session)
    assert verdict.rows == [
        f"Altered: result id {result.id} ({person.number} {person.name}, period {label}) "
        "no longer matches its hash."
    ]


def test_an_altered_period_row_is_named(engine, built, Session):
    with Session() as s:
        period = s.scalars(select(Period).where(Period.state == PeriodState.FINAL)).one()
    sql(engine, "UPDATE periods SET state = 'published' WHERE id = :id", id=period.id)
    verdict = check(Session)
    assert verdict.rows == [
        f"Altered: period {period.label} (id {period.id}) no longer matches its hash."
    ]


def test_a_result_altered_with_its_hash_rewritten_still_names_its_period(engine, built, Session):
    """Someone who knows the hash function rewrites the row hash too: the digest the
    compute event recorded over the period's results no longer matches."""
    with Session() as s:
        result = final_result(s)
        label = s.get_one(Period, result.period_id).label
        content = [
            result.period_id,
            result.employee_id,
            result.total,
            result.grade,
            result.coefficient,
            result.pay_base,
            Decimal("99999.00"),
            s.execute(
                text("SELECT CAST(trace AS TEXT) FROM results WHERE id = :id"), {"id": result.id}
            ).scalar_one(),
            result.computed_at,
        ]
    forged = row_hash("results", content)
    sql(
        engine,
        "UPDATE results SET pay = '99999.00', row_hash = :h WHERE id = :id",
        h=forged,
        id=result.id,
    )
    verdict = check(Session)
    assert len(verdict.rows) == 1
    assert verdict.rows[0].startswith(f"Altered: the results of period {label} no longer match")


def test_a_result_changed_after_its_own_event_is_pinpointed_even_with_its_hash_rewritten(
    engine, built, Session
):
    """A result last sealed by its own event (a calibration): rewriting the row and its
    hash is named by the row, since the event recorded the hash it must have."""
    with Session() as s, s.begin():
        result = final_result(s)
        result.grade = "A"
        record(s, NOW, "calibration.apply", "result", result.id, after={"grade": "A"})
    with Session() as s:
        result = final_result(s)
        content = s.execute(
            text(
                "SELECT period_id, employee_id, total, grade, coefficient, pay_base, pay, "
                "CAST(trace AS TEXT), computed_at FROM results WHERE id = :id"
            ),
            {"id": result.id},
        ).one()
    values = [
        result.period_id,
        result.employee_id,
        result.total,
        "E",
        result.coefficient,
        result.pay_base,
        result.pay,
        content[7],
        result.computed_at,
    ]
    sql(
        engine,
        "UPDATE results SET grade = 'E', row_hash = :h WHERE id = :id",
        h=row_hash("results", values),
        id=result.id,
    )
    verdict = check(Session)
    assert len(verdict.rows) == 1
    assert verdict.rows[0].startswith(f"Altered: result id {result.id} (")
    assert "changed without a matching event" in verdict.rows[0]


def test_an_inserted_and_a_deleted_score_entry_of_a_submitted_task_are_caught(
    engine, built, Session
):
    with Session() as s:
        entry = submitted_entry(s)
    sql(engine, "DELETE FROM score_entries WHERE id = :id", id=entry.id)
    verdict = check(Session)
    assert len(verdict.rows) == 1
    assert verdict.rows[0].startswith(f"Altered: the answers of task id {entry.task_id} (")


# Events altered, deleted, inserted.


def middle_event(Session) -> AuditEvent:
    with Session() as s:
        count = s.scalar(select(func.count(AuditEvent.id)))
        return s.scalars(select(AuditEvent).where(AuditEvent.seq == count // 2)).one()


def test_an_altered_event_is_named_by_id_and_time(engine, built, Session):
    event = middle_event(Session)
    sql(engine, "UPDATE audit_events SET note = 'nothing happened' WHERE id = :id", id=event.id)
    verdict = check(Session)
    when = event.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert verdict.chain == [
        f"Altered: event id {event.id} at {when} (position {event.seq}) no longer matches its hash."
    ]
    result = run(engine, "audit", "verify")
    assert result.exit_code == 1
    assert f"event id {event.id}" in result.output


def test_a_deleted_event_is_named_by_the_one_after_it(engine, built, Session):
    event = middle_event(Session)
    with Session() as s:
        after = s.scalars(select(AuditEvent).where(AuditEvent.seq == event.seq + 1)).one()
    sql(engine, "DELETE FROM audit_events WHERE id = :id", id=event.id)
    verdict = check(Session)
    when = after.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert verdict.chain[0] == (
        f"Deleted: 1 event is missing just before event id {after.id} at {when} "
        f"(position {after.seq})."
    )


def test_deleting_the_last_events_is_caught_by_the_head(engine, built, Session):
    with Session() as s:
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    sql(engine, "DELETE FROM audit_events WHERE seq >= :seq", seq=last.seq - 1)
    verdict = check(Session)
    assert verdict.chain[0].startswith("Deleted: 2 events at the end of the chain are missing")


def test_an_inserted_event_is_named(engine, built, Session):
    sql(
        engine,
        "INSERT INTO audit_events (at, actor_label, action, entity, entity_id, note) "
        "VALUES (:at, 'cli', 'period.finalize', 'period', 1, '')",
        at=NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW,
    )
    with Session() as s:
        inserted = s.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None))).one()
    verdict = check(Session)
    assert verdict.chain == [
        f"Inserted: event id {inserted.id} at 2026-11-24 02:30:00 UTC has no place in the "
        "chain (never sealed)."
    ]


def test_an_event_forged_with_a_valid_hash_in_the_middle_is_named(engine, built, Session):
    """Someone who knows the hash function moves events up and slips one in: its own hash
    fits, the one before it in the chain does not."""
    event = middle_event(Session)
    with Session() as s:
        fields = {
            "seq": event.seq,
            "prev": "f" * 64,
            "id": event.id,
            "at": event.at,
            "actor_id": event.actor_id,
            "actor_label": event.actor_label,
            "action": event.action,
            "entity": event.entity,
            "entity_id": event.entity_id,
            "before": event.before,
            "after": event.after,
            "note": event.note,
            "seal": event.seal,
        }
        s.rollback()
    sql(
        engine,
        "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id",
        p="f" * 64,
        h=event_hash(fields),
        id=event.id,
    )
    verdict = check(Session)
    assert verdict.chain[0].startswith(f"Inserted: event id {event.id} at ")


def test_an_event_that_cannot_even_be_read_is_named_not_a_crash(tmp_path):
    """SQLite stores what it is given: a time that is not one makes reading fail; verify
    names the place instead of ending in a traceback."""
    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    upgrade(engine)
    demo.prepare(engine, NOW, employees=24, institutions=2)
    Session = sessions(engine)
    event = middle_event(Session)
    with Session() as s:
        before = s.scalars(select(AuditEvent).where(AuditEvent.seq == event.seq - 1)).one()
    sql(engine, "UPDATE audit_events SET at = 'yesterday' WHERE id = :id", id=event.id)
    verdict = check(Session)
    assert verdict.chain[0].startswith(f"Altered: the event after id {before.id} cannot be read")
    engine.dispose()


# It cannot pass vacuously.


def test_verify_fails_on_a_database_whose_chain_is_missing(engine, built, Session):
    """As the database was before the chain: events unsealed, rows without hashes."""
    sql(engine, "UPDATE audit_events SET seq = NULL, prev_hash = NULL, hash = NULL, seal = NULL")
    sql(engine, "UPDATE results SET row_hash = NULL")
    sql(engine, "UPDATE periods SET row_hash = NULL")
    verdict = check(Session)
    assert not verdict.intact
    assert verdict.chain[0].startswith("Deleted:") or verdict.chain[0].startswith("Inserted:")
    assert any("is not vouched for by any event" in line for line in verdict.rows)
    assert run(engine, "audit", "verify").exit_code == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with new_pg_database("jixiao_chain") as url:
            yield url


def test_the_migration_chains_the_events_and_seals_the_rows_that_existed(empty_url):
    """A database at the revision before the chain, with an event, a period and its
    results written by hand: the upgrade chains and seals them, then verify catches a
    change."""
    engine = make_engine(empty_url)
    upgrade(engine, "0007")
    with engine.begin() as c:
        for statement in (
            "INSERT INTO groups (id, name) VALUES (1, 'G')",
            "INSERT INTO institutions (id, group_id, name, pilot, timezone) VALUES (1, 1, 'I', "
            "TRUE, 'Asia/Shanghai')",
            "INSERT INTO employees (id, group_id, number, name, position, institution_id, "
            "pay_base, active, on_leave) VALUES (1, 1, '1001', '甲', '', 1, '4000.00', TRUE, "
            "FALSE)",
            "INSERT INTO schemes (id, group_id, code, version, name, pay_mode, score_places, "
            "pay_quantum, rounding, created_at) VALUES (1, 1, 'S', 1, 'S', 'coefficient', 2, "
            "'0.01', 'ROUND_HALF_UP', '2026-10-01 00:00:00.000000')",
            "INSERT INTO periods (id, group_id, scope, label, kind, starts_on, ends_on, "
            "scheme_id, state, deadline, created_at) VALUES (1, 1, 'group', '2026-10', "
            "'monthly', '2026-10-01', '2026-10-31', 1, 'final', '2026-11-07 15:59:59.000000', "
            "'2026-10-01 00:00:00.000000')",
            "INSERT INTO results (id, period_id, employee_id, total, grade, coefficient, "
            "pay_base, pay, trace, computed_at) VALUES (1, 1, 1, '90.00', 'A', '1.2', "
            "'4000.00', '4800.00', '{\"v\"\\:2}', '2026-11-05 01:00:00.000000')",
            "INSERT INTO audit_events (at, actor_label, action, entity, entity_id, note, "
            "\"before\", \"after\") VALUES ('2026-11-05 01:00:00.000000', 'cli', "
            "'results.compute', 'period', 1, '', NULL, '{\"created\"\\:1}')",
        ):
            c.execute(text(statement))
    upgrade(engine)
    Session = sessions(engine)
    verdict = check(Session)
    assert verdict.intact, verdict.chain + verdict.rows
    assert verdict.events == 2  # the old event and the seal of period 2026-10
    with engine.begin() as c:
        c.execute(text("UPDATE results SET pay = '5800.00'"))
    assert check(Session).rows == [
        "Altered: result id 1 (1001 甲, period 2026-10) no longer matches its hash."
    ]
    engine.dispose()


# Two writers at once.


def _writer(url: str, who: int, rounds: int) -> None:
    engine = make_engine(url)
    Session = sessions(engine)
    for n in range(rounds):
        with Session() as s, s.begin():
            record(s, dt.datetime.now(dt.UTC), "test.write", "writer", who, after={"n": n})
            s.flush()
            time.sleep(0.002)  # hold the transaction open so the two interleave
            record(s, dt.datetime.now(dt.UTC), "test.write", "writer", who, after={"n": n})
    engine.dispose()


def test_two_processes_writing_at_once_never_fork_the_chain(engine, built, Session):
    with Session() as s:
        before = s.scalar(select(func.count(AuditEvent.id)))
    url = url_of(engine)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, who, 40)) for who in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Session() as s:
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert len(seqs) == before + 160
    assert seqs == list(range(1, before + 161))
    verdict = check(Session)
    assert verdict.intact, verdict.chain + verdict.rows


# One person's history.


def test_show_tells_one_persons_history_in_plain_language(engine, built, Session):
    with Session() as s:
        result = final_result(s)
        person = s.get_one(Employee, result.employee_id)
        label = s.get_one(Period, result.period_id).label
    with Session() as s, s.begin():
        r = s.get_one(Result, result.id)
        r.grade = "A"
        record(s, NOW, "appeal.uphold", "result", r.id, before={"grade": "B"}, after={"grade": "A"})
        record(
            s,
            NOW,
            "payroll.confirmed",
            "acceptance",
            7,
            actor_label="cli",
            after={"number": person.number, "paid": "4800.00"},
        )
        record(s, NOW, "weird.thing", "result", r.id, actor_label="cli")
        record(s, NOW, "appeal.file", "employee", person.id, after={"reason": "late"})
        record(s, NOW, "identity.bind", "employee", person.id, actor_label="chat")
    out = run(engine, "audit", "show", "--employee", person.number, "--period", label)
    assert out.exit_code == 0, out.output
    text_ = out.output
    assert f"History of {person.name} ({person.number}), period {label}:" in text_
    assert "scored and submitted as" in text_
    assert f"Period {label} opened for scoring." in text_
    assert f"Results of period {label} published." in text_
    assert f"Period {label} final: this result sets the pay to be paid." in text_
    assert f"{label}: Appealed (appeal.uphold) by HR (command line): grade B → A." in text_
    assert "Paid (payroll.confirmed) by HR (command line): number " in text_
    assert f"{label}: Recorded (weird.thing) by HR (command line)." in text_
    assert f"Result now, {label}: total" in text_
    assert "Appealed (appeal.file) by " in text_
    assert "identity.bind" not in text_  # chat access is not the appraisal's history
    zh = run(engine, "audit", "show", "--employee", person.number, "--period", label, lang="zh_CN")
    assert zh.exit_code == 0
    assert f"{person.name}（{person.number}）" in zh.output
    assert "申诉" in zh.output


def test_show_refuses_an_unknown_person_in_one_line(engine, built):
    out = run(engine, "audit", "show", "--employee", "nobody")
    assert out.exit_code == 2
    assert out.output.strip() == "No employee with number nobody."


def test_the_transaction_that_verified_can_still_write(engine, built, Session):
    # verify streams its reads by each statement's own option: the connection is left
    # as it was, so a write after it in the same transaction works (PostgreSQL refused
    # it while the whole connection streamed).
    from bot.appraisal.audit import record
    from bot.appraisal.audit_verify import verify

    with Session() as s, s.begin():
        assert verify(s).intact
        record(s, dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "test.after_verify", "group", None)
    with Session() as s:
        assert verify(s).intact
