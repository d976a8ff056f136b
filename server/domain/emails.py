"""Email addresses as a parent types them (R2: an optional contact)."""

from __future__ import annotations

import re

MAX_LENGTH = 254
_FORM = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def is_valid(address: str) -> bool:
    """One @ after at most 64 characters, a dotted domain, at most 254 characters in all."""
    return len(address) <= MAX_LENGTH and _FORM.match(address) is not None
