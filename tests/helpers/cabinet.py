"""The parent's cabinet over HTTP as plain forms: posting a form with its CSRF token,
logging in with the IIN and a one-time password."""

from __future__ import annotations

import httpx

from tests.helpers import csrf_from, iin, last_code

# Asel's application is the first one the demo seeds: its two confirmed phones.
ASEL_PHONES = ("+77015550000", "+77075550001")


async def post(
    client: httpx.AsyncClient, url: str, data: dict, files: dict | None = None, form_url: str = ""
) -> httpx.Response:
    """Opens the page with the form (as a person would) and sends it with its CSRF token."""
    page = await client.get(form_url or url)
    assert page.status_code == 200, (form_url or url, page.status_code, page.headers.get("location"))
    return await client.post(url, data={"csrf_token": csrf_from(page.text), **data}, files=files)


async def log_in(client: httpx.AsyncClient, who: str = "asel", phone: str = ASEL_PHONES[0]) -> None:
    r = await post(client, "/cabinet/login", {"applicant_iin": iin(who), "phone": phone})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login/code"
    r = await post(client, "/cabinet/login/code", {"code": await last_code(phone)})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet", r.text
