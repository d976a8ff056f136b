"""The referral's deadlines (R27–R29), in the department's calendar: working days
skip weekends and Kazakhstan's public holidays; a deadline is the last day on which
the step may still be taken, in the department's time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from server.domain.calendar import add_working_days, is_working_day


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def working_deadline(start: date, working_days: int) -> date:
    """The last day of a window of `working_days` working days that opens on `start`
    (the day of the offer does not count): always a working day."""
    return add_working_days(start, max(1, working_days))


def previous_working_day(day: date) -> date:
    current = day - timedelta(days=1)
    while not is_working_day(current):
        current -= timedelta(days=1)
    return current


def passed(deadline: date, today: date) -> bool:
    """True once the deadline's day is over."""
    return today > deadline


def days_left(deadline: date, today: date) -> int:
    """Calendar days until the deadline, counting its day (0 once it has passed)."""
    return max(0, (deadline - today).days + 1)


def extended(present_by: date, days: int, limit: int) -> date | None:
    """R28: the presentation deadline moved once by `days` calendar days (1…limit);
    None when the request is outside that range."""
    if not 1 <= days <= limit:
        return None
    return present_by + timedelta(days=days)
