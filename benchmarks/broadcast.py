"""Broadcast benchmark: `python -m benchmarks.broadcast [--chats 3000] [--one-chat 60]`.

Queues `per-chat` messages to each of `chats` chats plus `one-chat` messages to a single
chat, then drains the outbox with `workers` senders side by side (each in its own thread
with its own event loop and client) through the real python-telegram-bot client into the
local fake Bot API, which enforces Telegram's limits (30 messages in any second, 1 per
second per chat) and answers 429 when they are exceeded. Prints the achieved rate beside
the limit, and how many chats received their messages out of queue order, doubled or
not at all.

`--chats 500 --per-chat 4 --one-chat 0 --workers 2` is the 2,000-message case of
docs/performance.md; `--database-url` runs it on PostgreSQL (a scratch database: the
outbox is emptied first). With `--kill-after S` the workers are separate processes
(`python -m handlers.telegram.worker`) and the first is killed with SIGKILL after S
seconds; the others keep running until every message is sent or known lost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.notify import outbox
from bot.notify.delivery import Sender
from handlers.telegram.transport import TelegramTransport
from models import OutboxMessage, OutboxState
from models.db import make_engine, sessions, upgrade
from tests.fakes.telegram import FakeBotAPI


async def _drain(factory: sessionmaker[Session], api: FakeBotAPI) -> None:
    async with Bot("123:BENCH", base_url=api.base_url) as bot:
        await Sender(factory, TelegramTransport(bot), "telegram").drain()


def _drain_in_threads(factory: sessionmaker[Session], api: FakeBotAPI, workers: int) -> None:
    threads = [
        threading.Thread(target=asyncio.run, args=(_drain(factory, api),)) for _ in range(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _drain_in_processes(
    factory: sessionmaker[Session], api: FakeBotAPI, url: str, workers: int, kill_after: float
) -> None:
    cmd = [sys.executable, "-m", "handlers.telegram.worker", "--database-url", url]
    cmd += ["--base-url", api.base_url]
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:BENCH"}
    procs = [subprocess.Popen(cmd, env=env) for _ in range(workers)]
    time.sleep(kill_after)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    print(f"killed one worker at {kill_after:.0f} s")
    pending = [OutboxState.QUEUED, OutboxState.CLAIMED, OutboxState.SENDING]
    while True:
        with factory() as s:
            left = s.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.state.in_(pending))
            )
        if not left:
            break
        time.sleep(0.2)
    for proc in procs[1:]:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--per-chat", type=int, default=1)
    parser.add_argument("--one-chat", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--kill-after", type=float, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        Session = sessions(engine)
        now = dt.datetime.now(dt.UTC)
        queued: dict[str, list[str]] = defaultdict(list)
        with Session() as s, s.begin():
            s.execute(delete(OutboxMessage))
            # Round by round, as separate pushes to the same people arrive in a day.
            for k in range(args.per_chat):
                for i in range(args.chats):
                    text = f"broadcast {k}:{i}"
                    chat = str(100_000 + i)
                    queued[chat].append(text)
                    outbox.enqueue(
                        s,
                        now,
                        platform="telegram",
                        chat_id=chat,
                        content={"text": text},
                        dedupe_key=f"b:{k}:{i}",
                    )
            for i in range(args.one_chat):
                queued["42"].append(f"one chat {i}")
                outbox.enqueue(
                    s,
                    now,
                    platform="telegram",
                    chat_id="42",
                    content={"text": f"one chat {i}"},
                    dedupe_key=f"o:{i}",
                )
        api = FakeBotAPI().start()
        start = time.perf_counter()
        if args.kill_after is not None:
            _drain_in_processes(Session, api, url, args.workers, args.kill_after)
        elif args.workers == 1:
            asyncio.run(_drain(Session, api))
        else:
            _drain_in_threads(Session, api, args.workers)
        elapsed = time.perf_counter() - start
        api.stop()
        with Session() as s, s.begin():
            s.execute(delete(OutboxMessage))
        engine.dispose()
    total = sum(len(v) for v in queued.values())
    sent = len(api.sent)
    received: dict[str, list[str]] = defaultdict(list)
    for message in api.sent:
        received[message.chat_id].append(str(message.params.get("text")))
    disordered = sum(
        1 for chat, texts in queued.items() if [t for t in received[chat] if t in texts] != texts
    )
    counts = Counter(str(m.params.get("text")) for m in api.sent)
    doubled = sum(1 for n in counts.values() if n > 1)
    lost = sum(1 for texts in queued.values() for t in texts if t not in counts)
    first, last = api.sent[0].at, api.sent[-1].at
    many = [s.at for s in api.sent if s.chat_id != "42"]
    many_rate = (len(many) - 1) / (many[-1] - many[0]) if len(many) > 1 else 0.0
    print(f"messages queued         {total} to {len(queued)} chats, {args.workers} worker(s)")
    print(f"messages delivered      {sent}")
    print(f"lost / doubled          {lost} / {doubled}")
    print(f"chats out of order      {disordered} of {len(queued)}")
    print(f"429 answers             {api.rejected_429}")
    print(f"wall time               {elapsed:.1f} s")
    print(f"overall rate            {(sent - 1) / (last - first):.2f} msg/s (limit 30)")
    print(f"rate while many chats   {many_rate:.2f} msg/s = {many_rate / 30:.1%} of the limit")
    busy = [s.at - first for s in api.sent if s.chat_id == "42"]
    if busy:
        print(
            f"one chat                {len(busy)} messages from {busy[0]:.1f} s to {busy[-1]:.1f} s"
        )
    print(f"many chats              done at {many[-1] - first:.1f} s")
    print(f"100,000 recipients      ~{100_000 / many_rate / 60:.0f} min at that rate")


if __name__ == "__main__":
    main()
