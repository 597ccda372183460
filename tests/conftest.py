"""Shared fixtures: a migrated database per test, on SQLite always and on PostgreSQL
when TEST_DATABASE_URL is set (under CI it must be)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, orm, text
from sqlalchemy.engine import make_url

from bot.infra import i18n
from models import Base
from models.db import make_engine, sessions, upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# Bind codes are hashed with a key; tests use a fixed one rather than a key file in the
# working folder.
os.environ.setdefault("BIND_CODE_SECRET", "test-bind-code-secret-0123456789abcdef")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that tries to reach beyond this machine fails instead."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        local = host in ("127.0.0.1", "localhost", "::1")
        if isinstance(host, str) and not local and self.family != socket.AF_UNIX:
            raise AssertionError(f"test tried to reach {host}")
        return real(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that starts the server's logging (serve, worker) leaves the next test the
    logging it found: no handler, level, filter or record factory carried over."""
    root = logging.getLogger()
    handlers, level, filters = root.handlers[:], root.level, root.filters[:]
    factory = logging.getLogRecordFactory()
    yield
    root.handlers[:], root.filters[:] = handlers, filters
    root.setLevel(level)
    logging.setLogRecordFactory(factory)


@pytest.fixture(autouse=True)
def _language() -> Iterator[None]:
    with i18n.using("zh_CN"):
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def new_pg_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip("TEST_DATABASE_URL not set")
    base = make_url(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    """A throwaway PostgreSQL database for this test run, migrated once."""
    with new_pg_database("jixiao_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "jixiao.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine")
        yield eng
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with eng.begin() as c:
            c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def Session(engine: Engine) -> orm.sessionmaker[orm.Session]:  # reads like the class it makes
    return sessions(engine)


@pytest.fixture
def session(Session: orm.sessionmaker[orm.Session]) -> Iterator[orm.Session]:
    with Session() as s:
        yield s
