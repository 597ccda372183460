"""`POST /api/metrics`: bearer token from the settings, a batch all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.infra.settings import Settings
from handlers.server import create_server
from models import AuditEvent, MetricValue
from tests.metrics_helpers import layered_world

TOKEN = "metrics-token-0123456789abcdef"
GOOD = [
    {"position": "客户经理", "indicator": "deposit", "target": "5000000"},
    {"number": "1001", "indicator": "存款增量", "actual": 4300000},
    {"number": "1011", "indicator": "deposit", "target": "4000000", "actual": "4100000"},
]


@pytest.fixture
def client(Session, tmp_path):
    with Session() as s, s.begin():
        layered_world(s, tmp_path)
    settings = Settings(_env_file=None, metrics_api_token=TOKEN)
    with TestClient(create_server(settings, Session), base_url="http://127.0.0.1") as c:
        yield c


def _count(Session) -> int:
    with Session() as s:
        return s.scalar(select(func.count()).select_from(MetricValue))


def _post(client, values, token=TOKEN, period="2026-11"):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post("/api/metrics", json={"period": period, "values": values}, headers=headers)


def test_missing_or_wrong_token_is_refused(client, Session):
    assert _post(client, GOOD, token=None).status_code == 401
    assert _post(client, GOOD, token="wrong").status_code == 401
    r = client.post(
        "/api/metrics",
        json={"period": "2026-11", "values": GOOD},
        headers={"Authorization": f"Basic {TOKEN}"},
    )
    assert r.status_code == 401
    assert _count(Session) == 0


def test_no_token_configured_refuses_everything(Session, tmp_path):
    with Session() as s, s.begin():
        layered_world(s, tmp_path)
    server = create_server(Settings(_env_file=None), Session)
    with TestClient(server, base_url="http://127.0.0.1") as c:
        assert _post(c, GOOD, token="").status_code == 401
        assert _post(c, GOOD, token="anything").status_code == 401
    assert _count(Session) == 0


def test_a_good_batch_is_stored_and_audited(client, Session):
    r = _post(client, GOOD)
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "stored": 2, "replaced": 0}
    with Session() as s:
        got = dict(
            s.execute(select(MetricValue.actual, MetricValue.target).order_by(MetricValue.id)).all()
        )
        assert got == {Decimal(4300000): Decimal(5000000), Decimal(4100000): Decimal(4000000)}
        assert s.scalar(select(func.count()).where(AuditEvent.action == "api.metrics")) == 1
    # The same values again replace those two only.
    r = _post(client, GOOD[2:])
    assert r.json() == {"ok": True, "stored": 1, "replaced": 1}
    assert _count(Session) == 2


def test_a_half_bad_batch_writes_nothing(client, Session):
    values = [
        *GOOD,
        {"number": "1011", "indicator": "complaints", "target": "0", "actual": "1"},
        {"number": "9999", "indicator": "deposit", "target": "1", "actual": "1"},
        {"number": "1001", "indicator": "deposit", "actual": "1", "colour": "red"},
    ]
    r = _post(client, values)
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False
    assert [p["item"] for p in body["problems"]] == [4, 5, 6]
    assert "a target of 0 gives no completion rate" in body["problems"][0]["reason"]
    assert "no employee with this 工号" in body["problems"][1]["reason"]
    assert "unknown fields: colour" in body["problems"][2]["reason"]
    assert _count(Session) == 0


def test_an_unknown_period_or_a_body_of_garbage_is_refused(client, Session):
    r = _post(client, GOOD, period="2030-01")
    assert r.status_code == 422
    assert "No period 2030-01" in r.json()["error"]
    r = client.post(
        "/api/metrics", content=b"{not json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert r.status_code == 400
    assert _count(Session) == 0
