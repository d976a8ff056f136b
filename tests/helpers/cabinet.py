"""The parent's cabinet over HTTP as plain forms: logging in with the IIN and a one-time
password."""

from __future__ import annotations

import httpx

from tests.helpers import iin, last_code, post

# Asel's application is the first one the demo seeds: its two confirmed phones.
ASEL_PHONES = ("+77015550000", "+77075550001")


async def log_in(client: httpx.AsyncClient, who: str = "asel", phone: str = ASEL_PHONES[0]) -> None:
    r = await post(client, "/cabinet/login", {"applicant_iin": iin(who), "phone": phone})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login/code"
    r = await post(client, "/cabinet/login/code", {"code": await last_code(phone)})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet", r.text
