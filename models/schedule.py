"""Tables the scheduler and senders share: leases and the send budget. (APScheduler's
jobs live in memory, bot.notify.scheduler; its table went in migration 0019.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Lease(Base):
    """Who runs the scheduler: held by one process, renewed, taken over when it lapses."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]


class SendBudgetRow(Base):
    """A platform's overall send limit shared by every sender of every process: a token
    bucket refilled at `rate` a second up to `capacity`, taken one send at a time by one
    guarded UPDATE (bot.notify.send_budget). Tokens may go below zero: a sender that takes one
    then waits until the bucket would have held it, so the slots it hands out are spaced
    `1 / rate` apart whoever takes them."""

    __tablename__ = "send_budgets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # "telegram:second"
    rate: Mapped[float] = mapped_column(Float)  # tokens per second
    capacity: Mapped[float] = mapped_column(Float)
    tokens: Mapped[float] = mapped_column(Float)
    # Wall-clock seconds (Unix time) the tokens were counted at; every process's clock
    # is the same one (NTP), as for the leases.
    refilled_at: Mapped[float] = mapped_column(Float)
