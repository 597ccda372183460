"""Storage: migrations from empty, exact decimals and aware datetimes on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from models import Base, Employee, Group, Institution
from models.db import alembic_config, make_engine, upgrade


def test_migrations_build_exactly_the_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_migrations_run_down_and_up_again_from_empty(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def _employee(session, **kw):
    group = Group(name="集团")
    inst = Institution(group=group, name="一分公司")
    session.add_all([group, inst])
    session.flush()
    emp = Employee(group_id=group.id, institution_id=inst.id, number="10023", name="张三", **kw)
    session.add(emp)
    session.flush()
    return emp


def test_money_round_trips_exactly(session):
    _employee(session, pay_base=Decimal("4000.005"))
    session.commit()
    session.expire_all()
    base = session.scalar(select(Employee.pay_base))
    assert base == Decimal("4000.005")
    assert isinstance(base, Decimal)


def test_a_float_is_refused_where_money_is_stored(session):
    with pytest.raises(StatementError, match="Decimal"):
        _employee(session, pay_base=4000.0)


def test_datetimes_come_back_aware(session):
    from models import AuditEvent

    at = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    session.add(AuditEvent(at=at, action="x", entity="y", entity_id=None))
    session.commit()
    session.expire_all()
    got = session.scalar(select(AuditEvent.at))
    assert got == at
    assert got.tzinfo is not None


def test_a_naive_datetime_is_refused(session):
    from models import AuditEvent

    session.add(AuditEvent(at=dt.datetime(2026, 11, 24), action="x", entity="y", entity_id=None))  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive"):
        session.flush()


def test_models_show_their_identity_in_repr(session):
    emp = _employee(session)
    assert "10023" in repr(emp)
