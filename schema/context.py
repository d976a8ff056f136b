"""The context every resolver gets, over HTTP or in-process from a page, and the one
function that builds it for both."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from server import runtime
from server.auth import staff as staff_auth
from server.auth import tokens
from server.auth.principal import ANONYMOUS, Principal
from server.auth.sessions import Session, session_of
from server.i18n import get_language


@dataclass
class Context:
    principal: Principal
    language: str
    session: Session | None = None  # the web session, when the caller has one
    ip: str = "0.0.0.0"
    request: Request | None = None
    response: Response | None = None


def _applicant(session: Session) -> Principal:
    """A parent: the draft of this session, what it submitted, and the applications of
    the applicant who logged in to the cabinet (if they did)."""
    cabinet = session.cabinet_ids
    submitted = session.submitted_ids
    draft_id = None
    if session.draft_id:
        try:
            draft_id = uuid.UUID(session.draft_id)
        except ValueError:
            return ANONYMOUS
    if draft_id is None and not submitted and not cabinet:
        return ANONYMOUS
    return Principal(kind="applicant", draft_id=draft_id, application_ids=submitted | cabinet, cabinet_ids=cabinet)


async def session_principal(session: Session | None) -> Principal:
    """Who the web session is: a member of staff (re-read from the database, with the
    shorter staff timeouts), else a parent, else anonymous."""
    if not session:
        return ANONYMOUS
    staff = session.staff_login
    if staff is not None:
        settings = runtime.get().settings
        now = int(time.time())
        fresh = staff.fresh(
            now,
            max_seconds=settings.staff_session_max_hours * 3600,
            idle_seconds=settings.staff_session_idle_minutes * 60,
        )
        account = await staff_auth.active_account(staff.account_id) if fresh else None
        if account is None:
            session.end_staff_login()
            return ANONYMOUS
        if now - staff.seen > 60:
            session.staff_seen(now)
        return staff_auth.principal_of(account)
    return _applicant(session)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "0.0.0.0"


async def context_for(request: Request, response: Response | None = None, *, api: bool = False) -> Context:
    """The context of a request: its web session's principal, language and address.

    A page's in-process run (`api=False`) is its session's. A request to /graphql
    (`api=True`) may carry an integrator's bearer token instead: then the token is the
    principal (anonymous when unknown) and the session is not the resolvers' to change."""
    session = session_of(request.scope)
    principal = await session_principal(session)
    auth = request.headers.get("authorization", "") if api else ""
    if auth.lower().startswith("bearer "):
        found = await tokens.principal_for(auth[7:].strip())
        principal = found if found is not None else ANONYMOUS
    return Context(
        principal=principal,
        language=get_language(),
        session=session if not auth else None,
        ip=client_ip(request),
        request=request,
        response=response,
    )
