"""server/domain/calendar.py: working days in Kazakhstan (R27, R28)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.calendar import add_working_days, is_working_day


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # New Year
        date(2026, 1, 2),
        date(2026, 1, 7),  # Orthodox Christmas (Wednesday)
        date(2026, 3, 9),  # 8 March fell on a Sunday: the Monday is off
        date(2026, 3, 23),  # Nauryz 21–23 March (Mon)...
        date(2026, 3, 24),  # ...21 and 22 were a weekend: moved to Tue 24...
        date(2026, 3, 25),  # ...and Wed 25
        date(2026, 5, 1),
        date(2026, 5, 7),
        date(2026, 7, 6),  # Capital Day (Monday)
        date(2026, 12, 16),  # Independence Day (Wednesday)
    ],
)
def test_public_holidays_on_weekdays_are_not_working_days(day):
    assert day.weekday() < 5
    assert not is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 3, 21), date(2026, 3, 22), date(2026, 6, 6), date(2026, 6, 7)])
def test_weekends_are_not_working_days(day):
    assert day.weekday() >= 5
    assert not is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [date(2026, 3, 19), date(2026, 3, 20), date(2026, 3, 26), date(2026, 12, 15), date(2026, 12, 17), date(2026, 6, 8)],
)
def test_ordinary_weekdays_are_working_days(day):
    assert is_working_day(day)


def test_add_working_days_skips_weekends_and_holidays():
    assert add_working_days(date(2026, 3, 19), 1) == date(2026, 3, 20)  # Thu -> Fri
    assert add_working_days(date(2026, 3, 20), 1) == date(2026, 3, 26)  # over Nauryz
    assert add_working_days(date(2026, 3, 20), 3) == date(2026, 3, 30)
    assert add_working_days(date(2026, 12, 15), 1) == date(2026, 12, 17)  # over 16 December
    assert add_working_days(date(2026, 6, 5), 1) == date(2026, 6, 8)  # Fri -> Mon
    # New Year 2027: Fri 1 and Sat 2 January, the Saturday moved to Mon 4 January.
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 5)
    # A start on a day off: the start itself never counts.
    assert add_working_days(date(2026, 3, 22), 1) == date(2026, 3, 26)


def test_zero_working_days_is_the_start():
    assert add_working_days(date(2026, 3, 22), 0) == date(2026, 3, 22)


@settings(max_examples=60, deadline=None)
@given(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.integers(1, 12))
def test_add_working_days_counts_exactly_that_many_working_days(start, days):
    end = add_working_days(start, days)
    assert end > start
    assert is_working_day(end)
    span = [start + timedelta(days=n) for n in range(1, (end - start).days + 1)]
    assert sum(is_working_day(d) for d in span) == days
