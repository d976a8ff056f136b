"""server/domain/iin.py against the "IIN check" of the product rules."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import iin

# --- An independent reference, typed from the formula of the product rules. -------------


def reference_is_valid(text: str) -> bool:
    """k = (1*a1 + … + 11*a11) mod 11; if 10, k = (3*a1 + … + 11*a9 + 1*a10 + 2*a11) mod 11;
    if still 10 the IIN is invalid; otherwise valid iff k == a12. Form: 12 ASCII digits,
    the 7th (century-and-sex) digit in 1..6."""
    if len(text) != 12 or any(c not in "0123456789" for c in text):
        return False
    if text[6] not in "123456":
        return False
    a = [int(c) for c in text]  # a[0] is a1
    k = sum((i + 1) * a[i] for i in range(11)) % 11
    if k == 10:
        second_weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]
        k = sum(second_weights[i] * a[i] for i in range(11)) % 11
        if k == 10:
            return False
    return k == a[11]


def reference_check_digit_exists(first11: str) -> bool:
    return any(reference_is_valid(first11 + str(d)) for d in range(10))


digit = st.sampled_from("0123456789")
century = st.sampled_from("123456")
first_eleven = st.builds(
    lambda head, c, tail: head + c + tail,
    st.text(digit, min_size=6, max_size=6),
    century,
    st.text(digit, min_size=4, max_size=4),
)


@st.composite
def valid_iins(draw) -> str:
    first11 = draw(first_eleven.filter(reference_check_digit_exists))
    completed = iin.make(first11)
    assert completed is not None
    return completed


# --- The examples from the spec. --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "born", "male"),
    [("210315500019", date(2021, 3, 15), True), ("210315600025", date(2021, 3, 15), False)],
)
def test_spec_examples_are_valid_and_read_as_documented(value, born, male):
    assert reference_is_valid(value)  # the reference itself agrees with the spec
    assert iin.is_valid(value)
    facts = iin.facts(value)
    assert facts.birth_date == born
    assert facts.male is male


def test_spec_examples_fail_with_any_other_check_digit():
    for value in ("210315500019", "210315600025"):
        for d in "0123456789":
            if d != value[-1]:
                assert not iin.is_valid(value[:-1] + d)


def _first_prefix(predicate) -> str:
    for n in range(10**6):
        first11 = f"{n % 1000000:06d}5{(n * 7919) % 10000:04d}"
        if predicate(first11):
            return first11
    raise AssertionError("no such prefix")  # pragma: no cover


def test_second_weights_decide_when_the_first_sum_gives_ten():
    def first_sum_is_ten_and_second_is_not(first11: str) -> bool:
        first = sum((i + 1) * int(c) for i, c in enumerate(first11)) % 11
        second = sum(w * int(c) for w, c in zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], first11, strict=False)) % 11
        return first == 10 and second != 10

    first11 = _first_prefix(first_sum_is_ten_and_second_is_not)
    completed = iin.make(first11)
    assert completed is not None
    second = sum(w * int(c) for w, c in zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], first11, strict=False)) % 11
    assert completed == first11 + str(second)
    assert iin.is_valid(completed) and reference_is_valid(completed)


def test_a_prefix_with_no_check_digit_cannot_be_completed():
    found = _first_prefix(lambda first11: not reference_check_digit_exists(first11))
    assert iin.make(found) is None
    assert iin.check_digit(found) is None
    assert not any(iin.is_valid(found + d) for d in "0123456789")


# --- Properties. ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(first_eleven)
def test_make_completes_exactly_the_prefixes_that_have_a_check_digit(first11):
    completed = iin.make(first11)
    if reference_check_digit_exists(first11):
        assert completed is not None
        assert completed[:11] == first11 and len(completed) == 12
        assert iin.is_valid(completed)
        assert reference_is_valid(completed)
    else:
        assert completed is None


@settings(max_examples=200, deadline=None)
@given(valid_iins(), st.integers(0, 11), st.integers(1, 9))
def test_changing_one_digit_invalidates_unless_the_checksum_matches(value, position, shift):
    new_digit = (int(value[position]) + shift) % 10
    if position == 6:  # keep the form: the century digit stays within 1..6
        new_digit = (int(value[6]) - 1 + shift) % 6 + 1
        if str(new_digit) == value[6]:
            new_digit = new_digit % 6 + 1
    mutated = value[:position] + str(new_digit) + value[position + 1 :]
    assert mutated != value
    assert iin.is_valid(mutated) == reference_is_valid(mutated)
    if position == 11:
        # The check digit is unique: changing it always breaks the IIN.
        assert not iin.is_valid(mutated)


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("0123456789"), min_size=12, max_size=12))
def test_is_valid_agrees_with_the_reference_on_any_twelve_digits(value):
    assert iin.is_valid(value) == reference_is_valid(value)


@settings(max_examples=100, deadline=None)
@given(valid_iins(), st.sampled_from("0789"))
def test_century_digit_outside_one_to_six_is_invalid(value, bad):
    assert not iin.is_valid(value[:6] + bad + value[7:])


@pytest.mark.parametrize(
    "value",
    [
        "",
        "21031550001",  # 11 digits
        "2103155000190",  # 13 digits
        "21031550001a",
        "2103155O0019",  # letter O for zero
        "210315 500019",
        "２１０３１５５０００１９",  # full-width digits
        "٢١٠٣١٥٥٠٠٠١٩",  # Arabic-Indic digits
        "210315000016",  # century digit 0
        "210315700010",
        "210315800010",
        "210315900010",
    ],
)
def test_wrong_form_is_invalid(value):
    assert not iin.is_valid(value)


def test_century_digit_zero_is_invalid_even_when_the_checksum_closes():
    prefix = _first_prefix(lambda p: iin.make(p[:6] + "0" + p[7:]) is not None)
    completed = iin.make(prefix[:6] + "0" + prefix[7:])
    assert completed is not None  # the checksum closes...
    assert not iin.is_valid(completed)  # ...but the form does not


@settings(max_examples=100, deadline=None)
@given(valid_iins())
def test_mask_never_reveals_the_middle_eight_digits(value):
    masked = iin.mask(value)
    assert len(masked) == 12
    assert masked[:2] == value[:2] and masked[-2:] == value[-2:]
    assert masked[2:10] == "*" * 8


@pytest.mark.parametrize("value", ["", "1", "21031550001", "2103155000190"])
def test_mask_of_a_wrong_length_reveals_nothing(value):
    assert iin.mask(value) == "*" * len(value)


@pytest.mark.parametrize(
    "raw",
    ["210315500019", "210315 500019", "2103-1550-0019", " 210 315 500 019 ", "210315\u00a0500019", "210315\t500019"],
)
def test_normalize_strips_spaces_and_dashes(raw):
    assert iin.normalize(raw) == "210315500019"
    assert iin.is_valid(iin.normalize(raw))


def test_normalize_of_nothing_is_empty_and_keeps_other_characters():
    assert iin.normalize("") == ""
    assert iin.normalize(None) == ""  # type: ignore[arg-type]
    assert iin.normalize("21031550001x") == "21031550001x"  # not silently "fixed"


def test_facts_of_an_impossible_date_has_no_birth_date():
    value = iin.make("211315" + "5" + "0001") or iin.make("211315" + "5" + "0002")
    assert value is not None
    assert iin.is_valid(value)  # form and checksum only (since 2013 digits need not be real)
    assert iin.facts(value).birth_date is None
