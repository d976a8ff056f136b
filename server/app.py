"""create_app(settings): routes, middleware, lifespan."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from schema import schema
from schema.context import Context, context_for
from server import runtime
from server.auth.sessions import SessionMiddleware, session_of
from server.config import ROOT, Settings, load_settings
from server.db import close_db, init_db
from server.gateways import build_gateways
from server.i18n import DEFAULT_LANGUAGE, LANGUAGES, reset_language, set_language
from server.logging import request_id
from server.redis import connect
from views import apply, cabinet, lookup, pages, protocols, staff
from views.security import CsrfRefused, cross_site

log = logging.getLogger("kezek.app")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class RequestContextMiddleware:
    """Request id, the reader's language, security headers."""

    def __init__(self, app: ASGIApp, default_language: str = DEFAULT_LANGUAGE) -> None:
        self.app = app
        self.default_language = default_language if default_language in LANGUAGES else DEFAULT_LANGUAGE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:12]
        token = request_id.set(rid)
        session = session_of(scope)
        chosen = session.language if session is not None else None
        lang = chosen if chosen in LANGUAGES else self.default_language
        lang_token = set_language(lang)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"content-language", lang.encode()))
                present = {name.lower() for name, _ in headers}
                # A response that set its own (stricter) policy keeps it, e.g. a served scan.
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id.reset(token)
            reset_language(lang_token)


class KezekGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP: a bearer token for integrators, the web session for parents."""

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        # Only HTTP is routed here (no subscriptions), so both are a request and a response.
        assert isinstance(request, Request) and isinstance(response, Response)
        return await context_for(request, response, api=True)


class GraphQLGuard:
    """Refuses cross-site requests that would ride on the parent's cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            if request.method == "POST" and "authorization" not in request.headers and cross_site(request):
                await JSONResponse({"errors": [{"message": "Cross-site request refused."}]}, status_code=403)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, manage_runtime: bool = True) -> Starlette:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            await init_db(settings)
            redis = await connect(settings)
            runtime.install(runtime.Runtime(settings, build_gateways(settings), redis))
        app.state.redis = runtime.get().redis
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.get().gateways.aclose()
                await runtime.get().redis.aclose()
                runtime.install(None)
                await close_db()

    graphql_app = KezekGraphQL(
        schema, graphql_ide="graphiql" if not settings.production else None, multipart_uploads_enabled=True
    )
    routes = [
        Route("/", pages.home),
        Route("/lang/{code}", pages.language),
        Route("/healthz", pages.healthz),
        Route("/livez", pages.livez),
        Route("/queue", lookup.lookup_page, methods=["GET", "POST"]),
        *protocols.ROUTES,
        *apply.ROUTES,
        *cabinet.ROUTES,
        *staff.ROUTES,
        Route("/graphql", GraphQLGuard(graphql_app), methods=["GET", "POST"]),
        Mount("/static", app=CachedStatic(directory=str(ROOT / "static")), name="static"),
    ]
    if settings.dev_outbox_enabled:
        routes.append(Route("/dev/outbox", pages.dev_outbox))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(GZipMiddleware, minimum_size=500),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                idle_seconds=settings.session_idle_minutes * 60,
                max_age_seconds=settings.session_max_hours * 3600,
                secure=settings.secure_cookies,
            ),
            Middleware(RequestContextMiddleware, default_language=settings.default_language),
        ],
        exception_handlers={404: pages.not_found, CsrfRefused: pages.csrf_refused, 500: pages.server_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


class CachedStatic(StaticFiles):
    """Static files are versioned by URL (?v=…): cache them for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
