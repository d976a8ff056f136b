"""Ages and cohorts (R6, R19)."""

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


def are_twins(born_a: date, born_b: date) -> bool:
    """R21: children of one applicant born within a month of each other."""
    return abs((born_a - born_b).days) <= 31
