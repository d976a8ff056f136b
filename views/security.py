"""CSRF: a per-session token in every form, checked on every POST; and for the JSON
API, cookie-carrying requests from other sites are refused (Sec-Fetch-Site / Origin)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from views.rendering import page


def csrf_ok(request: Request, token: object) -> bool:
    session = request.scope.get("session")
    expected = session.get("csrf") if session is not None else None
    return bool(expected) and isinstance(token, str) and hmac.compare_digest(expected, token)


def csrf_failed(request: Request) -> Response:
    return page(request, "error.html", status_code=403, code="csrf")


def cross_site(request: Request) -> bool:
    """True when a browser says the request comes from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin:
        return urlsplit(origin).netloc != request.headers.get("host", "")
    return False
