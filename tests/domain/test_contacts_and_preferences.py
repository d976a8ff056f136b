"""server/domain/emails.py and preferences.py: the email form (R2) and the desired start (R7)."""

from __future__ import annotations

from datetime import date

import pytest

from server.domain import emails, preferences


@pytest.mark.parametrize("address", ["aigerim@mail.kz", "a.b+kezek@sub.example.org", "x" * 64 + "@mail.kz"])
def test_ordinary_addresses_pass(address):
    assert emails.is_valid(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "aigerim",
        "aigerim@",
        "@mail.kz",
        "a b@mail.kz",
        "a@mail",
        "a@mail.k",
        "x" * 65 + "@mail.kz",
        "a@" + "d" * 250 + ".kz",
    ],
)
def test_malformed_addresses_are_refused(address):
    assert not emails.is_valid(address)


def test_a_start_from_today_to_the_seventh_year_ahead():
    today = date(2026, 12, 1)
    assert preferences.start_allowed(today, today)
    assert preferences.start_allowed(date(2033, 12, 31), today)
    assert not preferences.start_allowed(date(2026, 11, 30), today)
    assert not preferences.start_allowed(date(2034, 1, 1), today)
