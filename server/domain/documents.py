"""Benefit documents (R14): the type is read from the content, never the name."""

from __future__ import annotations

import filetype

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def sniff(head: bytes) -> str | None:
    """The MIME type the bytes really are, if it is one of the allowed ones."""
    kind = filetype.guess(head)
    mime: str | None = None if kind is None else kind.mime
    return mime if mime in ALLOWED else None
