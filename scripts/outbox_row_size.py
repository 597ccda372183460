#!/usr/bin/env python3
"""Bytes an outbox row takes on PostgreSQL (with indexes), for the size estimate in
docs/performance.md: queues 20,000 pushes of the three commonest kinds (period open,
deadline reminder, results published), Chinese text and a signed button each, as the
bot queues them, into an empty scratch database.

    .venv/bin/python scripts/outbox_row_size.py postgresql+psycopg://…/scratch
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bot.chat.context import sign
from bot.infra.message import Button, Reply
from bot.notify import outbox
from models.db import make_engine, sessions, upgrade

N = 20_000
KEY = "k" * 32
KINDS = {
    "opened": Reply(
        "考核 2026-11 已开始：请在 2026-12-07 前为 12 人评分。",
        [[Button("开始评分", sign(KEY, "list"))]],
    ),
    "remind": Reply(
        "今天（2026-12-07）是评分截止日：还有 3 人待评分。",
        [[Button("开始评分", sign(KEY, "list"))]],
    ),
    "published": Reply(
        "您 2026-11 的考核结果已公示：总分 87.40 分，等级 B，绩效工资 ¥6,000.00。",
        [[Button("为什么？", sign(KEY, "why:2026-11"))]],
    ),
}


def main(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = dt.datetime(2026, 12, 7, 2, tzinfo=dt.UTC)
    kinds = list(KINDS)
    with sessions(engine)() as s, s.begin():
        for i in range(N):
            kind = kinds[i % len(kinds)]
            outbox.enqueue(
                s,
                now,
                platform="telegram",
                chat_id=str(500_000_000 + i),
                content=KINDS[kind].to_content(),
                dedupe_key=f"{kind}:2026-11:{i}:telegram",
            )
    with engine.connect() as c:
        total = c.scalar(text("select pg_total_relation_size('outbox')"))
        heap = c.scalar(text("select pg_relation_size('outbox')"))
    print(f"outbox: {N} rows, {total / N:.0f} B a row with indexes, {heap / N:.0f} B of heap")
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
