"""The staff back-office over HTTP as plain forms: logging in, the edit form's version."""

from __future__ import annotations

import re

import httpx

from tests.helpers import csrf_from

PASSWORD = "correct horse battery staple"


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/staff/login")
    assert form.status_code == 200
    return await client.post(
        "/staff/login", data={"csrf_token": csrf_from(form.text), "username": username, "password": password}
    )


def version_in(html: str) -> int:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "no version in the form"
    return int(match.group(1))
