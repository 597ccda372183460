"""`jixiao db upgrade`, the schema gate every other command passes, and `backup` /
`restore`: on real SQLite files and real PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from bot.cli.common import forget_engine
from bot.cli.main import app
from models.db import alembic_config, make_engine, schema_state, upgrade
from tests.conftest import new_pg_database

RACE = """
import sys, time
from sqlalchemy.pool import NullPool
from models.db import make_engine, upgrade
start = float(sys.argv[2])
engine = make_engine(sys.argv[1], poolclass=NullPool)
while time.time() < start:
    time.sleep(0.001)
upgrade(engine)
"""


def _jixiao(url: str, *args: str, lang: str = "en"):
    return CliRunner().invoke(app, ["--database-url", url, "--lang", lang, *args])


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    head = script.get_revision(script.get_current_head())
    assert head is not None
    return str(head.down_revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.db'}"
        forget_engine(f"sqlite:///{tmp_path / 'new.db'}")
    else:
        with new_pg_database("jixiao_dbcli") as url:
            yield url
            forget_engine(url)


def test_three_processes_upgrading_one_new_database_at_once_all_succeed(new_url):
    start = str(time.time() + 2)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, new_url, start],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors = [r.communicate(timeout=120)[1] for r in runs]
    assert [r.returncode for r in runs] == [0, 0, 0], errors
    state = schema_state(make_engine(new_url, poolclass=NullPool))
    assert state.up_to_date


def test_a_database_behind_the_code_is_refused_until_db_upgrade(new_url):
    engine = make_engine(new_url, poolclass=NullPool)
    upgrade(engine, _previous_revision())
    refused = _jixiao(new_url, "status")
    assert refused.exit_code == 2
    assert "jixiao db upgrade" in refused.output
    assert _jixiao(new_url, "db", "check").exit_code == 1
    done = _jixiao(new_url, "db", "upgrade")
    assert done.exit_code == 0, done.output
    assert f"from revision {_previous_revision()}" in done.output
    assert _jixiao(new_url, "db", "check").exit_code == 0
    assert schema_state(engine).up_to_date


def test_a_database_written_by_a_newer_jixiao_is_never_touched(new_url):
    engine = make_engine(new_url, poolclass=NullPool)
    upgrade(engine)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    for args in (("status",), ("db", "upgrade")):
        refused = _jixiao(new_url, *args, lang="zh_CN")
        assert refused.exit_code == 2
        assert "更新版本" in refused.output
    with engine.connect() as c:
        assert c.scalar(text("SELECT version_num FROM alembic_version")) == "9999"


def test_a_new_database_is_set_up_by_the_first_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = _jixiao(url, "status")
    assert "jixiao import org" in first.output  # the database is there, only empty
    assert schema_state(make_engine(url, poolclass=NullPool)).up_to_date
    forget_engine(url)


# ---------------------------------------------------------------------- backup, restore


def _count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as c:
        return int(c.execute("SELECT count(*) FROM audit_events").fetchone()[0])


def test_an_online_backup_is_consistent_while_someone_writes(tmp_path):
    source = tmp_path / "jixiao.db"
    url = f"sqlite:///{source}"
    engine = make_engine(url)
    upgrade(engine)
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.is_set():
            with engine.begin() as c:
                c.execute(
                    text(
                        "INSERT INTO audit_events (at, actor_label, action, entity, note) "
                        "VALUES (CURRENT_TIMESTAMP, 'test', 'x', 'y', 'z')"
                    )
                )
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 50:
            time.sleep(0.01)
        copy = tmp_path / "copy.db"
        made = _jixiao(url, "backup", str(copy))
    finally:
        stop.set()
        writer.join()
    assert made.exit_code == 0, made.output
    assert not (tmp_path / "copy.db-wal").exists()
    with closing(sqlite3.connect(copy)) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copied = _count(copy)
    assert 50 <= copied <= written[0]
    again = _jixiao(url, "backup", str(copy))
    assert again.exit_code == 2
    assert "already exists" in again.output

    target = tmp_path / "restored.db"
    restored = _jixiao(f"sqlite:///{target}", "restore", str(copy))
    assert restored.exit_code == 0, restored.output
    assert _count(target) == copied
    assert schema_state(make_engine(f"sqlite:///{target}")).up_to_date
    # Never over a database that has something in it, never from a file that is not ours.
    over = _jixiao(url, "restore", str(copy))
    assert over.exit_code == 2
    assert "not empty" in over.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    refused = _jixiao(f"sqlite:///{tmp_path / 'other.db'}", "restore", str(junk))
    assert refused.exit_code == 2
    assert "not a Jixiao backup" in refused.output


def test_postgresql_backup_and_restore_print_commands_that_work(tmp_path):
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.fail("pg_dump and pg_restore come with PostgreSQL: install its client tools")
    with new_pg_database("jixiao_dump") as source, new_pg_database("jixiao_restore") as target:
        engine = make_engine(source, poolclass=NullPool)
        upgrade(engine)
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO audit_events (at, actor_label, action, entity, note) "
                    "VALUES (now(), 'test', 'x', 'y', '备份')"
                )
            )
        dump = tmp_path / "jixiao.dump"
        printed = _jixiao(source, "backup", str(dump)).output.splitlines()
        assert printed[-1].startswith("pg_dump ")
        subprocess.run(printed[-1], shell=True, check=True)
        printed = _jixiao(target, "restore", str(dump)).output.splitlines()
        assert printed[-1].startswith("pg_restore ")
        subprocess.run(printed[-1], shell=True, check=True)
        restored = make_engine(target, poolclass=NullPool)
        with restored.connect() as c:
            assert c.scalar(text("SELECT note FROM audit_events")) == "备份"
        assert schema_state(restored).up_to_date
