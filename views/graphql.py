"""Pages run named GraphQL operations in-process, with the context an HTTP request
would get: everything a page does, an integrator can do over the API."""

from __future__ import annotations

import logging
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request

from schema import schema
from schema.context import Context
from server import runtime
from server.auth import staff as staff_auth
from server.auth.principal import ANONYMOUS, Principal
from server.i18n import get_language

log = logging.getLogger("kezek.views")
OPERATIONS = Path(__file__).parent / "operations"


@cache
def document(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def _applicant(session: dict[str, Any]) -> Principal:
    """A parent: the draft of this session, what it submitted, and the applications of
    the applicant who logged in to the cabinet (if they did)."""
    cabinet = frozenset(int(i) for i in session.get("cabinet", []))
    submitted = frozenset(session.get("apps", []))
    draft_id = None
    if session.get("draft"):
        try:
            draft_id = uuid.UUID(session["draft"])
        except ValueError:
            return ANONYMOUS
    if draft_id is None and not submitted and not cabinet:
        return ANONYMOUS
    return Principal(kind="applicant", draft_id=draft_id, application_ids=submitted | cabinet, cabinet_ids=cabinet)


async def session_principal(session: dict[str, Any] | None) -> Principal:
    """Who the web session is: a member of staff (re-read from the database, with the
    shorter staff timeouts), else a parent, else anonymous."""
    if not session:
        return ANONYMOUS
    staff = session.get("staff")
    if isinstance(staff, dict):
        settings = runtime.get().settings
        now = int(time.time())
        fresh = (
            now - int(staff.get("at", 0)) <= settings.staff_session_max_hours * 3600
            and now - int(staff.get("seen", 0)) <= settings.staff_session_idle_minutes * 60
        )
        account = await staff_auth.active_account(int(staff.get("id", 0))) if fresh else None
        if account is None:
            session.pop("staff")
            return ANONYMOUS
        if now - int(staff["seen"]) > 60:
            session["staff"] = {**staff, "seen": now}
        return staff_auth.principal_of(account)
    return _applicant(session)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "0.0.0.0"


async def context_for(request: Request) -> Context:
    session = request.scope.get("session")
    return Context(
        principal=await session_principal(session),
        language=get_language(),
        session=session,
        ip=client_ip(request),
        request=request,
    )


class OperationFailed(Exception):
    pass


async def run(request: Request, name: str, operation: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    data, errors = await run_checked(request, name, operation, variables)
    if errors:
        raise OperationFailed(operation)
    return data


async def run_checked(
    request: Request, name: str, operation: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Like `run`, but refusals a resolver raises with a stable code (rate limits, bad
    input) come back as [{code, message}] for the page to show; anything else fails."""
    result = await schema.execute(
        document(name),
        variable_values=variables or {},
        context_value=await context_for(request),
        operation_name=operation,
    )
    coded = [
        {"code": str(e.extensions["code"]), "message": e.message}
        for e in result.errors or []
        if e.extensions and "code" in e.extensions
    ]
    if result.errors and len(coded) == len(result.errors):
        return result.data or {}, coded
    if result.errors:
        log.error("operation %s failed: %s", operation, [e.message for e in result.errors])
        raise OperationFailed(operation)
    return result.data or {}, []
