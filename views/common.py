"""What the page flows (apply, cabinet, staff, lookup) share: the session, reading a
form, running a mutation for its payload, redirecting, refusing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from server.auth.sessions import Session, session_of
from views import graphql
from views.rendering import page
from views.security import CsrfRefused, csrf_ok

NO_STORE = "private, no-store"


def session(request: Request) -> Session:
    """The request's web session (every page runs behind the session middleware)."""
    found = session_of(request.scope)
    if found is None:
        raise RuntimeError("no session: the app runs pages behind SessionMiddleware")
    return found


def redirect(url: str) -> Response:
    """After a form (or to a page elsewhere): "see other", fetched with GET."""
    return RedirectResponse(url, status_code=303)


async def read_form(request: Request) -> FormData:
    """The POSTed form. One without the session's CSRF token raises `CsrfRefused`,
    which the app answers with 403 (`security.csrf_failed`)."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        await form.close()
        raise CsrfRefused
    return form


def text(form: FormData, name: str, limit: int = 500) -> str:
    """A text field, trimmed and cut to `limit` ("" when missing or a file)."""
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def upload(form: FormData, name: str) -> UploadFile | None:
    """A file field, when a file was chosen."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def payload_of(data: dict[str, Any], operation: str) -> dict[str, Any]:
    """A mutation's payload: the field named like the operation (SetChild → setChild)."""
    payload: dict[str, Any] = data[operation[0].lower() + operation[1:]]
    return payload


async def mutate(
    request: Request, operations: str, operation: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Runs a named mutation of `views/operations/{operations}.graphql`: its payload."""
    return payload_of(await graphql.run(request, operations, operation, variables), operation)


def errors_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """A payload's errors ({field, code, message}), none when it succeeded."""
    errors: list[dict[str, Any]] = payload.get("errors") or []
    return errors


def status_for(errors: list[dict[str, Any]], statuses: Mapping[str, int]) -> int:
    """The status of a page refusing `errors`: that of the first code in `statuses` one
    of them has, else 422."""
    codes = {e.get("code") for e in errors}
    return next((status for code, status in statuses.items() if code in codes), 422)


def no_store(response: Response, *, varies: bool = False) -> Response:
    """A page with personal data: never kept by a cache or the browser; `varies` when
    htmx gets a piece of the page at the same address."""
    response.headers["Cache-Control"] = NO_STORE
    if varies:
        response.headers["Vary"] = "HX-Request"
    return response


def not_found(request: Request, template: str = "error.html", **extra: Any) -> HTMLResponse:
    """The 404 page (a flow may show it in its own frame, e.g. staff/message.html)."""
    return page(request, template, status_code=404, code="not_found", **extra)


# --- what the back-office's flows share ------------------------------------------------


def htmx_partial(request: Request) -> bool:
    """An htmx request for a piece of a page (not a boosted link, not a history restore)."""
    headers = request.headers
    return (
        bool(headers.get("HX-Request"))
        and not headers.get("HX-Boosted")
        and not headers.get("HX-History-Restore-Request")
    )


def staff_login_redirect(request: Request) -> Response:
    """To the staff log-in, back here afterwards (a GET page only; /staff is the default)."""
    target = request.url.path if request.method == "GET" else ""
    url = "/staff/login" + (f"?next={quote(target, safe='/')}" if target and target != "/staff" else "")
    if request.headers.get("HX-Request"):
        return no_store(Response(status_code=200, headers={"HX-Redirect": url}), varies=True)
    return redirect(url)


def is_staff(viewer: dict[str, Any] | None) -> bool:
    return bool(viewer and viewer["kind"] == "staff")


def form_int(value: str, default: int = -1) -> int:
    """A number from a form, within GraphQL's Int (out of range: `default`; a version
    out of range is just stale)."""
    try:
        number = int(value)
    except ValueError:
        return default
    return number if -(2**31) <= number < 2**31 else default


def errors_for_inputs(errors: list[dict[str, Any]], ids: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The services' field names → the ids of this page's inputs (several forms share a
    page, so each has its own ids); unknown fields are shown in the summary only."""
    return [{**e, "field": ids.get(e.get("field") or "")} for e in errors]
