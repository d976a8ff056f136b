"""server/domain/phones.py: Kazakhstan mobile numbers in E.164 (R2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.phones import InvalidPhone, display, mask, normalize_mobile


@pytest.mark.parametrize(
    "raw",
    [
        "8 701 234 56 78",
        "+7 (701) 234-56-78",
        "87012345678",
        "7012345678",
        "77012345678",
        "+77012345678",
        "8 (701) 234-56-78",
        "8-701-234-56-78",
        "  +7 701 234 56 78  ",
    ],
)
def test_the_ways_people_type_one_mobile_number(raw):
    assert normalize_mobile(raw) == "+77012345678"


@pytest.mark.parametrize("prefix", ["700", "701", "702", "705", "707", "747", "771", "775", "777", "778"])
def test_kazakhstan_mobile_operator_codes_are_accepted(prefix):
    assert normalize_mobile(f"8 {prefix} 123 45 67") == f"+7{prefix}1234567"


@pytest.mark.parametrize(
    "raw",
    [
        "+7 7172 55 55 55",  # Astana landline
        "8 7172 55 55 55",
        "+7 (727) 255-55-55",  # Almaty landline
    ],
)
def test_landlines_are_refused(raw):
    with pytest.raises(InvalidPhone, match="mobile"):
        normalize_mobile(raw)


@pytest.mark.parametrize("raw", ["+7 912 345 67 89", "8 912 345 67 89", "89123456789", "+7 495 123 45 67"])
def test_russian_numbers_share_plus_seven_but_are_refused(raw):
    with pytest.raises(InvalidPhone, match="Kazakhstan"):
        normalize_mobile(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        "garbage",
        "+",
        "12345",
        "+1 202 555 0143",  # United States
        "+8 701 234 56 78",
        "+7 701 234 56 7",  # one digit short
        "+7 701 234 56 78 90",  # two digits long
        "+7701234567800",
    ],
)
def test_garbage_and_empty_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalize_mobile(raw)


def test_invalid_phone_is_a_value_error():
    assert issubclass(InvalidPhone, ValueError)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["700", "701", "702", "705", "707", "747", "771", "775", "777", "778"]),
    st.text(st.sampled_from("0123456789"), min_size=7, max_size=7),
    st.sampled_from(["8{c}{n}", "+7{c}{n}", "7{c}{n}", "{c}{n}", "8 ({c}) {a}-{b}-{d}", "+7 {c} {a} {b} {d}"]),
)
def test_every_spelling_of_one_mobile_number_normalizes_to_the_same_e164(code, number, template):
    raw = template.format(c=code, n=number, a=number[:3], b=number[3:5], d=number[5:])
    e164 = normalize_mobile(raw)
    assert e164 == f"+7{code}{number}"
    assert len(e164) == 12 and e164.startswith("+77")
    assert normalize_mobile(e164) == e164  # idempotent


def test_display_and_mask():
    assert display("+77012345678") == "+7 701 234 5678"
    masked = mask("+77012345678")
    assert masked == "+7701*****78"
    assert "23456" not in masked
