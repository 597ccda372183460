"""When pushes may go out: workdays (China's public holidays and make-up workdays, from
the maintained `chinesecalendar` package) and outside quiet hours, in local time."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

QUIET_START = dt.time(21, 0)
QUIET_END = dt.time(8, 0)


def is_workday(day: dt.date) -> bool:
    """A working day in mainland China, 调休 included (2026-10-10, a Saturday, is one)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The State Council publishes next year's calendar each November; until the
        # package knows it, weekdays are the honest guess.
        log.warning("no holiday calendar for %s; using Monday to Friday", day.year)
        return day.weekday() < 5


def is_quiet(local: dt.datetime, start: dt.time = QUIET_START, end: dt.time = QUIET_END) -> bool:
    t = local.time()
    return t >= start or t < end if start > end else start <= t < end


def default_tz() -> str:
    """The zone of whatever has none of its own (the group's reports, an institution not
    yet told its zone): DEFAULT_TIMEZONE."""
    from bot.infra.settings import get_settings

    return get_settings().default_timezone


def utc_now() -> dt.datetime:
    """The clock everything runs on unless a test or a bench gives its own."""
    return dt.datetime.now(dt.UTC)


def local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    return now.astimezone(ZoneInfo(timezone))


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Workdays after `start` up to and including `end` (negative if end is earlier)."""
    if end < start:
        return -workdays_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + dt.timedelta(n)))


def previous_workday(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return day
