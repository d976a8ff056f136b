"""Sessions in a signed, HttpOnly, SameSite=Lax cookie with idle and absolute timeouts.

The cookie holds no personal data: the draft's random public id, the ids of applications
submitted in this session, the CSRF token, the language and two timestamps.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "kezek_session"


class Session(dict):
    """A dict that knows whether it was changed."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__(data or {})
        self.modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.modified = True

    def pop(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.modified = True
        return super().pop(key, default)

    def clear(self) -> None:
        super().clear()
        self.modified = True

    @property
    def csrf_token(self) -> str:
        token = self.get("csrf")
        if not token:
            token = secrets.token_urlsafe(24)
            self["csrf"] = token
        return token


class SessionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        idle_seconds: int,
        max_age_seconds: int,
        secure: bool,
    ) -> None:
        self.app = app
        self.serializer = URLSafeSerializer(secret_key, salt="kezek.session")
        self.idle_seconds = idle_seconds
        self.max_age_seconds = max_age_seconds
        self.secure = secure

    def _load(self, raw: str | None) -> Session:
        now = int(time.time())
        if raw:
            try:
                data = self.serializer.loads(raw)
            except BadSignature:
                data = None
            if (
                isinstance(data, dict)
                and now - int(data.get("_c", 0)) <= self.max_age_seconds
                and now - int(data.get("_t", 0)) <= self.idle_seconds
            ):
                session = Session(data)
                # Refresh the idle clock at most once a minute to keep responses cacheable.
                if now - int(data["_t"]) > 60:
                    session["_t"] = now
                return session
        session = Session({"_c": now, "_t": now})
        session.modified = False
        return session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        session = self._load(connection.cookies.get(COOKIE))
        scope["session"] = session

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and session.modified:
                headers = MutableHeaders(scope=message)
                value = self.serializer.dumps(dict(session))
                parts = [
                    f"{COOKIE}={value}",
                    "Path=/",
                    f"Max-Age={self.max_age_seconds}",
                    "HttpOnly",
                    "SameSite=Lax",
                ]
                if self.secure:
                    parts.append("Secure")
                headers.append("Set-Cookie", "; ".join(parts))
                headers.append("Cache-Control", "private, no-store")
            await send(message)

        await self.app(scope, receive, send_wrapper)


def dumps_for_test(secret_key: str, data: dict[str, Any]) -> str:
    return URLSafeSerializer(secret_key, salt="kezek.session").dumps(data)


__all__ = ["COOKIE", "Session", "SessionMiddleware", "dumps_for_test"]
