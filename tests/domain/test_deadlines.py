"""server/domain/deadlines.py: deadlines over Kazakhstan's working days (R27–R29)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.domain.calendar import is_working_day
from server.domain.deadlines import days_left, extended, local_date, passed, previous_working_day, working_deadline

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(DAYS, st.integers(min_value=1, max_value=15))
def test_a_deadline_is_a_working_day_exactly_n_working_days_on(start, n):
    deadline = working_deadline(start, n)
    assert is_working_day(deadline)
    counted = sum(is_working_day(start + timedelta(days=d)) for d in range(1, (deadline - start).days + 1))
    assert counted == n  # never earlier than n working days, and no later than needed


def test_the_nauryz_holidays_do_not_count():
    # 2027-03-19 is a Friday; 21-23 March are Nauryz (23 March falls on a Tuesday).
    assert working_deadline(date(2027, 3, 19), 3) > date(2027, 3, 24)
    assert all(not is_working_day(date(2027, 3, d)) for d in (22, 23))


@given(DAYS)
def test_the_reminder_day_is_the_working_day_before(day):
    before = previous_working_day(day)
    assert before < day and is_working_day(before)
    assert all(not is_working_day(before + timedelta(days=d)) for d in range(1, (day - before).days))


def test_days_left_counts_the_deadline_day_and_passes_after_it():
    deadline = date(2026, 12, 10)
    assert days_left(deadline, date(2026, 12, 10)) == 1
    assert days_left(deadline, date(2026, 12, 8)) == 3
    assert days_left(deadline, date(2026, 12, 11)) == 0
    assert not passed(deadline, deadline) and passed(deadline, date(2026, 12, 11))


def test_an_extension_is_one_to_the_limit_of_calendar_days():
    assert extended(date(2026, 12, 10), 30, 30) == date(2027, 1, 9)
    assert extended(date(2026, 12, 10), 31, 30) is None
    assert extended(date(2026, 12, 10), 0, 30) is None


def test_the_local_date_is_the_departments():
    late = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # 01:30 on the 2nd in Almaty (UTC+5)
    assert local_date(late, "Asia/Almaty") == date(2026, 12, 2)
    assert local_date(late, "UTC") == date(2026, 12, 1)
