"""Home, language switch, health, the development outbox, errors."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import db
from server.i18n import LANGUAGES
from server.models import Notification
from views.common import not_found as not_found_page
from views.common import redirect, session
from views.rendering import page
from views.security import csrf_failed


async def home(request: Request) -> Response:
    return page(request, "home.html")


async def language(request: Request) -> Response:
    code = request.path_params["code"]
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if code in LANGUAGES:
        session(request).choose_language(code)
    return redirect(target)


async def livez(request: Request) -> Response:
    """Liveness: the process answers (no database or Redis round trip; see /healthz)."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


async def healthz(request: Request) -> Response:
    database = await db.ping()
    try:
        redis = bool(await request.app.state.redis.ping())
    except Exception:
        redis = False
    ok = database and redis
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": database, "redis": redis},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


async def dev_outbox(request: Request) -> Response:
    """Every SMS and email the embedded gateways 'sent', newest first (not in production)."""
    rows = await Notification.all().order_by("-id").limit(100)
    return page(request, "dev/outbox.html", rows=rows)


async def not_found(request: Request, exc: Exception) -> Response:
    return not_found_page(request)


async def csrf_refused(request: Request, exc: Exception) -> Response:
    return csrf_failed(request)


async def server_error(request: Request, exc: Exception) -> Response:
    return page(request, "error.html", status_code=500, code="server_error")
