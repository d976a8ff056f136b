"""The journey over HTTP as plain forms (what a phone without JavaScript sends)."""

from __future__ import annotations

import io
import re

import httpx

from server import runtime
from server.models import Application, Notification, QueueEntry
from server.services import registration
from tests.helpers import PDF, PHONE1, PHONE2, csrf_from, drain_jobs, iin, last_code, post


async def walk_to_summary(client: httpx.AsyncClient, parent: str = "aigerim", child: str = "dana") -> None:
    r = await post(
        client, "/apply/start", {"department": "AST", "applicant_iin": iin(parent), "phone": "8 701 111 22 33"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/apply/phone/1"
    r = await post(client, "/apply/phone/1", {"action": "confirm", "code": await last_code(PHONE1)})
    assert r.headers["location"] == "/apply/contacts"
    r = await post(client, "/apply/contacts", {"phone2": "+7 707 444 55 66", "email": "aigerim@example.kz"})
    assert r.headers["location"] == "/apply/phone/2"
    r = await post(client, "/apply/phone/2", {"action": "confirm", "code": await last_code(PHONE2)})
    assert r.headers["location"] == "/apply/child"
    r = await post(client, "/apply/child", {"action": "find", "child_iin": iin(child)})
    assert r.status_code == 303
    found = await client.get(r.headers["location"])
    assert "Серикова Дана" in found.text or child != "dana"
    r = await post(
        client,
        "/apply/preferences",
        {"choice1": "AST-KG03", "choice2": "AST-KG01", "group_language": "kk", "desired_start": "2027-09-01"},
    )
    assert r.headers["location"] == "/apply/benefits", r.text
    r = await post(client, "/apply/benefits", {"action": "continue"})
    assert r.headers["location"] == "/apply/notifications"
    r = await post(client, "/apply/notifications", {"channel": "both", "language": "ru"})
    assert r.headers["location"] == "/apply/summary"


async def test_whole_journey_as_plain_forms(client):
    await walk_to_summary(client)
    summary = await client.get("/apply/summary")
    assert "AST-KG03" not in summary.text  # names, not codes
    assert "Детский сад" in summary.text or "балабақшасы" in summary.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', summary.text).group(1)
    r = await client.post("/apply/summary", data={"csrf_token": csrf_from(summary.text), "idempotency_key": key})
    assert r.headers["location"] == "/apply/status"
    waiting = await client.get("/apply/status")
    assert 'http-equiv="refresh"' in waiting.text  # updates itself without JavaScript

    application = await Application.get(child_iin=iin("dana"))
    assert application.state == "submitted"
    await registration.register(application.id)
    # Registered, but the queue engine has not numbered it yet: still "registering…".
    assert 'http-equiv="refresh"' in (await client.get("/apply/status")).text
    await drain_jobs(runtime.get().redis)
    done = await client.get("/apply/status")
    await application.refresh_from_db()
    number = (await QueueEntry.get(application_id=application.id)).number
    assert application.registration_number in done.text
    assert f">{number}<" in done.text
    assert 'http-equiv="refresh"' not in done.text
    # htmx polls a block of the page; once registered, 286 tells htmx to stop polling.
    poll = await client.get("/apply/status", headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "<html" not in poll.text
    assert application.registration_number in poll.text
    # R12: told by both channels, in the chosen language.
    sent = await Notification.filter(kind="registered", application=application).order_by("channel")
    assert [n.channel for n in sent] == ["email", "sms"]
    assert all(application.registration_number in n.body for n in sent)
    assert all(n.language == "ru" for n in sent)

    # A double submit (a retry on a bad connection) makes no second application.
    again = await client.post("/apply/summary", data={"csrf_token": csrf_from(summary.text), "idempotency_key": key})
    assert again.headers["location"] == "/apply/status"
    assert await Application.filter(child_iin=iin("dana")).count() == 1


async def test_error_summary_and_nothing_changes(client):
    page = await client.get("/apply/start")
    r = await client.post(
        "/apply/start",
        data={"csrf_token": csrf_from(page.text), "department": "AST", "applicant_iin": "123", "phone": "12"},
    )
    assert r.status_code == 422
    assert 'class="error-summary"' in r.text and 'href="#applicant_iin"' in r.text and 'href="#phone"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert await Application.filter(applicant_iin="123").count() == 0


async def test_post_without_csrf_token_is_refused(client):
    await client.get("/apply/start")
    r = await client.post("/apply/start", data={"department": "AST", "applicant_iin": iin("aigerim"), "phone": PHONE1})
    assert r.status_code == 403
    assert await Notification.filter(kind="otp").count() == 0


async def test_draft_resumes_at_last_completed_step(client):
    r = await post(client, "/apply/start", {"department": "AST", "applicant_iin": iin("aigerim"), "phone": PHONE1})
    await post(client, "/apply/phone/1", {"action": "confirm", "code": await last_code(PHONE1)})
    # The connection drops; the parent comes back to /apply later.
    r = await client.get("/apply")
    assert r.headers["location"] == "/apply/contacts"
    # Skipping ahead is not possible.
    r = await client.get("/apply/summary")
    assert r.status_code == 303 and r.headers["location"] == "/apply/contacts"


async def test_refusals_have_clear_reasons(client):
    await client.get("/lang/en?next=/")
    await walk_to_summary(client)
    # A child the registry does not show as hers: refused, with the reason, in English.
    r = await post(client, "/apply/child", {"action": "find", "child_iin": iin("alikhan")})
    assert r.status_code == 422
    assert "does not show you as a parent or guardian" in r.text
    # The draft still holds her own child: nothing changed.
    assert (await Application.get(applicant_iin=iin("aigerim"))).child_iin == iin("dana")


async def test_too_old_and_already_queued(client):
    r = await post(client, "/apply/start", {"department": "AST", "applicant_iin": iin("erlan"), "phone": PHONE1})
    await post(client, "/apply/phone/1", {"action": "confirm", "code": await last_code(PHONE1)})
    await post(client, "/apply/contacts", {"phone2": PHONE2, "email": ""})
    await post(client, "/apply/phone/2", {"action": "confirm", "code": await last_code(PHONE2)})
    r = await post(client, "/apply/child", {"action": "find", "child_iin": iin("dias")})
    assert r.status_code == 422 and "6" in r.text  # "younger than 6 years"
    await client.get("/lang/en?next=/")
    await client.post("/apply/new", data={"csrf_token": csrf_from((await client.get("/apply/child")).text)})
    r = await post(client, "/apply/start", {"department": "AST", "applicant_iin": iin("asel"), "phone": PHONE1})
    await post(client, "/apply/phone/1", {"action": "confirm", "code": await last_code(PHONE1)})
    await post(client, "/apply/contacts", {"phone2": PHONE2, "email": ""})
    await post(client, "/apply/phone/2", {"action": "confirm", "code": await last_code(PHONE2)})
    r = await post(client, "/apply/child", {"action": "find", "child_iin": iin("adil")})
    existing = await Application.get(child_iin=iin("adil"))
    assert r.status_code == 422
    assert existing.registration_number in r.text and "already in the queue" in r.text


async def test_document_claim_checked_by_content(client):
    await walk_to_summary(client, "ainur", "kamila")
    page = await client.get("/apply/benefits")
    token = csrf_from(page.text)
    fake = await client.post(
        "/apply/benefits",
        data={"csrf_token": token, "action": "claim", "category": "TEACHER_PARENT"},
        files={"document": ("certificate.pdf", io.BytesIO(b"MZ not a pdf at all"), "application/pdf")},
    )
    assert fake.status_code == 422
    real = await client.post(
        "/apply/benefits",
        data={"csrf_token": token, "action": "claim", "category": "TEACHER_PARENT"},
        files={"document": ("scan.bin", io.BytesIO(PDF), "application/octet-stream")},
    )
    assert real.status_code == 303
    application = await Application.get(child_iin=iin("kamila"))
    claims = await application.benefits.all()
    assert [(c.source, c.status) for c in claims] == [("document", "pending")]


async def test_language_switch_and_kazakh_default(client):
    home = await client.get("/")
    assert '<html lang="kk">' in home.text
    r = await client.get("/lang/ru?next=/apply/start")
    assert r.headers["location"] == "/apply/start"
    page = await client.get("/apply/start")
    assert '<html lang="ru">' in page.text
    evil = await client.get("/lang/en?next=//evil.example")
    assert evil.headers["location"] == "/"


async def test_healthz_and_dev_outbox(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": True, "redis": True}
    await post(client, "/apply/start", {"department": "AST", "applicant_iin": iin("aigerim"), "phone": PHONE1})
    outbox = await client.get("/dev/outbox")
    assert await last_code(PHONE1) in outbox.text


async def test_default_language_is_a_setting(demo, settings):

    import httpx
    from asgi_lifespan import LifespanManager

    from server.app import create_app

    app = create_app(settings.model_copy(update={"default_language": "ru"}), manage_runtime=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c,
    ):
        page = await c.get("/apply/start")
    assert '<html lang="ru">' in page.text and "Подать заявление" in page.text


async def test_healthz_is_503_when_redis_is_down(client, monkeypatch):
    app_redis = client._transport.app.state.redis

    async def down():
        raise ConnectionError("redis is away")

    monkeypatch.setattr(app_redis, "ping", down)
    r = await client.get("/healthz")
    assert r.status_code == 503 and r.json() == {"status": "unavailable", "database": True, "redis": False}


async def test_no_dev_outbox_in_production(demo, settings):

    import httpx
    from asgi_lifespan import LifespanManager

    from server.app import create_app

    app = create_app(settings.model_copy(update={"env": "production"}), manage_runtime=False)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c,
    ):
        assert (await c.get("/dev/outbox")).status_code == 404
        assert (await c.get("/healthz")).status_code == 200
