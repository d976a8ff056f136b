"""The Kazakhstan IIN: form and checksum (the product rules' "IIN check": `YYMMDD C NNNN K`,
birth date, century-and-sex digit, serial, check digit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

_W1 = tuple(range(1, 12))
_W2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def check_digit(first11: str) -> int | None:
    """The 12th digit for eleven digits, or None when no digit makes a valid IIN."""
    digits = [int(c) for c in first11]
    k = sum(w * d for w, d in zip(_W1, digits, strict=False)) % 11
    if k == 10:
        k = sum(w * d for w, d in zip(_W2, digits, strict=False)) % 11
        if k == 10:
            return None
    return k


def normalize(raw: str) -> str:
    """Strip spaces and dashes people type between digit groups."""
    return "".join(ch for ch in (raw or "") if ch not in " -\u00a0\t")


def is_valid(iin: str) -> bool:
    if len(iin) != 12 or not iin.isascii() or not iin.isdigit():
        return False
    if iin[6] not in "123456":
        return False
    expected = check_digit(iin[:11])
    return expected is not None and expected == int(iin[11])


@dataclass(frozen=True)
class IinFacts:
    """What the digits say. Since 2013 they need not match the person: informative only."""

    birth_date: date | None
    male: bool


def facts(iin: str) -> IinFacts:
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[iin[6]]
    try:
        born = date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        born = None
    return IinFacts(birth_date=born, male=int(iin[6]) % 2 == 1)


def mask(iin: str) -> str:
    """Shown to anyone but staff: the first two and last two digits."""
    if len(iin) != 12:
        return "*" * len(iin)
    return f"{iin[:2]}{'*' * 8}{iin[-2:]}"


def make(first11: str) -> str | None:
    """Completes eleven digits into a valid IIN (used by demo data and tests)."""
    digit = check_digit(first11)
    return None if digit is None else first11 + str(digit)
