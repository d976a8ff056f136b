"""Pages run named GraphQL operations in-process, with the context an HTTP request
would get (`schema.context.context_for`, the /graphql endpoint's too): everything a page
does, an integrator can do over the API."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request

from schema import schema
from schema.context import context_for

log = logging.getLogger("kezek.views")
OPERATIONS = Path(__file__).parent / "operations"


@cache
def document(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


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
