"""Kazakhstan mobile phone numbers, stored in E.164 (`+77XXXXXXXXX`)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType


class InvalidPhone(ValueError):
    pass


def normalize_mobile(raw: str) -> str:
    """Parses what a person typed (8 701…, +7 (701)…, 7701…) into E.164, or raises."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("empty")
    if any(ch.isalpha() for ch in text):
        # Letters are never part of a number a person means: keypad letters would be
        # read as other digits and a code would go to a stranger.
        raise InvalidPhone("letters in the number")
    digits = "".join(ch for ch in text if ch.isdigit())
    # Local habit: a leading 8 instead of +7.
    if not text.startswith("+") and len(digits) == 11 and digits[0] == "8":
        text = "+7" + digits[1:]
    elif not text.startswith("+") and len(digits) == 11 and digits[0] == "7":
        text = "+" + digits
    elif not text.startswith("+") and len(digits) == 10:
        text = "+7" + digits
    try:
        number = phonenumbers.parse(text, "KZ")
    except NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if phonenumbers.region_code_for_number(number) != "KZ":
        raise InvalidPhone("not a Kazakhstan number")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid number")
    kind = phonenumbers.number_type(number)
    if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhone("not a mobile number")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not e164.startswith("+77") or len(e164) != 12:
        raise InvalidPhone("not a mobile number")
    return e164


def display(e164: str) -> str:
    """+7 701 234 5678, for pages."""
    number = phonenumbers.parse(e164, "KZ")
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask(e164: str) -> str:
    return e164[:5] + "*" * (len(e164) - 7) + e164[-2:]
