"""Broadcast benchmark: `python -m handlers.telegram.bench [--chats 3000] [--one-chat 60]`.

Queues one message to each of `chats` chats plus `one-chat` messages to a single chat,
then drains the outbox through the real python-telegram-bot client into the local fake
Bot API, which enforces Telegram's limits (30 messages in any second, 1 per second per
chat) and answers 429 when they are exceeded. Prints the achieved rate beside the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot import outbox
from bot.delivery import Sender
from handlers.telegram.fake_api import FakeBotAPI
from handlers.telegram.transport import TelegramTransport
from models.db import make_engine, sessions, upgrade


async def _drain(factory: sessionmaker[Session], api: FakeBotAPI) -> None:
    async with Bot("123:BENCH", base_url=api.base_url) as bot:
        await Sender(factory, TelegramTransport(bot), "telegram").drain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--one-chat", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        Session = sessions(engine)
        now = dt.datetime.now(dt.UTC)
        with Session() as s, s.begin():
            for i in range(args.chats):
                outbox.enqueue(
                    s,
                    now,
                    platform="telegram",
                    chat_id=str(100_000 + i),
                    content={"text": f"broadcast {i}"},
                    dedupe_key=f"b:{i}",
                )
            for i in range(args.one_chat):
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
        asyncio.run(_drain(Session, api))
        elapsed = time.perf_counter() - start
        api.stop()
        engine.dispose()
    total = args.chats + args.one_chat
    sent = len(api.sent)
    first, last = api.sent[0].at, api.sent[-1].at
    many = [s.at for s in api.sent if s.chat_id != "42"]
    many_rate = (len(many) - 1) / (many[-1] - many[0]) if len(many) > 1 else 0.0
    print(f"messages queued         {total}")
    print(f"messages delivered      {sent}")
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
