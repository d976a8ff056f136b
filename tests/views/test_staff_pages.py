"""The staff back-office over HTTP as plain forms (what a browser without JavaScript
sends), and the pieces htmx asks for: log-in, search, the inline edit and its stale
conflict, benefit decisions, documents, and one department never seeing another's."""

from __future__ import annotations

import io
import re
import uuid

import httpx

from server.auth import staff as staff_auth
from server.auth.principal import Principal
from server.demo_data import BY_KEY
from server.domain import phones
from server.models import Application, AuditEntry, BenefitClaim, Contact, Notification
from server.services import benefits, registration, submission
from tests.helpers import PDF, csrf_from, iin
from tests.helpers.staff import PASSWORD, log_in, version_in

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/staff"}


async def account(username: str, role: str = "operator", department: str = "AST") -> None:
    await staff_auth.create(username, f"{username.title()} Staff", role, department, PASSWORD)


async def staff_client(
    client: httpx.AsyncClient, username: str, role: str = "operator", department: str = "AST"
) -> httpx.AsyncClient:
    await account(username, role, department)
    await client.get("/lang/en")
    assert (await log_in(client, username)).status_code == 303
    return client


async def post_form(client: httpx.AsyncClient, page_url: str, url: str, data: dict, **kwargs) -> httpx.Response:
    """Posts a form of the page at page_url, as the browser would (with its CSRF token)."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return await client.post(url, data={"csrf_token": csrf_from(page.text), **data}, **kwargs)


async def adil() -> Application:
    """A demo application queued in Astana."""
    return await Application.get(child_iin=iin("adil"))


async def teacher_claim() -> tuple[Application, BenefitClaim]:
    """The demo teacher's daughter, queued in Astana, with a pending TEACHER_PARENT claim."""
    integrator = Principal(kind="integrator", name="test", scopes=frozenset({"applications:submit"}))
    application = await submission.submit(
        integrator,
        submission.SubmitInput(
            department_code="AST",
            applicant_iin=iin("ainur"),
            child_iin=iin("kamila"),
            phones=["+77019990011", "+77079990022"],
            email=None,
            kindergarten_codes=["AST-KG02"],
            any_kindergarten=False,
            group_language="kk",
            desired_start=_start(),
            notify_channel="sms",
            notify_language="ru",
        ),
        "teacher-1",
    )
    await registration.register(application.id)
    await application.refresh_from_db()
    claim = await benefits.store_claim(application, "TEACHER_PARENT", "certificate.pdf", PDF, "applicant:test")
    return application, claim


def _start() -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=90)).isoformat()


# --- log-in --------------------------------------------------------------------------


async def test_staff_log_in_and_out(client):
    await account("aliya.operator")
    await client.get("/lang/en")
    away = await client.get("/staff")
    assert away.status_code == 303 and away.headers["location"] == "/staff/login"

    wrong = await log_in(client, "aliya.operator", "not the password at all")
    assert wrong.status_code == 422
    assert 'class="error-summary"' in wrong.text and "The username or the password is not right." in wrong.text
    assert 'aria-invalid="true"' in wrong.text and 'value="aliya.operator"' in wrong.text
    assert PASSWORD not in wrong.text

    empty = await log_in(client, "", "")
    assert empty.status_code == 422 and "Enter your username." in empty.text and "Enter your password." in empty.text

    right = await log_in(client, "aliya.operator")
    assert right.status_code == 303 and right.headers["location"] == "/staff"
    home = await client.get("/staff")
    assert home.status_code == 200
    assert "Signed in as aliya.operator" in home.text and 'action="/staff/logout"' in home.text
    assert home.headers["cache-control"].startswith("private, no-store")
    assert (await client.get("/staff/login")).headers["location"] == "/staff"  # already in

    out = await post_form(client, "/staff", "/staff/logout", {})
    assert out.status_code == 303 and out.headers["location"] == "/staff/login"
    assert (await client.get("/staff")).status_code == 303


async def test_every_staff_page_needs_a_log_in(client):
    number = (await adil()).registration_number
    for url in (
        "/staff",
        f"/staff/applications/{number}",
        f"/staff/applications/{number}/edit/phone1",
        "/staff/verification",
        f"/staff/documents/{uuid.uuid4()}",
    ):
        r = await client.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login"), url
        assert number not in r.text
    # Back where they wanted to go after logging in; never to another site.
    await account("aliya.operator")
    target = f"/staff/applications/{number}"
    form = await client.get(f"/staff/login?next={target}")
    r = await client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_from(form.text),
            "username": "aliya.operator",
            "password": PASSWORD,
            "next": target,
        },
    )
    assert r.headers["location"] == target
    assert (await client.get("/staff/login?next=//evil.example/")).headers["location"] == "/staff"
    # htmx asking for a piece of a page is sent to the log-in page as a whole.
    await post_form(client, "/staff", "/staff/logout", {})
    piece = await client.get(f"/staff/applications/{number}/edit/phone1", headers=HTMX)
    assert piece.headers["HX-Redirect"].startswith("/staff/login")


async def test_a_post_without_the_form_token_is_refused(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    r = await client.post(
        f"/staff/applications/{application.registration_number}/edit/phone1",
        data={"version": str(application.version), "phone": "+7 701 000 0000"},
    )
    assert r.status_code == 403
    assert await AuditEntry.all().count() == 0


# --- finding --------------------------------------------------------------------------


async def test_search_by_registration_number_iin_phone_and_name(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    phone = await Contact.get(application=application, kind="phone", rank=1)
    child = BY_KEY["adil"]
    latest = await client.get("/staff")
    assert number in latest.text  # newest first, no search needed
    for query in (
        number.lower(),
        iin("adil"),
        iin("asel")[:6] + " " + iin("asel")[6:],
        phones.display(phone.value),
        "8" + phone.value[2:],
        f"8-{phone.value[2:5]}-{phone.value[5:8]}-{phone.value[8:]}",
        child.given_name,
        f"{child.surname} {child.given_name}".lower(),
    ):
        found = await post_form(client, "/staff", "/staff", {"query": query})
        assert found.status_code == 200, query
        assert f'href="/staff/applications/{number}"' in found.text, query
        assert str(found.url) == "http://testserver/staff"  # nothing of the query in the address
    none = await post_form(client, "/staff", "/staff", {"query": "Несуществующая"})
    assert none.status_code == 200 and f'href="/staff/applications/{number}"' not in none.text
    assert "No application of your department matches" in none.text


async def test_filters_and_keyset_pages(client):
    await staff_client(client, "aliya.operator")
    queued = await Application.filter(department__code="AST", state="queued").count()
    assert queued > 3
    first = await post_form(client, "/staff", "/staff", {"status": "queued"})
    numbers = re.findall(r'href="/staff/applications/(AST-[\d-]+)"', first.text)
    assert len(numbers) == queued  # one page of 25
    # A filter that leaves one cohort, and the pending-verification filter.
    application = await adil()
    cohort = await post_form(client, "/staff", "/staff", {"cohort": str(application.cohort)})
    assert application.registration_number in cohort.text
    pending = await post_form(client, "/staff", "/staff", {"pending": "1"})
    assert pending.status_code == 200 and 'href="/staff/applications/' not in pending.text
    bad = await post_form(client, "/staff", "/staff", {"cohort": "twenty", "status": "nonsense"})
    assert bad.status_code == 422 and bad.text.count('aria-invalid="true"') == 2


async def test_next_page_carries_the_search_in_its_form(client, monkeypatch):
    import views.staff

    monkeypatch.setattr(views.staff, "PAGE_SIZE", 2)
    await staff_client(client, "aliya.operator")
    seen: list[str] = []
    page = await post_form(client, "/staff", "/staff", {"status": "queued"})
    while True:
        numbers = re.findall(r'href="/staff/applications/(AST-[\d-]+)"', page.text)
        assert 1 <= len(numbers) <= 2
        seen += numbers
        after = re.search(r'name="after" value="(\d+)"', page.text)
        if after is None:
            break
        assert 'name="status" value="queued"' in page.text
        page = await client.post(
            "/staff",
            data={
                "csrf_token": csrf_from(page.text),
                "status": "queued",
                "after": after.group(1),
            },
        )
    expected = (
        await Application.filter(department__code="AST", state="queued")
        .order_by("-id")
        .values_list("registration_number", flat=True)
    )
    assert seen == list(expected)


# --- the inline edit ------------------------------------------------------------------------


async def test_inline_edit_of_a_phone_as_a_plain_form(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    old = (await Contact.get(application=application, kind="phone", rank=1)).value
    shown = await client.get(f"/staff/applications/{number}")
    assert shown.status_code == 200
    assert phones.display(old) in shown.text and iin("adil") in shown.text  # staff see IINs
    assert f'href="/staff/applications/{number}/edit/phone1"' in shown.text

    edit = await client.get(f"/staff/applications/{number}/edit/phone1")
    assert edit.status_code == 200 and "<html" in edit.text
    assert version_in(edit.text) == application.version
    r = await client.post(
        f"/staff/applications/{number}/edit/phone1",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(application.version),
            "phone": "8 (701) 777 12 34",
            "reason": "The parent called to correct it",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/staff/applications/{number}?changed=phone1#group-phone1"

    assert (await Contact.get(application=application, kind="phone", rank=1)).value == "+77017771234"
    rows = await AuditEntry.filter(application_id=application.id)
    assert [(a.field, a.before, a.after, a.reason, a.actor) for a in rows] == [
        ("phone1", old, "+77017771234", "The parent called to correct it", "staff:aliya.operator"),
    ]
    assert rows[0].ip == "127.0.0.9"
    await application.refresh_from_db()
    assert application.version == version_in(edit.text) + 1
    after = await client.get(r.headers["location"])
    assert "+7 701 777 1234" in after.text and "The parent called to correct it" in after.text
    assert after.text.count("<tr>") >= 2  # the history has the row


async def test_a_stale_edit_is_refused_with_the_current_value(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    form = await client.get(f"/staff/applications/{number}/edit/phone1")
    made_on = version_in(form.text)
    # Meanwhile someone else changes the other phone: the version moves on.
    other = await client.post(
        f"/staff/applications/{number}/edit/phone2",
        data={
            "csrf_token": csrf_from(form.text),
            "version": str(made_on),
            "phone": "+7 707 333 4455",
        },
    )
    assert other.status_code == 303
    await application.refresh_from_db()
    before = (await Contact.get(application=application, kind="phone", rank=1)).value
    audit = await AuditEntry.all().count()

    stale = await client.post(
        f"/staff/applications/{number}/edit/phone1",
        data={
            "csrf_token": csrf_from(form.text),
            "version": str(made_on),
            "phone": "+7 701 999 8877",
        },
    )
    assert stale.status_code == 409
    assert "Someone changed this application while you were editing" in stale.text
    assert f'value="{phones.display(before)}"' in stale.text  # the current value, not the typed one
    assert "999 8877" not in stale.text
    assert version_in(stale.text) == application.version  # saving again now is on the current version
    assert (await Contact.get(application=application, kind="phone", rank=1)).value == before
    assert await AuditEntry.all().count() == audit

    # The same with htmx: the form alone, in place.
    piece = await client.post(
        f"/staff/applications/{number}/edit/phone1",
        headers=HTMX,
        data={
            "csrf_token": csrf_from(form.text),
            "version": str(made_on),
            "phone": "+7 701 999 8877",
        },
    )
    assert piece.status_code == 409 and "<html" not in piece.text
    assert 'id="group-phone1"' in piece.text and f'value="{phones.display(before)}"' in piece.text
    assert "HX-Request" in piece.headers["vary"]


async def test_a_mistake_keeps_what_was_typed_and_the_version_it_was_made_on(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    form = await client.get(f"/staff/applications/{number}/edit/phone1")
    bad = await client.post(
        f"/staff/applications/{number}/edit/phone1",
        data={
            "csrf_token": csrf_from(form.text),
            "version": str(application.version - 1),
            "phone": "12345",
        },
    )
    assert bad.status_code == 422
    assert 'class="error-summary"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="12345"' in bad.text and version_in(bad.text) == application.version - 1
    assert await AuditEntry.all().count() == 0


async def test_inline_edit_with_htmx(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    piece = await client.get(f"/staff/applications/{number}/edit/email", headers=HTMX)
    assert piece.status_code == 200 and "<html" not in piece.text
    assert piece.text.lstrip().startswith('<div class="group editing" id="group-email">')
    assert f'hx-post="/staff/applications/{number}/edit/email"' in piece.text
    assert "HX-Request" in piece.headers["vary"]
    # Cancel: the group as shown; without htmx that URL is the application page.
    shown = await client.get(f"/staff/applications/{number}/view/email", headers=HTMX)
    assert shown.text.lstrip().startswith('<div class="group" id="group-email">') and "<form" not in shown.text
    assert (await client.get(f"/staff/applications/{number}/view/email")).status_code == 303

    saved = await client.post(
        f"/staff/applications/{number}/edit/email",
        headers=HTMX,
        data={
            "csrf_token": csrf_from(piece.text),
            "version": str(version_in(piece.text)),
            "email": "asel@example.kz",
        },
    )
    assert saved.status_code == 200 and "<html" not in saved.text
    assert saved.headers["HX-Retarget"] == "#staff-content"
    assert "asel@example.kz" in saved.text and 'role="status"' in saved.text
    await application.refresh_from_db()
    assert version_in(saved.text) == application.version  # every form of the page is on the new version
    assert [a.field for a in await AuditEntry.filter(application_id=application.id)] == ["email"]


async def test_preferences_and_notifications_forms(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    edit = await client.get(f"/staff/applications/{number}/edit/preferences")
    assert edit.status_code == 200 and 'name="choice1"' in edit.text
    r = await client.post(
        f"/staff/applications/{number}/edit/preferences",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(version_in(edit.text)),
            "choice1": "AST-KG05",
            "choice2": "AST-KG05",
            "group_language": "kk",
            "desired_start": _start(),
        },
    )
    assert r.status_code == 422 and "Each kindergarten can be chosen once." in r.text
    assert r.text.count('value="AST-KG05" selected') == 2
    r = await client.post(
        f"/staff/applications/{number}/edit/preferences",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(version_in(edit.text)),
            "choice1": "AST-KG05",
            "choice2": "AST-KG07",
            "group_language": "kk",
            "desired_start": _start(),
        },
    )
    assert r.status_code == 303
    codes = {a.field for a in await AuditEntry.filter(application_id=application.id)}
    assert "kindergartens" in codes

    edit = await client.get(f"/staff/applications/{number}/edit/notifications")
    r = await client.post(
        f"/staff/applications/{number}/edit/notifications",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(version_in(edit.text)),
            "channel": "email",
            "language": "en",
        },
    )
    assert r.status_code == 422 and "Enter an email address to get messages by email." in r.text


# --- status changes and benefits -------------------------------------------------------------


async def test_a_transition_needs_a_reason(client):
    await staff_client(client, "aliya.operator")
    application = await adil()
    number = application.registration_number
    page = f"/staff/applications/{number}"
    shown = await client.get(page)
    assert 'name="transition" value="suspend"' in shown.text
    no_reason = await post_form(
        client, page, f"{page}/transition", {"version": str(application.version), "transition": "suspend"}
    )
    assert no_reason.status_code == 422 and 'href="#transition-suspend-reason"' in no_reason.text
    r = await post_form(
        client,
        page,
        f"{page}/transition",
        {
            "version": str(application.version),
            "transition": "suspend",
            "reason": "Documents are being checked",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"{page}?done=transition"
    await application.refresh_from_db()
    assert application.state == "suspended"
    after = await client.get(r.headers["location"])
    assert 'value="restore"' in after.text and "Documents are being checked" in after.text


async def test_confirm_a_claim_from_the_verification_queue(client):
    application, claim = await teacher_claim()
    await staff_client(client, "bota.verifier", role="verifier")
    queue = await client.get("/staff/verification")
    assert queue.status_code == 200
    assert application.registration_number in queue.text and f"/staff/documents/{claim.document_id}" in queue.text
    action = f"/staff/applications/{application.registration_number}/benefits/{claim.id}/decide"
    assert f'action="{action}"' in queue.text

    rejected = await client.post(
        action,
        data={
            "csrf_token": csrf_from(queue.text),
            "version": str(application.version),
            "decision": "reject",
            "back": "verification",
        },
    )
    assert rejected.status_code == 422 and f'href="#claim-{claim.id}-reason"' in rejected.text
    assert (await BenefitClaim.get(id=claim.id)).status == "pending"

    confirmed = await client.post(
        action,
        data={
            "csrf_token": csrf_from(queue.text),
            "version": str(application.version),
            "decision": "confirm",
            "back": "verification",
        },
    )
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/staff/verification?done=1"
    assert (await BenefitClaim.get(id=claim.id)).status == "confirmed"
    await application.refresh_from_db()
    assert application.benefit_class == "priority"
    fields = sorted(a.field for a in await AuditEntry.filter(application_id=application.id))
    assert fields == ["benefit:TEACHER_PARENT", "benefit_class"]
    assert await Notification.filter(application=application, kind="benefit_confirmed").exists()
    done = await client.get(confirmed.headers["location"])
    assert "No benefit documents are waiting for a decision." in done.text
    # An operator does not decide benefits.
    await post_form(client, "/staff", "/staff/logout", {})
    await staff_client(client, "aliya.operator")
    assert (await client.get("/staff/verification")).status_code == 403


async def test_add_and_withdraw_a_benefit_on_the_application_page(client):
    application = await adil()
    number = application.registration_number
    page = f"/staff/applications/{number}"
    await staff_client(client, "bota.verifier", role="verifier")
    shown = await client.get(page)
    assert f'action="{page}/benefits/add"' in shown.text
    assert f"{page}/edit/phone1" not in shown.text  # a verifier does not edit contacts
    missing = await client.post(
        f"{page}/benefits/add",
        data={
            "csrf_token": csrf_from(shown.text),
            "version": str(application.version),
            "category": "MILITARY",
        },
        files={"document": ("certificate.pdf", io.BytesIO(PDF), "application/pdf")},
    )
    assert missing.status_code == 422 and 'href="#add-reason"' in missing.text
    assert 'value="MILITARY" selected' in missing.text
    added = await client.post(
        f"{page}/benefits/add",
        data={
            "csrf_token": csrf_from(shown.text),
            "version": str(application.version),
            "category": "MILITARY",
            "reason": "The father brought the original",
        },
        files={"document": ("certificate.pdf", io.BytesIO(PDF), "application/pdf")},
    )
    assert added.status_code == 303, added.text
    claim = await BenefitClaim.get(application=application, category__code="MILITARY")
    assert claim.status == "confirmed"
    shown = await client.get(added.headers["location"])
    assert f"/staff/documents/{claim.document_id}" in shown.text
    withdrawn = await client.post(
        f"{page}/benefits/{claim.id}/withdraw",
        data={
            "csrf_token": csrf_from(shown.text),
            "version": str(version_in(shown.text)),
            "reason": "Certificate withdrawn",
        },
    )
    assert withdrawn.status_code == 303
    assert (await BenefitClaim.get(id=claim.id)).status == "withdrawn"


# --- documents and departments -----------------------------------------------------------------


async def test_a_document_only_for_its_department(client):
    _application, claim = await teacher_claim()
    await staff_client(client, "aliya.operator")
    r = await client.get(f"/staff/documents/{claim.document_id}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline")
    assert "private" in r.headers["cache-control"] and "no-store" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"].startswith("nosniff")
    assert "sandbox" in r.headers["content-security-policy"]
    assert (await client.get(f"/staff/documents/{uuid.uuid4()}")).status_code == 404

    await post_form(client, "/staff", "/staff/logout", {})
    await staff_client(client, "dana.almaty", role="admin", department="ALA")
    other = await client.get(f"/staff/documents/{claim.document_id}")
    assert other.status_code == 404 and PDF not in other.content


async def test_another_departments_application_is_not_found(client):
    application = await adil()
    number = application.registration_number
    await staff_client(client, "dana.almaty", role="admin", department="ALA")
    assert (await client.get(f"/staff/applications/{number}")).status_code == 404
    assert (await client.get(f"/staff/applications/{number}/edit/phone1")).status_code == 404
    found = await post_form(client, "/staff", "/staff", {"query": number})
    assert f"/staff/applications/{number}" not in found.text
    by_iin = await post_form(client, "/staff", "/staff", {"query": iin("adil")})
    assert f"/staff/applications/{number}" not in by_iin.text
    edit = await client.get("/staff")
    r = await client.post(
        f"/staff/applications/{number}/edit/phone1",
        data={
            "csrf_token": csrf_from(edit.text),
            "version": str(application.version),
            "phone": "+7 701 000 1122",
        },
    )
    assert r.status_code == 404
    assert await AuditEntry.all().count() == 0
