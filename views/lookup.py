"""The public queue-number lookup (R23, R24): no login, the child's IIN in a POSTed
form (never in the address), limited per IP address by the GraphQL query it runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from views import graphql
from views.common import read_form, status_for
from views.rendering import page

STATUS_CODES = {"rate_limited": 429}


async def lookup_page(request: Request) -> Response:
    if request.method == "GET":
        return page(request, "lookup.html", value="", positions=None)
    form = await read_form(request)
    value = str(form.get("child_iin", "")).strip()[:20]
    data, errors = await graphql.run_checked(request, "lookup", "QueuePosition", {"childIin": value})
    if errors:
        fields = [{"field": "child_iin", "code": e["code"], "message": e["message"]} for e in errors]
        status = status_for(errors, STATUS_CODES)
        return page(request, "lookup.html", status_code=status, value=value, positions=None, errors=fields)
    # The IIN is not echoed back into the page once it was found: the result stands alone.
    return page(request, "lookup.html", value="", positions=data["queuePosition"])
