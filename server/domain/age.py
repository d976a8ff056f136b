"""Ages, cohorts and twins (R6, R19, R21)."""

from __future__ import annotations

from datetime import date


def age_in_years(born: date, on: date) -> int:
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def is_young_enough(born: date, on: date, max_age_years: int) -> bool:
    """R6: younger than the maximum age on the day of applying."""
    return born <= on and age_in_years(born, on) < max_age_years


def cohort_of(born: date) -> int:
    """R19: cohorts by year of birth."""
    return born.year


def _one_month_after(day: date) -> date:
    """The same day of the next month, or that month's last day when it is shorter."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def are_twins(a: date, b: date) -> bool:
    """R21: children of one applicant born within a calendar month of each other (the
    later birth at most on the same day of the next month, or that month's last day)."""
    earlier, later = sorted((a, b))
    return later <= _one_month_after(earlier)
