"""The parent's cabinet over HTTP as plain forms (what a phone without JavaScript sends):
logging in with the IIN and a one-time password, the applications, the change of phone,
messages, benefits and withdrawing the application with a confirmation step."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from server import runtime
from server.auth.sessions import COOKIE
from server.demo_data import BY_KEY
from server.models import Application, ApplicationEvent, BenefitClaim, Contact, Notification, QueueEntry
from tests.helpers import PDF, csrf_from, drain_jobs, iin, last_code, post
from tests.helpers.cabinet import ASEL_PHONES, log_in

NEW_PHONE = "+77017778899"
BUDGET = 8 * 1024  # every later page at most 8 KB over the wire


@pytest.fixture
async def parent(client: httpx.AsyncClient):
    """The test client, with every address it asks for kept: no IIN may be in one."""
    visited: list[str] = []

    async def remember(request: httpx.Request) -> None:
        visited.append(str(request.url))

    client.event_hooks["request"].append(remember)
    await client.get("/lang/en?next=/")
    yield client
    assert visited
    people = [p.iin for p in BY_KEY.values()]
    leaked = [url for url in visited if any(i in url for i in people)]
    assert leaked == [], leaked


def session_of(client: httpx.AsyncClient) -> dict:
    secret = runtime.get().settings.secret_key
    return URLSafeSerializer(secret, salt="kezek.session").loads(client.cookies[COOKIE])


async def asel_application() -> Application:
    return await Application.get(child_iin=iin("adil"))


async def phones_of(application: Application) -> list[str]:
    return list(
        await Contact.filter(application=application, kind="phone", confirmed_at__not_isnull=True)
        .order_by("rank")
        .values_list("value", flat=True)
    )


async def test_log_in_wrong_code_then_the_right_one(parent):
    application = await asel_application()
    form = await parent.get("/cabinet/login")
    assert form.status_code == 200 and 'action="/cabinet/login"' in form.text
    r = await parent.post(
        "/cabinet/login",
        data={"csrf_token": csrf_from(form.text), "applicant_iin": iin("asel"), "phone": "8 701 555 00 00"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login/code"
    # Between the two steps the session holds the challenge, never the IIN.
    between = session_of(parent)
    assert between["cabinet_ch"] and iin("asel") not in json.dumps(between)
    assert "cabinet" not in between

    code = await last_code(ASEL_PHONES[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page = await parent.get("/cabinet/login/code")
    assert "+7701*****00" in page.text  # masked: the parent typed it, nobody else sees it
    r = await parent.post("/cabinet/login/code", data={"csrf_token": csrf_from(page.text), "code": wrong})
    assert r.status_code == 422
    assert 'class="error-summary"' in r.text and 'href="#code"' in r.text and 'aria-invalid="true"' in r.text
    assert "The code is not right" in r.text
    assert (await parent.get("/cabinet")).headers["location"] == "/cabinet/login"  # still not in

    r = await parent.post("/cabinet/login/code", data={"csrf_token": csrf_from(page.text), "code": code})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet"
    after = session_of(parent)
    assert after["cabinet"] == [application.id] and "cabinet_ch" not in after
    assert iin("asel") not in json.dumps(after)

    mine = await parent.get("/cabinet")
    assert mine.status_code == 200
    number = (await QueueEntry.get(application_id=application.id)).number
    assert "Исаев Адиль" in mine.text and application.registration_number in mine.text
    assert f'<dd class="queue-number">{number}</dd>' in mine.text
    assert f'href="/cabinet/{application.registration_number}"' in mine.text
    assert iin("asel") not in mine.text and iin("adil") not in mine.text
    # Logged in, the log-in page leads to the applications.
    assert (await parent.get("/cabinet/login")).headers["location"] == "/cabinet"


async def test_a_pair_that_does_not_match_gets_the_same_answer_and_no_sms(parent):
    stranger = "+77019998877"
    # A phone that is not on her application, and an IIN with no application at all.
    for who, phone in (("asel", stranger), ("aigerim", ASEL_PHONES[0])):
        r = await post(parent, "/cabinet/login", {"applicant_iin": iin(who), "phone": phone})
        assert r.status_code == 303 and r.headers["location"] == "/cabinet/login/code"
        page = await parent.get("/cabinet/login/code")
        assert page.status_code == 200 and "If the IIN and the phone belong to an application" in page.text
        r = await parent.post("/cabinet/login/code", data={"csrf_token": csrf_from(page.text), "code": "123456"})
        assert r.status_code == 422 and 'href="#code"' in r.text
    assert await Notification.filter(kind="otp").count() == 0
    assert "cabinet" not in session_of(parent)
    assert (await parent.get("/cabinet")).headers["location"] == "/cabinet/login"


async def test_login_mistakes_are_shown_at_both_fields(parent):
    r = await post(parent, "/cabinet/login", {"applicant_iin": iin("asel")[:11], "phone": "12"})
    assert r.status_code == 422
    assert 'href="#applicant_iin"' in r.text and 'href="#phone"' in r.text
    assert r.text.count('aria-invalid="true"') == 2
    assert r.headers["cache-control"].startswith("private, no-store")
    assert await Notification.filter(kind="otp").count() == 0
    assert "cabinet_ch" not in session_of(parent)


async def test_pages_need_a_login_and_a_form_token(parent):
    number = (await asel_application()).registration_number
    for url in (
        "/cabinet",
        f"/cabinet/{number}",
        f"/cabinet/{number}/phones",
        f"/cabinet/{number}/withdraw",
        "/cabinet/login/code",
    ):
        r = await parent.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/cabinet/login", url
    r = await parent.post(f"/cabinet/{number}/withdraw", data={})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login"
    await log_in(parent)
    r = await parent.post(f"/cabinet/{number}/withdraw", data={"reason": "no token"})
    assert r.status_code == 403
    assert (await asel_application()).state == "queued"
    # Signing out ends it.
    page = await parent.get("/cabinet")
    r = await parent.post("/cabinet/logout", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login?out=1"
    assert "You have signed out." in (await parent.get(r.headers["location"])).text
    assert (await parent.get(f"/cabinet/{number}")).headers["location"] == "/cabinet/login"


async def test_someone_elses_application_is_not_found(parent):
    await log_in(parent)
    other = await Application.filter(registration_number__not_isnull=True).exclude(applicant_iin=iin("asel")).first()
    before = await phones_of(other)
    child = next(p for p in BY_KEY.values() if p.iin == other.child_iin)
    for url in (
        f"/cabinet/{other.registration_number}",
        f"/cabinet/{other.registration_number}/phones",
        f"/cabinet/{other.registration_number}/withdraw",
    ):
        r = await parent.get(url)
        assert r.status_code == 404, url
        assert "Page not found" in r.text and child.given_name not in r.text and 'id="queue-number"' not in r.text
    page = await parent.get("/cabinet")
    r = await parent.post(f"/cabinet/{other.registration_number}/withdraw", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 404
    r = await parent.post(
        f"/cabinet/{other.registration_number}/phones",
        data={"csrf_token": csrf_from(page.text), "action": "remove", "phone": before[0]},
    )
    assert r.status_code == 404
    await other.refresh_from_db()
    assert other.state == "queued" and await phones_of(other) == before
    assert (await parent.get("/cabinet/AST-2000-999999")).status_code == 404


async def test_the_application_page_and_its_weight(parent):
    application = await asel_application()
    await log_in(parent)
    number = application.registration_number
    page = await parent.get(f"/cabinet/{number}")
    assert page.status_code == 200
    assert page.headers["cache-control"].startswith("private, no-store")
    queue_number = (await QueueEntry.get(application_id=application.id)).number
    assert f'id="queue-number">{queue_number}<' in page.text
    assert f'id="registration-number">{number}<' in page.text
    assert "in the queue" in page.text
    # Her contacts, her own numbers in full; the timeline (R33) and why the number changed (R24).
    assert "+7 701 555 0000" in page.text and "+7 707 555 0001" in page.text
    assert "Registered in the queue" in page.text and "Application sent" in page.text
    assert "Why the number changed" in page.text
    assert iin("asel") not in page.text and iin("adil") not in page.text
    # Every page is small over the wire (gzip).
    for url in (
        "/cabinet",
        f"/cabinet/{number}",
        f"/cabinet/{number}/phones",
        f"/cabinet/{number}/email",
        f"/cabinet/{number}/notifications",
        f"/cabinet/{number}/benefits",
        f"/cabinet/{number}/withdraw",
    ):
        r = await parent.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", url
        assert r.num_bytes_downloaded <= BUDGET, (url, r.num_bytes_downloaded)


async def test_change_of_phone_end_to_end(parent):
    application = await asel_application()
    number = application.registration_number
    await log_in(parent)
    phones_url = f"/cabinet/{number}/phones"

    # Two phones: removing one is refused with a clear message, nothing changes.
    r = await post(parent, phones_url, {"action": "remove", "phone": "+7 701 555 0000"})
    assert r.status_code == 422
    assert "Keep at least two confirmed phones" in r.text and 'href="#phones"' in r.text
    assert await phones_of(application) == list(ASEL_PHONES)

    # A third phone: a code goes to it, a wrong code is refused, the right one adds it.
    r = await post(parent, phones_url, {"action": "add", "phone": "8 701 777 88 99"})
    assert r.status_code == 303 and r.headers["location"] == f"{phones_url}/code"
    assert await phones_of(application) == list(ASEL_PHONES)  # not before its code
    code = await last_code(NEW_PHONE)
    page = await parent.get(f"{phones_url}/code")
    assert "+7701*****99" in page.text
    r = await parent.post(
        f"{phones_url}/code", data={"csrf_token": csrf_from(page.text), "code": f"{(int(code) + 1) % 1_000_000:06d}"}
    )
    assert r.status_code == 422 and "The code is not right" in r.text
    r = await parent.post(f"{phones_url}/code", data={"csrf_token": csrf_from(page.text), "code": code})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=phone_added"
    done = await parent.get(r.headers["location"])
    assert "The new phone is confirmed and added." in done.text and "+7 701 777 8899" in done.text
    assert await phones_of(application) == [*ASEL_PHONES, NEW_PHONE]
    # The code page is spent.
    assert (await parent.get(f"{phones_url}/code")).headers["location"] == phones_url

    # An old one can go now; then two remain and the next removal is refused.
    r = await post(parent, phones_url, {"action": "remove", "phone": "+7 701 555 0000"})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=phone_removed"
    assert await phones_of(application) == [ASEL_PHONES[1], NEW_PHONE]
    r = await post(parent, phones_url, {"action": "remove", "phone": NEW_PHONE})
    assert r.status_code == 422 and "Keep at least two confirmed phones" in r.text
    assert await phones_of(application) == [ASEL_PHONES[1], NEW_PHONE]

    kinds = (
        await ApplicationEvent.filter(application=application, kind__in=("phone_added", "phone_removed"))
        .order_by("id")
        .values_list("kind", "actor")
    )
    assert kinds == [("phone_added", "applicant"), ("phone_removed", "applicant")]
    history = await parent.get(f"/cabinet/{number}")
    assert "Phone added" in history.text and "Phone removed" in history.text
    assert "+7 701 555 0000" not in history.text
    # The removed phone no longer opens the cabinet; the new one does.
    await post(parent, "/cabinet/logout", {}, form_url=f"/cabinet/{number}")
    r = await post(parent, "/cabinet/login", {"applicant_iin": iin("asel"), "phone": ASEL_PHONES[0]})
    assert r.headers["location"] == "/cabinet/login/code"
    assert await Notification.filter(kind="otp", recipient=ASEL_PHONES[0]).count() == 1  # the first log-in only
    await log_in(parent, phone=NEW_PHONE)


async def test_email_and_message_settings(parent):
    application = await asel_application()
    number = application.registration_number
    await log_in(parent)
    url = f"/cabinet/{number}/notifications"
    # Email messages need an address first: refused, with the way to add one.
    r = await post(parent, url, {"channel": "email", "language": "en"})
    assert r.status_code == 422 and 'href="#channel"' in r.text and f'href="/cabinet/{number}/email"' in r.text
    r = await post(parent, f"/cabinet/{number}/email", {"email": "not an address"})
    assert r.status_code == 422 and 'href="#email"' in r.text
    r = await post(parent, f"/cabinet/{number}/email", {"email": "asel@example.kz"})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=email"
    email = await Contact.get(application=application, kind="email")
    assert email.value == "asel@example.kz" and email.confirmed_at is not None  # so messages reach it

    r = await post(parent, url, {"channel": "both", "language": "en"})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=notifications"
    await application.refresh_from_db()
    assert (application.notify_channel, application.notify_language) == ("both", "en")
    page = await parent.get(r.headers["location"])
    assert "The message settings are saved." in page.text and "SMS and email" in page.text
    assert "asel@example.kz" in page.text
    event = await ApplicationEvent.filter(application=application, kind="notifications_changed").get()
    assert event.data == {"channel": "both", "language": "en"}
    # Removing the address while messages go by email is refused.
    r = await post(parent, f"/cabinet/{number}/email", {"email": ""})
    assert r.status_code == 422 and "Enter an email address to get messages by email." in r.text
    assert await Contact.filter(application=application, kind="email").count() == 1


async def test_claim_and_withdraw_a_benefit(parent):
    application = await asel_application()
    number = application.registration_number
    await log_in(parent)
    url = f"/cabinet/{number}/benefits"
    page = await parent.get(url)
    assert 'value="TEACHER_PARENT"' in page.text and 'value="LARGE_FAMILY"' not in page.text  # documents only
    r = await parent.post(
        url,
        data={"csrf_token": csrf_from(page.text), "category": "TEACHER_PARENT"},
        files={"document": ("certificate.pdf", io.BytesIO(b"MZ not a pdf at all"), "application/pdf")},
    )
    assert r.status_code == 422 and 'href="#document"' in r.text
    r = await parent.post(
        url,
        data={"csrf_token": csrf_from(page.text), "category": "TEACHER_PARENT"},
        files={"document": ("certificate.pdf", io.BytesIO(PDF), "application/pdf")},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=claimed"
    claim = await BenefitClaim.get(application=application, category__code="TEACHER_PARENT")
    assert claim.status == "pending" and claim.document_id is not None
    shown = await parent.get(r.headers["location"])
    assert "waiting for staff to check" in shown.text
    page = await parent.get(url)
    assert 'value="TEACHER_PARENT"' not in page.text  # claimed already

    # Withdrawing asks first, then does it.
    confirm = await parent.get(f"{url}/{claim.id}/withdraw")
    assert confirm.status_code == 200 and "Withdraw the benefit?" in confirm.text
    await claim.refresh_from_db()
    assert claim.status == "pending"
    r = await parent.post(f"{url}/{claim.id}/withdraw", data={"csrf_token": csrf_from(confirm.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=benefit_withdrawn"
    await claim.refresh_from_db()
    assert claim.status == "withdrawn" and claim.decided_by == "applicant"
    assert await ApplicationEvent.filter(application=application, kind="benefit_withdrawn").count() == 1
    assert (await parent.get(f"{url}/{claim.id}/withdraw")).status_code == 404  # nothing left to withdraw


async def test_withdraw_the_application_with_a_confirmation_step(parent):
    application = await asel_application()
    number = application.registration_number
    await log_in(parent)
    url = f"/cabinet/{number}/withdraw"
    confirm = await parent.get(url)
    assert confirm.status_code == 200
    assert "Withdraw the application?" in confirm.text and "cannot be undone" in confirm.text
    assert f'action="{url}"' in confirm.text and f'href="/cabinet/{number}"' in confirm.text
    await application.refresh_from_db()
    assert application.state == "queued"  # looking at it changes nothing

    r = await parent.post(url, data={"csrf_token": csrf_from(confirm.text), "reason": "We moved to Almaty"})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=withdrawn"
    await application.refresh_from_db()
    assert application.state == "withdrawn" and application.active_key is None
    event = await ApplicationEvent.get(application=application, kind="withdraw")
    assert (event.from_state, event.to_state, event.actor, event.reason) == (
        "queued",
        "withdrawn",
        "applicant",
        "We moved to Almaty",
    )
    # It has left the queue: no number, no more changes.
    await drain_jobs(runtime.get().redis)
    assert not await QueueEntry.filter(application_id=application.id).exists()
    page = await parent.get(r.headers["location"])
    assert "The application is withdrawn" in page.text
    assert "withdrawn by you" in page.text and "Application withdrawn: We moved to Almaty" in page.text
    assert 'id="queue-number"' not in page.text
    assert f'href="{url}"' not in page.text and f'href="/cabinet/{number}/phones"' not in page.text
    # Changes and a second withdrawal lead back to the page.
    assert (await parent.get(url)).headers["location"] == f"/cabinet/{number}"
    assert (await parent.get(f"/cabinet/{number}/phones")).headers["location"] == f"/cabinet/{number}"

    # The child may apply again (R5 no longer holds a place for it).
    r = await post(parent, "/apply/start", {"department": "AST", "applicant_iin": iin("asel"), "phone": ASEL_PHONES[0]})
    assert r.headers["location"] == "/apply/phone/1"
    r = await post(parent, "/apply/phone/1", {"action": "confirm", "code": await last_code(ASEL_PHONES[0])})
    r = await post(parent, "/apply/contacts", {"phone2": ASEL_PHONES[1], "email": ""})
    r = await post(parent, "/apply/phone/2", {"action": "confirm", "code": await last_code(ASEL_PHONES[1])})
    assert r.headers["location"] == "/apply/child"
    r = await post(parent, "/apply/child", {"action": "find", "child_iin": iin("adil")})
    assert r.status_code == 303 and r.headers["location"] == "/apply/child?found=1", r.text


async def test_withdrawing_a_confirmed_benefit_keeps_the_application(parent):
    """R15, R16: the child of a large family (a registry benefit) loses its class, keeps
    its registration time and its application; the page says what it means first."""
    application = await Application.get(child_iin=iin("q0c"))  # seeded second: +7701 555 0002
    assert application.benefit_class == "priority"
    registered_at = application.registered_at
    await log_in(parent, "q0p", "+77015550002")
    number = application.registration_number
    claim = await BenefitClaim.get(application=application, category__code="LARGE_FAMILY")
    confirm = await parent.get(f"/cabinet/{number}/benefits/{claim.id}/withdraw")
    assert confirm.status_code == 200 and "only the education department can give it back" in confirm.text
    r = await parent.post(
        f"/cabinet/{number}/benefits/{claim.id}/withdraw", data={"csrf_token": csrf_from(confirm.text)}
    )
    assert r.status_code == 303
    await drain_jobs(runtime.get().redis)
    await application.refresh_from_db()
    assert application.state == "queued" and application.benefit_class == "general"
    assert application.registered_at == registered_at
    assert await ApplicationEvent.filter(application=application, kind="benefit_class").count() == 1
    page = await parent.get(f"/cabinet/{number}")
    assert "Benefit withdrawn" in page.text and "Order changed by a benefit" in page.text
    assert f'id="queue-number">{(await QueueEntry.get(application_id=application.id)).number}<' in page.text


async def test_codes_are_limited_per_phone(parent):
    limit = runtime.get().settings.otp_sends_per_phone_per_hour
    for _ in range(limit):
        r = await post(parent, "/cabinet/login", {"applicant_iin": iin("asel"), "phone": ASEL_PHONES[1]})
        assert r.status_code == 303
    r = await post(parent, "/cabinet/login", {"applicant_iin": iin("asel"), "phone": ASEL_PHONES[1]})
    assert r.status_code == 429 and "Too many codes were sent" in r.text and 'href="#phone"' in r.text
    assert await Notification.filter(kind="otp", recipient=ASEL_PHONES[1]).count() == limit
