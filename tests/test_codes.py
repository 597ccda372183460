"""One-time bind codes: hashed, expiring, re-issue revokes, a spreadsheet for HR."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.chat import codes
from bot.infra.settings import get_settings
from models import AuditEvent, BindCode, Employee
from tests.factories import T0, small_org

HOUR = dt.timedelta(hours=1)


def test_a_code_is_long_grouped_unambiguous_and_only_its_keyed_hash_is_stored(session):
    _group, people = small_org(session)
    _inst, _head, staff = people["东城支行"]
    code = codes.issue(session, staff[0].id, T0)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    plain = codes.normalise(code)
    assert len(plain) == 12
    assert set(plain) <= set(codes.ALPHABET)
    assert not set(plain) & set("01OIL")
    row = session.scalar(select(BindCode).where(BindCode.employee_id == staff[0].id))
    key = get_settings().bind_code_secret.encode()
    keyed = hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()
    assert row.code_hash == keyed == codes.hash_code(code)
    # Not the unkeyed sha256 a copy of the database could be swept against.
    assert row.code_hash != hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in row.code_hash


def test_hashing_forgives_case_spaces_and_a_dash():
    assert codes.hash_code("abcd-2345") == codes.hash_code(" ABCD 2345 ")


def test_a_code_expires_after_the_configured_hours(session):
    _group, people = small_org(session)
    _inst, _head, staff = people["东城支行"]
    codes.issue(session, staff[0].id, T0, ttl_hours=72)
    row = session.scalar(select(BindCode).where(BindCode.employee_id == staff[0].id))
    assert row.created_at == T0
    assert row.expires_at == T0 + 72 * HOUR


def test_issuing_for_an_institution_covers_its_active_staff_and_audits_once(session):
    _group, people = small_org(session)
    inst, _head, staff = people["东城支行"]
    staff[1].active = False
    session.flush()
    issued = codes.issue_for_institution(session, T0, inst)
    assert [i.number for i in issued] == sorted(i.number for i in issued)
    assert len(issued) == 4  # the head and three active staff
    assert len({i.code for i in issued}) == 4
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "codes.issue"))
    assert event.entity == "institution"
    assert event.after["issued"] == 4


def test_reissuing_expires_the_earlier_unused_codes_but_not_used_ones(session):
    _group, people = small_org(session)
    inst, head, _staff = people["东城支行"]
    first = {i.employee_id: i.code for i in codes.issue_for_institution(session, T0, inst)}
    used = session.scalar(select(BindCode).where(BindCode.employee_id == head.id))
    used.used_at = T0 + HOUR
    session.flush()
    later = T0 + 2 * HOUR
    second = codes.issue_for_institution(session, later, inst)
    old = {
        b.code_hash: b for b in session.scalars(select(BindCode).where(BindCode.created_at == T0))
    }
    for emp_id, code in first.items():
        row = old[codes.hash_code(code)]
        if emp_id == head.id:
            assert row.expires_at > later  # already used: left as it was
        else:
            assert row.expires_at == later
    fresh = session.scalars(select(BindCode).where(BindCode.created_at == later)).all()
    assert len(fresh) == len(second) == 5
    assert all(b.expires_at > later for b in fresh)
    assert session.scalar(select(func.count(AuditEvent.id))) == 2


def _issue_sheet(tmp_path, monkeypatch, env):
    from bot.cli.main import app
    from bot.infra.settings import get_settings

    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_APP_ID", "SLACK_BOT_TOKEN"):
        monkeypatch.setenv(name, env.get(name, ""))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["--database-url", url, "demo-data", "--employees", "20"]).exit_code == 0
    )
    out = tmp_path / "codes.xlsx"
    try:
        result = runner.invoke(
            app,
            [
                "--database-url",
                url,
                "--lang",
                "en",
                "codes",
                "issue",
                "--institution",
                "北京分公司",
                "--output",
                str(out),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return url, out, result.output


def test_the_codes_command_writes_a_sheet_with_links_for_configured_platforms(
    tmp_path, monkeypatch
):
    url, out, output = _issue_sheet(
        tmp_path, monkeypatch, {"TELEGRAM_BOT_TOKEN": "123:abc", "SLACK_APP_ID": "A0TEST"}
    )
    assert "Issued" in output
    ws = load_workbook(out)["Bind codes"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "Employee No.",
        "Name",
        "Bind code",
        "Telegram link",
        "Slack link",
        "Expires",
    )
    number, _name, code, telegram, slack, _expires = rows[1]
    assert telegram == f"https://t.me/JixiaoBot?start={code.replace('-', '')}"
    assert slack == "https://slack.com/app_redirect?app=A0TEST"
    how = [r[0] for r in load_workbook(out)["How to bind"].iter_rows(values_only=True)]
    assert any(line.startswith("Telegram:") for line in how)
    assert any(line.startswith("Slack:") for line in how)

    from models.db import make_engine, sessions

    engine = make_engine(url)
    with sessions(engine)() as s:
        emp = s.scalar(select(Employee).where(Employee.number == number))
        stored = s.scalars(select(BindCode.code_hash).where(BindCode.employee_id == emp.id)).all()
    engine.dispose()
    assert stored == [codes.hash_code(code)]


def test_the_sheet_has_no_links_to_unconfigured_platforms(tmp_path, monkeypatch):
    _url, out, output = _issue_sheet(tmp_path, monkeypatch, {})
    rows = list(load_workbook(out)["Bind codes"].iter_rows(values_only=True))
    assert rows[0] == ("Employee No.", "Name", "Bind code", "Expires")
    assert not any("http" in str(v) for row in rows for v in row)
    assert "no links" in output
    slack_only = _issue_sheet(tmp_path, monkeypatch, {"SLACK_BOT_TOKEN": "xoxb-1"})[2]
    assert "SLACK_APP_ID is not" in slack_only


def test_the_sheet_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    import os
    import stat

    out = tmp_path / "codes.xlsx"
    out.write_bytes(b"old")
    out.chmod(0o644)  # an older sheet, or a file someone made: replaced, not reused
    old = os.umask(0o022)
    try:
        _issue_sheet(tmp_path, monkeypatch, {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".bind_codes_*"))  # no temporary file left behind


def test_the_codes_command_refuses_an_unknown_institution(tmp_path):
    from bot.cli.main import app

    url = f"sqlite:///{tmp_path}/x.db"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["--database-url", url, "demo-data", "--employees", "20"]).exit_code == 0
    )
    result = runner.invoke(
        app, ["--database-url", url, "codes", "issue", "--institution", "无此机构"]
    )
    assert result.exit_code == 2
    assert "无此机构" in result.output
