"""A target of 0 or below is refused at metric import, through `jixiao import metrics`
and `POST /api/metrics`, naming the row, whose target, the indicator and why (a
completion rate actual ÷ target means nothing for them), in English and Chinese;
nothing is written. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.cli.main import app
from bot.infra.settings import Settings
from handlers.server import create_server
from models import MetricValue
from tests.metrics_helpers import layered_world, write_csv

TOKEN = "metrics-token-0123456789abcdef"
ROWS = [
    ["", "客户经理", "存款增量", "-5000000", ""],  # row 2: a position's negative target
    ["1001", "", "客户投诉", "-3", "2"],  # row 3: a person's negative target
    ["1011", "", "deposit", "0", "100"],  # row 4: target 0
    ["1011", "", "complaints", "10", "2"],  # row 5: good
]
SAID = {
    "en": [
        "Row 2, column 目标值, value “-5000000”: the target of 存款增量 for position 客户经理 "
        "is negative: a completion rate (actual ÷ target) means nothing against a negative "
        "target; give a target more than 0 (for a figure where less is better, the scheme's "
        "方向 column says 反向)",
        "Row 3, column 目标值, value “-3”: the target of 客户投诉 for 1001 东城支行员工0 is "
        "negative",
        "Row 4, column 目标值, value “0”: the target of 存款增量 for 1011 东城支行员工1 is 0: "
        "a target of 0 gives no completion rate (actual ÷ target); give the real target, "
        "more than 0",
    ],
    "zh_CN": [
        "“-5000000”：岗位 客户经理的存款增量目标值为负数：实际值 ÷ 目标值的完成率对负的目标值"
        "没有意义；请给出大于 0 的目标值（越低越好的指标，在方案的“方向”列填“反向”）",
        "1001 东城支行员工0的客户投诉目标值为负数",
        "1011 东城支行员工1的存款增量目标值为 0：目标值为 0 无法计算完成率（实际值 ÷ 目标值）"
        "；请给出真实的目标值，须大于 0",
    ],
}


def _count(Session) -> int:
    with Session() as s:
        return s.scalar(select(func.count()).select_from(MetricValue))


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_import_metrics_names_each_bad_target(Session, engine, tmp_path, monkeypatch, lang):
    with Session() as s, s.begin():
        layered_world(s, tmp_path)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    path = write_csv(tmp_path / "bad.csv", ROWS)
    result = CliRunner().invoke(app, ["--lang", lang, "import", "metrics", "2026-11", str(path)])
    assert result.exit_code == 2, result.output
    for line in SAID[lang]:
        assert line in result.output, result.output
    assert "Row 5" not in result.output
    assert "第 5 行" not in result.output
    assert _count(Session) == 0


def test_post_api_metrics_names_each_bad_target(Session, tmp_path):
    with Session() as s, s.begin():
        layered_world(s, tmp_path)
    settings = Settings(_env_file=None, metrics_api_token=TOKEN)
    items = [
        {"position": "客户经理", "indicator": "deposit", "target": "-5000000"},
        {"number": "1001", "indicator": "complaints", "target": -3, "actual": 2},
        {"number": "1011", "indicator": "deposit", "target": 0, "actual": 100},
        {"number": "1011", "indicator": "complaints", "target": 10, "actual": 2},
    ]
    with TestClient(create_server(settings, Session), base_url="http://127.0.0.1") as c:
        r = c.post(
            "/api/metrics",
            json={"period": "2026-11", "values": items},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert [(p["item"], p["field"], p["value"]) for p in problems] == [
        (1, "target", "-5000000"),
        (2, "target", "-3"),
        (3, "target", "0"),
    ]
    reasons = [p["reason"] for p in problems]
    assert reasons[0].startswith("the target of 存款增量 for position 客户经理 is negative: ")
    assert reasons[1].startswith("the target of 客户投诉 for 1001 东城支行员工0 is negative: ")
    assert reasons[2].startswith("the target of 存款增量 for 1011 东城支行员工1 is 0: ")
    assert _count(Session) == 0
