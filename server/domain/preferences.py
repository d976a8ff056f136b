"""The parent's preferences (R7): when the child may start."""

from __future__ import annotations

from datetime import date

YEARS_AHEAD = 7


def start_allowed(start: date, today: date) -> bool:
    """A desired start from today to the end of the seventh year ahead."""
    return today <= start and start.year <= today.year + YEARS_AHEAD
