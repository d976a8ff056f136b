"""CSRF: a per-session token in every form, checked on every POST; and for the JSON
API, cookie-carrying requests from other sites are refused (Sec-Fetch-Site / Origin)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from server.auth.sessions import session_of
from views.rendering import page


class CsrfRefused(Exception):
    """A form without the session's token: the app answers `csrf_failed`."""


def csrf_ok(request: Request, token: object) -> bool:
    session = session_of(request.scope)
    return session is not None and session.csrf_matches(token)


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
