#!/usr/bin/env python3
"""Writes .env.example: Jixiao's own settings, then one section per registered chat
platform (bot.platforms), each as the platform documents itself.

    .venv/bin/python scripts/env_example.py          # rewrite .env.example
    .venv/bin/python scripts/env_example.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAD = """# Where everything is stored. SQLite file by default; PostgreSQL at group scale:
# postgresql+psycopg://user:password@host:5432/jixiao
DATABASE_URL=sqlite:///jixiao.db
# Language for users who have not chosen one and for the HR command line (zh_CN or en).
DEFAULT_LANGUAGE=zh_CN
# Timezone of institutions that do not set their own.
DEFAULT_TIMEZONE=Asia/Shanghai
# How long a one-time bind code stays valid, in hours.
BIND_CODE_TTL_HOURS=72
# Key for the stored hashes of bind codes (secret; at least 32 random characters, e.g.
# `python -c "import secrets; print(secrets.token_hex(32))"`). Empty: a random key is
# created on first use in BIND_CODE_SECRET_FILE (readable by its owner only). Set it
# explicitly when the CLI and the server run on different machines. Changing or losing
# it voids the codes not used yet (bound chats stay bound). Never in the database.
BIND_CODE_SECRET=
BIND_CODE_SECRET_FILE=bind_code.key
# Wrong bind codes per minute across every chat before code checks pause for everyone
# (the spike raises jixiao_bind_guessing_alarm and notifies HR, at most once an hour).
BIND_FAILURES_PER_MINUTE=30
# Wrong bind codes per hour from one source (the chat page's IP address).
BIND_FAILURES_PER_SOURCE=20
# Log level of serve, worker and poll: DEBUG, INFO, WARNING, ERROR (or --log-level).
# Secrets from these settings are replaced by *** in every log line at any level.
LOG_LEVEL=INFO
"""

TAIL = """# Bearer token a business system sends to push metric values (targets and actuals) to
# POST /api/metrics on `jixiao serve` (secret; at least 32 random characters). Empty:
# the endpoint refuses every request.
METRICS_API_TOKEN=
# How each scorer scores (`jixiao scorers report`, the heads' digest, "评分分布" in chat):
# flags that inform heads and HR and never block anything.
# Flag "everyone within N points": a scorer whose totals span at most this many points.
SCORER_UNIFORM_POINTS=2
# Flag "mostly maximum marks": more than this percentage of a scorer's marks at the maximum.
SCORER_MAX_MARKS_PERCENT=80
# Flag "above peers": a scorer's average this many points or more above the other scorers
# of the same role in the institution.
SCORER_ABOVE_PEERS_POINTS=10
# Scorers of fewer people than this are listed but never flagged (too few to tell).
SCORER_MIN_PEOPLE=3
# Folder where pay sheets and bind-code sheets are written.
EXPORT_DIR=exports
# Several `jixiao worker` processes: seconds the scheduler leader's lease lasts (a killed
# leader is replaced within about this long) and seconds a sender's claim on queued
# messages lasts (a killed sender's messages go to another within about this long).
SCHEDULER_LEASE_SECONDS=60
OUTBOX_LEASE_SECONDS=45
# Days the outbox keeps a message after it was sent or finally failed; the worker deletes
# older ones each night (by hand: `jixiao outbox prune`). At least 30: messages still to be
# sent are never deleted, and a message's dedupe key must outlive the day it guards.
OUTBOX_RETENTION_DAYS=90
"""


def text() -> str:
    from bot.platforms import env_sections

    return HEAD + "\n".join(env_sections()) + "\n" + TAIL


def main() -> int:
    target = ROOT / ".env.example"
    wanted = text()
    if "--check" in sys.argv:
        return 0 if target.read_text(encoding="utf-8") == wanted else 1
    target.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
