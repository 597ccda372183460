"""Three `jixiao serve` processes on one database, as behind a load balancer: real
processes, the real Telegram library, a local Bot API. Any process may take any update;
each update is answered once however many processes it reaches, and two answers of one
form landing on two processes at the same moment are two steps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from models import Employee, Period, Result, ScoringTask
from models.db import make_engine, sessions, upgrade
from tests.chat_helpers import build_world, issue_code
from tests.conftest import new_pg_database
from tests.fakes.telegram import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
SECRET = "webhook-secret-3p"
USER = 901
CODE = "K7Q2M9XD"
EMPLOYEE = 902  # 张三, who has published results
EMPLOYEE_CODE = "P4W8N2RC"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        with new_pg_database("jixiao_3serve") as found:
            yield found


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def world(url):
    engine = make_engine(url, poolclass=NullPool)
    upgrade(engine)
    with sessions(engine)() as s, s.begin():
        w = build_world(s)
        issue_code(s, w.manager, CODE)
        issue_code(s, w.zhang, EMPLOYEE_CODE)
        task_id = w.tasks(s)[0].id
    return engine, task_id


@pytest.fixture
def api():
    fake = FakeBotAPI(per_chat_interval=0.0).start()
    yield fake
    fake.stop()


@pytest.fixture
def servers(url, world, api, tmp_path) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": "123:TEST",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_URL": api.base_url,
        "LOG_LEVEL": "WARNING",
    }
    jixiao = str(Path(sys.executable).with_name("jixiao"))
    ports = [_port() for _ in range(3)]
    procs = [
        subprocess.Popen(
            [jixiao, "serve", "--port", str(p)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for p in ports
    ]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        deadline = time.monotonic() + 60
        for base, proc in zip(bases, procs, strict=True):
            while True:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
            if proc.stderr is not None:
                proc.stderr.close()


def _message(update_id: int, text: str, user: int = USER) -> dict:
    chat = {"id": user, "type": "private"}
    sender = {"id": user, "is_bot": False, "first_name": "李", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "text": text, "chat": chat, "from": sender},
    }


def _tap(update_id: int, data: str) -> dict:
    chat = {"id": USER, "type": "private"}
    sender = {"id": USER, "is_bot": False, "first_name": "李", "language_code": "en"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": sender,
            "chat_instance": "ci",
            "data": data,
            "message": {"message_id": 1, "date": 0, "chat": chat, "text": "..."},
        },
    }


def _post(base: str, update: dict) -> int:
    r = httpx.post(
        f"{base}/telegram/webhook",
        content=json.dumps(update),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        timeout=30,
    )
    return r.status_code


def _all_at_once(jobs: list[tuple[str, dict]]) -> list[int]:
    start = threading.Barrier(len(jobs))
    codes: list[int] = []

    def run(base: str, update: dict) -> None:
        start.wait()
        codes.append(_post(base, update))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return codes


def _answers(api: FakeBotAPI) -> list[dict]:
    return [s.params for s in api.sent if s.method in ("sendMessage", "editMessageText")]


def _button(params: dict, label: str) -> str:
    for row in json.loads(json.dumps(params.get("reply_markup") or {})).get("inline_keyboard", []):
        for b in row:
            if label in b["text"]:
                return str(b["callback_data"])
    raise AssertionError(f"no {label!r} button in {params}")


def test_three_serve_processes_answer_each_update_once_and_keep_a_forms_steps(servers, world, api):
    engine, task_id = world
    a, b, c = servers
    # A retried update reaching all three processes at once is answered once.
    assert _all_at_once([(s, _message(1, f"/start {CODE}")) for s in servers]) == [200] * 3
    assert len(_answers(api)) == 1
    assert _post(b, _message(2, "/score")) == 200
    tap = _button(_answers(api)[-1], "张三")
    assert _post(c, _tap(3, tap)) == 200
    before = len(_answers(api))
    # Two answers of the form, each on its own process, at the same moment.
    assert _all_at_once([(a, _message(4, "90")), (c, _message(5, "85"))]) == [200, 200]
    assert len(_answers(api)) == before + 2
    with sessions(engine)() as s:
        task = s.scalar(select(ScoringTask).where(ScoringTask.id == task_id))
        assert task is not None
        values = sorted(str(e.value) for e in task.entries)
        assert values == ["85", "90"]  # items 1 and 2, one each: no step lost or doubled
        assert task.cursor == 2


def test_why_is_my_pay_answers_alike_from_each_of_three_processes(servers, world, api):
    """An employee bound through one process asks "why is my pay this amount" of each
    process in turn: the same explanation, with the published total, from all three."""
    engine, _task_id = world
    a, b, c = servers
    assert _post(a, _message(11, f"/start {EMPLOYEE_CODE}", EMPLOYEE)) == 200
    answers = []
    for update_id, base in enumerate((a, b, c), start=12):
        before = len(api.sent)
        assert _post(base, _message(update_id, "/why", EMPLOYEE)) == 200
        answers.append([s.params["text"] for s in api.sent[before:]])
    with sessions(engine)() as s:
        zhang = s.scalars(select(Employee).where(Employee.number == "003")).one()
        total = s.scalars(
            select(Result.total)
            .join(Period, Period.id == Result.period_id)
            .where(Result.employee_id == zhang.id, Period.label == "2026-10")
        ).one()
    assert answers[0]
    assert answers[0] == answers[1] == answers[2]
    assert any(f"{total}" in text for text in answers[0]), answers[0]
