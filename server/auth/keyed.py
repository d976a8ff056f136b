"""Keyed hashes (HMAC-SHA256 with the secret key): what is stored or counted instead of
a code, an IP address or an IIN."""

from __future__ import annotations

import hashlib
import hmac

from server import runtime


def keyed(text: str, length: int = 64) -> str:
    key = runtime.get().settings.secret_key.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]
