"""server/domain/age.py: ages, cohorts, twins (R6, R19, R21)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.age import age_in_years, are_twins, cohort_of, is_young_enough


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(2020, 3, 15), date(2020, 3, 15), 0),
        (date(2020, 3, 15), date(2021, 3, 14), 0),
        (date(2020, 3, 15), date(2021, 3, 15), 1),
        (date(2020, 3, 15), date(2026, 3, 14), 5),
        (date(2020, 3, 15), date(2026, 3, 15), 6),
        (date(2020, 12, 31), date(2021, 1, 1), 0),
        (date(2020, 2, 29), date(2021, 2, 28), 0),  # leap-day child: birthday counted on 1 March
        (date(2020, 2, 29), date(2021, 3, 1), 1),
        (date(2020, 2, 29), date(2024, 2, 29), 4),
    ],
)
def test_age_in_years(born, on, years):
    assert age_in_years(born, on) == years


def test_r6_younger_than_the_maximum_on_the_day_of_applying():
    born = date(2020, 3, 15)
    assert is_young_enough(born, date(2026, 3, 14), 6)  # the last day at age 5
    assert not is_young_enough(born, date(2026, 3, 15), 6)  # the sixth birthday
    assert not is_young_enough(born, date(2027, 1, 1), 6)
    assert is_young_enough(born, born, 6)  # a newborn


def test_a_child_not_yet_born_is_not_young_enough():
    assert not is_young_enough(date(2026, 5, 1), date(2026, 4, 30), 6)


@settings(max_examples=100, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2030, 12, 31)), st.integers(0, 20 * 366))
def test_age_grows_by_one_each_birthday(born, days):
    on = born + timedelta(days=days)
    years = age_in_years(born, on)
    assert years >= 0
    assert age_in_years(born, on + timedelta(days=1)) in (years, years + 1)
    # Same calendar day a year later (Feb 29 moved to Mar 1): one year more.
    try:
        next_year = on.replace(year=on.year + 1)
    except ValueError:
        next_year = date(on.year + 1, 3, 1)
    assert age_in_years(born, next_year) == years + 1


def test_cohort_is_the_year_of_birth():
    assert cohort_of(date(2022, 1, 1)) == cohort_of(date(2022, 12, 31)) == 2022
    assert cohort_of(date(2021, 12, 31)) == 2021


def test_twins_are_born_within_a_month():
    a = date(2023, 5, 10)
    assert are_twins(a, a)
    assert are_twins(a, a + timedelta(days=1))
    assert are_twins(a + timedelta(days=31), a)  # symmetric, 31 days is within a month
    assert not are_twins(a, a + timedelta(days=32))
    assert not are_twins(a, date(2024, 5, 10))
