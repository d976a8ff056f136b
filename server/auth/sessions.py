"""Sessions in a signed, HttpOnly, SameSite=Lax cookie with idle and absolute timeouts.

The cookie holds no personal data: the draft's random public id, the ids of applications
submitted in this session, the CSRF token, the language and two timestamps.

What a session holds is read and changed only through the named operations of `Session`
(a later issue keeps sessions on the server: then only this module changes). Its keys:

    _c, _t          when the session was created and last used (seconds): the timeouts
    csrf            the form token
    lang            the language the reader chose
    draft           the public id of the application being filled in
    apps            the ids of the applications submitted in this session (the last ten)
    ch1, ch2        {ch}: the journey's one-time password for its first and second phone
    idem            the idempotency key of the summary's confirm form
    cabinet         the ids of the applications of the parent logged in to the cabinet
    cabinet_ch      {ch, to}: the cabinet's log-in code, between the two log-in steps
    cabinet_phone   {rn, ch, to}: a phone added in the cabinet, waiting for its code
    staff           {id, at, seen}: the member of staff logged in, when, when last seen
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "kezek_session"
MAX_SUBMITTED = 10  # applications of this session a parent can still see without logging in
# What a one-time password waits to confirm: the key its challenge is kept under.
LOGIN_CODE = "cabinet_ch"  # the cabinet's log-in, between its two steps
NEW_PHONE_CODE = "cabinet_phone"  # a phone added in the cabinet


def phone_code(rank: int) -> str:
    """The journey's phone of this rank."""
    return f"ch{rank}"


_JOURNEY = ("draft", phone_code(1), phone_code(2), "idem")  # the application being filled in
_CABINET_CODES = (LOGIN_CODE, NEW_PHONE_CODE)


@dataclass(frozen=True)
class StaffLogin:
    """A member of staff's log-in in this session: who, since when, last seen when."""

    account_id: int
    since: int
    seen: int

    def fresh(self, now: int, *, max_seconds: int, idle_seconds: int) -> bool:
        return now - self.since <= max_seconds and now - self.seen <= idle_seconds


@dataclass(frozen=True)
class Challenge:
    """A one-time password that was sent, waiting for its code."""

    id: str
    to: str = ""  # where the code went, masked (+7701*****00)


class Session(dict[str, Any]):
    """A dict that knows whether it was changed, with the named operations that are the
    only way to read or change what it holds."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        super().__init__(data or {})
        self.modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.modified = True

    def pop(self, key: str, default: Any = None) -> Any:
        self.modified = True
        return super().pop(key, default)

    def clear(self) -> None:
        super().clear()
        self.modified = True

    def _text(self, key: str) -> str | None:
        value = self.get(key)
        return str(value) if value else None

    def _ids(self, key: str) -> frozenset[int]:
        return frozenset(int(i) for i in self.get(key, []))

    # -- the form token and the language ------------------------------------------------

    @property
    def csrf_token(self) -> str:
        """The form token, made when first asked for."""
        token = self._text("csrf")
        if not token:
            token = secrets.token_urlsafe(24)
            self["csrf"] = token
        return token

    def csrf_matches(self, token: object) -> bool:
        """Whether a form carried this session's token (never true before one was made)."""
        expected = self.get("csrf")
        return (
            isinstance(expected, str)
            and bool(expected)
            and isinstance(token, str)
            and hmac.compare_digest(expected, token)
        )

    @property
    def language(self) -> str | None:
        return self._text("lang")

    def choose_language(self, code: str) -> None:
        self["lang"] = code

    # -- the application journey --------------------------------------------------------

    @property
    def draft_id(self) -> str | None:
        """The public id of the application being filled in."""
        return self._text("draft")

    def start_draft(self, public_id: str) -> None:
        self["draft"] = public_id

    def leave_draft(self) -> None:
        """Leaves the application (submitted) behind to start another."""
        for key in _JOURNEY:
            self.pop(key)

    def idempotency_key(self) -> str:
        """The key the summary's confirm form carries, made when first asked for."""
        if not self.get("idem"):
            self["idem"] = secrets.token_urlsafe(16)
        return str(self["idem"])

    def remember_submitted(self, application_id: int) -> None:
        submitted = list(self.get("apps", []))
        if application_id not in submitted:
            submitted.append(application_id)
        self["apps"] = submitted[-MAX_SUBMITTED:]

    @property
    def submitted_ids(self) -> frozenset[int]:
        return self._ids("apps")

    # -- one-time passwords waiting for their code --------------------------------------

    def await_code(self, purpose: str, challenge_id: str, *, to: str = "", subject: str = "") -> None:
        """A code was sent for `purpose` (`phone_code(rank)`, LOGIN_CODE, NEW_PHONE_CODE):
        its challenge, where it went (masked) and the application it is for (its
        registration number), kept until the code is used."""
        self[purpose] = {key: value for key, value in (("ch", challenge_id), ("to", to), ("rn", subject)) if value}

    def pending_code(self, purpose: str, subject: str = "") -> Challenge | None:
        """The challenge sent for `purpose` (and for the application `subject`), if any."""
        pending = self.get(purpose)
        if not isinstance(pending, dict) or not pending.get("ch") or pending.get("rn", "") != subject:
            return None
        return Challenge(str(pending["ch"]), str(pending.get("to", "")))

    def code_used(self, purpose: str) -> None:
        self.pop(purpose)

    # -- the parent's cabinet -----------------------------------------------------------

    def sign_parent_in(self, application_ids: list[int]) -> None:
        """Opens the applicant's applications; no member of staff, a new form token."""
        self.pop("staff")
        self.pop("csrf")
        self["cabinet"] = application_ids

    @property
    def parent_signed_in(self) -> bool:
        return bool(self.get("cabinet"))

    @property
    def cabinet_ids(self) -> frozenset[int]:
        """The applications of the parent logged in to the cabinet."""
        return self._ids("cabinet")

    # -- staff --------------------------------------------------------------------------

    def sign_staff_in(self, account_id: int, now: int) -> None:
        """A new session: nothing of a parent's, a new form token."""
        for key in (*_JOURNEY, "apps", "cabinet", "csrf"):
            self.pop(key)
        self["staff"] = {"id": account_id, "at": now, "seen": now}

    @property
    def staff_login(self) -> StaffLogin | None:
        staff = self.get("staff")
        if not isinstance(staff, dict):
            return None
        return StaffLogin(int(staff.get("id", 0)), int(staff.get("at", 0)), int(staff.get("seen", 0)))

    def staff_seen(self, now: int) -> None:
        self["staff"] = {**self["staff"], "seen": now}

    def end_staff_login(self) -> None:
        """The staff log-in timed out or its account was closed."""
        self.pop("staff")

    # -- signing out --------------------------------------------------------------------

    def sign_out(self) -> None:
        """Ends the staff member's or the parent's log-in, leaves no cabinet code waiting;
        a new form token."""
        for key in ("staff", "cabinet", "csrf", *_CABINET_CODES):
            self.pop(key)


def session_of(scope: Scope) -> Session | None:
    """The request's session (none outside the session middleware)."""
    session = scope.get("session")
    return session if isinstance(session, Session) else None


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


__all__ = [
    "COOKIE",
    "LOGIN_CODE",
    "NEW_PHONE_CODE",
    "Challenge",
    "Session",
    "SessionMiddleware",
    "StaffLogin",
    "dumps_for_test",
    "phone_code",
    "session_of",
]
