"""A real `jixiao worker` process for the failover tests, sending to a fake Bot API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.telegram import FakeBotAPI


def start_worker(url: str, api: FakeBotAPI, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """`jixiao worker` on `url`, Telegram pointed at `api`, its output in `log`; `env`
    adds to (or overrides) its environment. No platform settings of the caller's leak in."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_"))},
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": "123:TEST",
        "TELEGRAM_API_URL": api.base_url,
        "LOG_LEVEL": "INFO",
        **env,
    }
    jixiao = str(Path(sys.executable).with_name("jixiao"))
    with log.open("wb") as out:
        return subprocess.Popen(
            [jixiao, "worker"],
            env=environment,
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers still running (the killed one is gone) and wait for each."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        p.wait(30)
