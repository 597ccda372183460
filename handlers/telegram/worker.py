"""A process that drains the outbox to Telegram: `python -m handlers.telegram.worker`.

It first recovers after a crash (expired leases back to the queue; a message that was on
the wire becomes "unknown"), then sends until stopped, or until the outbox is empty with
--until-empty. While it runs it renews its claims; every claim it makes also takes over
those whose lease lapsed, so another sender killed meanwhile strands nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from telegram import Bot

from bot.infra.settings import get_settings
from bot.notify.delivery import Limits, Sender
from bot.notify.outbox import LEASE, recover
from handlers.telegram.settings import TelegramSettings
from handlers.telegram.transport import TelegramTransport
from models.db import make_engine, sessions


async def run(
    database_url: str,
    token: str,
    base_url: str | None,
    limits: Limits,
    until_empty: bool,
    recover_after: float = 0.0,
    lease: float = LEASE.total_seconds(),
) -> None:
    engine = make_engine(database_url)
    Session = sessions(engine)
    with Session() as s, s.begin():
        # Only leases that have run out are recovered, so senders running side by side
        # keep theirs; `recover_after` claims younger ones too (after a known crash).
        recover(s, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=recover_after))
    async with Bot(token, base_url=base_url or "https://api.telegram.org/bot") as bot:
        sender = Sender(Session, TelegramTransport(bot), "telegram", limits=limits, lease=lease)
        await sender.drain(stop_when_empty=until_empty)
    engine.dispose()


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--base-url", default=None, help="Bot API base URL (tests, fakes)")
    parser.add_argument("--per-second", type=float, default=Limits.per_second)
    parser.add_argument("--until-empty", action="store_true")
    parser.add_argument("--recover-after", type=float, default=0.0)
    parser.add_argument(
        "--lease", type=float, default=LEASE.total_seconds(), help="claim lease, seconds"
    )
    args = parser.parse_args()
    asyncio.run(
        run(
            args.database_url,
            TelegramSettings().bot_token or "0:fake",
            args.base_url,
            Limits(per_second=args.per_second),
            args.until_empty,
            args.recover_after,
            args.lease,
        )
    )


if __name__ == "__main__":
    main()
