"""Session cookies: signed, HttpOnly, SameSite, with idle and absolute timeouts."""

from __future__ import annotations

import time

from server.auth.sessions import COOKIE, dumps_for_test


async def test_cookie_flags_and_tampering(client, settings):
    page = await client.get("/apply/start")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.set(COOKIE, value[:-2] + "xx")
    again = await client.get("/apply/start")
    assert again.headers.get("set-cookie")  # a forged cookie is thrown away: a new session


async def _draft_cookie(settings, created: float, touched: float) -> str:
    from server.auth.principal import ANONYMOUS
    from server.services import journey
    from tests.helpers import PHONE1, iin

    started = await journey.start(ANONYMOUS, "AST", iin("aigerim"), PHONE1, "10.0.0.1")
    return dumps_for_test(
        settings.secret_key, {"_c": int(created), "_t": int(touched), "draft": str(started.draft.public_id)}
    )


async def test_live_session_resumes_its_draft(client, settings):
    now = time.time()
    client.cookies.set(COOKIE, await _draft_cookie(settings, now - 60, now - 10))
    r = await client.get("/apply")
    assert r.headers["location"] == "/apply/phone/1"


async def test_idle_timeout_ends_the_session(client, settings):
    now = time.time()
    client.cookies.set(COOKIE, await _draft_cookie(settings, now - 3600, now - settings.session_idle_minutes * 60 - 5))
    r = await client.get("/apply")
    assert r.headers["location"] == "/apply/start"


async def test_absolute_timeout_ends_the_session(client, settings):
    now = time.time()
    client.cookies.set(COOKIE, await _draft_cookie(settings, now - settings.session_max_hours * 3600 - 5, now - 10))
    r = await client.get("/apply")
    assert r.headers["location"] == "/apply/start"
