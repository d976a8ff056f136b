"""The back-office of kindergartens, groups, seats and referrals over HTTP as plain forms
(what a browser without JavaScript sends), and the pieces htmx asks for: a kindergarten
account lands on its kindergarten, publishes and withdraws seats, enrols or records a
no-show; an admin adds and changes kindergartens and groups inline (versions, audit);
the department's referrals; the dry run; bad input answered with the form again."""

from __future__ import annotations

import re

import httpx
import pytest
from markupsafe import escape

from server.auth import staff as staff_auth
from server.auth.principal import Principal
from server.domain.places import SeatState
from server.domain.referrals import ReferralState
from server.errors import DomainError
from server.models import Application, AuditEntry, Department, Group, Kindergarten, Referral, Seat
from server.services import allocation, places, referrals
from tests.helpers import csrf_from
from tests.helpers.staff import PASSWORD, log_in, version_in

COHORT = 2022
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/staff/places"}


async def signed_in(client: httpx.AsyncClient, username: str, role: str, kindergarten: str = "") -> httpx.Response:
    await staff_auth.create(username, f"{username.title()} Staff", role, "AST", PASSWORD, kindergarten)
    await client.get("/lang/en")
    return await log_in(client, username)


async def post_form(client: httpx.AsyncClient, page_url: str, url: str, data: dict, **kwargs) -> httpx.Response:
    """Posts a form of the page at page_url, as the browser would (with its CSRF token)."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    return await client.post(url, data={"csrf_token": csrf_from(page.text), **data}, **kwargs)


def message(code: str, **params) -> str:
    """A message as the page shows it (escaped as Jinja escapes it)."""
    return str(escape(DomainError(code, **params).message("en")))


def addresses(text: str) -> list[str]:
    return re.findall(r'(?:href|action|hx-get|hx-post)="([^"]*)"', text)


@pytest.fixture
async def group(demo) -> Group:
    """A Russian 2022 group of AST-KG01 with five free places."""
    kindergarten = await Kindergarten.get(code="AST-KG01")
    return await Group.create(
        kindergarten=kindergarten,
        department_id=kindergarten.department_id,
        name="Test Ru 2022",
        cohort=COHORT,
        language="ru",
        capacity=25,
        enrolled=20,
    )


async def offered(group: Group, count: int, *, accept: bool = True) -> list[Referral]:
    """`count` seats published in the group and offered by a run, accepted by the parents."""
    department = await Department.get(id=group.department_id)
    admin = Principal(kind="staff", name="setup", department_id=department.id, role="admin", staff_id=999)
    await places.publish(places.Staff(admin), group.id, count)
    await allocation.run(department.id, COHORT)
    made = await Referral.filter(group_id=group.id, state=ReferralState.OFFERED.value).order_by("id")
    assert made, "the demo has 2022 children who chose AST-KG01"
    if accept:
        for referral in made:
            parent = Principal(kind="applicant", cabinet_ids=frozenset({referral.application_id}))
            await referrals.accept(parent, str(referral.public_id))
    return made


# --- a kindergarten's staff ---------------------------------------------------------------


async def test_a_kindergarten_account_lands_on_its_kindergarten_and_publishes_seats(client, group):
    login = await signed_in(client, "kg.one", "kindergarten", "AST-KG01")
    assert login.status_code == 303 and login.headers["location"] == "/staff/places"
    landing = await client.get("/staff/places")
    assert landing.status_code == 303 and landing.headers["location"] == "/staff/places/kindergartens/AST-KG01"
    home = "/staff/places/kindergartens/AST-KG01"
    page = await client.get(home)
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert f'id="group-{group.id}"' in page.text and "Test Ru 2022" in page.text
    # No application search for a kindergarten: not in the menu, and /staff sends it home.
    assert 'href="/staff"' not in page.text
    assert (await client.get("/staff")).headers["location"] == "/staff/places"
    assert f'action="/staff/places/groups/{group.id}/edit"' not in page.text  # an admin's form, not its own
    assert (await client.get(f"/staff/places/groups/{group.id}/edit")).status_code == 403
    # Another kindergarten's page is not its own.
    assert (await client.get("/staff/places/kindergartens/AST-KG02")).status_code == 404

    url = f"/staff/places/groups/{group.id}/publish"
    for count, code, params in [
        ("abc", "seats.count", {"max": 5}),
        ("0", "seats.count", {"max": 5}),
        ("-1", "seats.count", {"max": 5}),
        ("6", "seats.count", {"max": 5}),
        ("99999999999999", "seats.count", {"max": 5}),
        ("", "seats.count", {"max": 5}),
    ]:
        refused = await post_form(client, home, url, {"count": count})
        assert refused.status_code == 422, count
        assert message(code, **params) in refused.text
        assert f'id="group-{group.id}-publish-count" name="count" type="text" value="{escape(count)}"' in refused.text
        assert 'aria-invalid="true"' in refused.text and 'class="error-summary"' in refused.text
    assert await Seat.filter(group_id=group.id).count() == 0

    done = await post_form(client, home, url, {"count": "3"})
    assert done.status_code == 303 and done.headers["location"].startswith(f"{home}?done=published&n=3")
    after = await client.get(done.headers["location"])
    assert "3 vacant seats published" in after.text
    assert await Seat.filter(group_id=group.id, state=SeatState.OPEN.value).count() == 3
    assert await AuditEntry.filter(entity="group", entity_id=str(group.id), actor="staff:kg.one").count() == 1

    withdraw = f"/staff/places/groups/{group.id}/withdraw"
    refused = await post_form(client, home, withdraw, {"count": "4"})
    assert refused.status_code == 422 and message("seats.withdraw_count", max=3) in refused.text
    done = await post_form(client, home, withdraw, {"count": "2"})
    assert done.status_code == 303 and "done=withdrawn&n=2" in done.headers["location"]
    assert await Seat.filter(group_id=group.id, state=SeatState.OPEN.value).count() == 1
    # Another kindergarten's group: not found, nothing changes.
    other = await Group.filter(kindergarten__code="AST-KG02").first()
    refused = await post_form(client, home, f"/staff/places/groups/{other.id}/publish", {"count": "1"})
    assert refused.status_code == 404 and not await Seat.filter(group_id=other.id).exists()
    # A form without the session's token is refused.
    forged = await client.post(url, data={"count": "1"})
    assert forged.status_code == 403
    assert await Seat.filter(group_id=group.id).count() == 3


async def test_the_kindergarten_enrols_or_records_a_no_show(client, group):
    made = await offered(group, 2)
    assert len(made) == 2
    await signed_in(client, "kg.one", "kindergarten", "AST-KG01")
    home = "/staff/places/kindergartens/AST-KG01"
    page = await client.get(home)
    numbers = []
    for referral in made:
        application = await Application.get(id=referral.application_id)
        numbers.append(application.registration_number)
        assert application.registration_number in page.text  # shown to staff …
        assert f'action="/staff/places/referrals/{referral.public_id}/enrol"' in page.text
    for address in addresses(page.text):  # … never in an address
        assert not any(number in address for number in numbers), address

    first, second = made
    refused = await post_form(
        client, home, f"/staff/places/referrals/{second.public_id}/no-show", {"back": home, "reason": " "}
    )
    assert refused.status_code == 422 and message("reason.required") in refused.text
    assert f'id="ref-{second.public_id}-no-show-reason"' in refused.text and 'aria-invalid="true"' in refused.text
    assert (await Referral.get(id=second.id)).state == ReferralState.ACCEPTED

    done = await post_form(client, home, f"/staff/places/referrals/{first.public_id}/enrol", {"back": home})
    assert done.status_code == 303 and done.headers["location"] == f"{home}?done=enrolled"
    assert (await Referral.get(id=first.id)).state == ReferralState.ENROLLED
    assert (await Application.get(id=first.application_id)).state == "enrolled"
    assert "The child is enrolled" in (await client.get(done.headers["location"])).text
    again = await post_form(client, home, f"/staff/places/referrals/{first.public_id}/enrol", {"back": home})
    assert again.status_code == 422 and message("referral.move") in again.text

    done = await post_form(
        client, home, f"/staff/places/referrals/{second.public_id}/no-show", {"back": home, "reason": "did not come"}
    )
    assert done.status_code == 303
    second = await Referral.get(id=second.id)
    assert second.state == ReferralState.EXPIRED and second.reason == "did not come"
    assert (await Application.get(id=second.application_id)).state == "suspended"  # the stop-list (R30)
    rows = await AuditEntry.filter(entity="referral").order_by("id").values_list("actor", "after", "reason")
    assert rows == [("staff:kg.one", "enrolled", "enrolled"), ("staff:kg.one", "expired", "did not come")]
    # A back address that is not one of these pages goes to the list of referrals instead.
    third = (await offered(group, 1))[0]
    done = await post_form(
        client, home, f"/staff/places/referrals/{third.public_id}/enrol", {"back": "https://evil.example/"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/staff/places/referrals?done=enrolled"


async def test_another_kindergarten_cannot_move_a_referral(client, group):
    referral = (await offered(group, 1))[0]
    await signed_in(client, "kg.two", "kindergarten", "AST-KG02")
    home = "/staff/places/kindergartens/AST-KG02"
    refused = await post_form(client, home, f"/staff/places/referrals/{referral.public_id}/enrol", {"back": home})
    assert refused.status_code == 404 and message("referral.unknown") in refused.text
    assert (await Referral.get(id=referral.id)).state == ReferralState.ACCEPTED
    assert not await AuditEntry.filter(entity="referral").exists()


# --- the department admin ----------------------------------------------------------------------


async def test_an_admin_adds_and_changes_kindergartens_inline(client, demo):
    await signed_in(client, "boss", "admin")
    index = await client.get("/staff/places")
    assert index.status_code == 200 and 'id="kg-AST-KG01"' in index.text and "ALA-KG01" not in index.text
    new = {
        "code": "ast-kg20",
        "name_kk": "Жаңа",
        "name_ru": "Новый",
        "name_en": "New one",
        "address": "Astana, 1 street",
        "languages": ["kk", "ru"],
        "reason": "opened",
    }
    for change, field, code in [
        ({"name_en": "x" * 201}, "new-name_en", "name.too_long"),
        ({"name_ru": "Но\x00вый"}, "new-name_ru", "text.control"),
        ({"code": "KG20"}, "new-code", "kindergarten.code"),
        ({"languages": []}, "new-languages", "language.invalid"),
    ]:
        refused = await post_form(client, "/staff/places", "/staff/places/kindergartens", {**new, **change})
        assert refused.status_code == 422, change
        assert f'<a href="#{field}">' in refused.text, change
        assert message(code, max=200) in refused.text or message(code) in refused.text
    assert not await Kindergarten.filter(code="AST-KG20").exists()
    done = await post_form(client, "/staff/places", "/staff/places/kindergartens", new)
    assert done.status_code == 303 and done.headers["location"].startswith("/staff/places?done=created")
    made = await Kindergarten.get(code="AST-KG20")
    assert (made.name_en, made.languages, made.active) == ("New one", "kk,ru", True)
    assert await AuditEntry.filter(entity="kindergarten", entity_id="AST-KG20", reason="opened").count() == 6

    # Change it without JavaScript: the edit page, then a stale save, then a good one.
    edit = await client.get("/staff/places/kindergartens/AST-KG20/edit")
    assert edit.status_code == 200 and version_in(edit.text) == 1
    form = {k: v for k, v in new.items() if k != "code"} | {"version": "1", "active": "1", "reason": ""}
    saved = await client.post(
        "/staff/places/kindergartens/AST-KG20/edit",
        data={**form, "name_en": "Renamed", "csrf_token": csrf_from(edit.text)},
    )
    assert saved.status_code == 303 and saved.headers["location"].startswith("/staff/places?changed=AST-KG20")
    stale = await client.post(
        "/staff/places/kindergartens/AST-KG20/edit",
        data={**form, "name_en": "Other", "csrf_token": csrf_from(edit.text)},
    )
    assert stale.status_code == 409 and "Someone changed this" in stale.text
    assert 'value="Renamed"' in stale.text and version_in(stale.text) == 2  # the current values, to check
    assert (await Kindergarten.get(code="AST-KG20")).name_en == "Renamed"

    # With htmx: the form alone in place, then the kindergarten shown again.
    piece = await client.get("/staff/places/kindergartens/AST-KG20/edit", headers=HTMX)
    assert piece.status_code == 200 and "<html" not in piece.text
    assert 'hx-post="/staff/places/kindergartens/AST-KG20/edit"' in piece.text
    closed = await client.post(
        "/staff/places/kindergartens/AST-KG20/edit",
        data={**form, "name_en": "Renamed", "version": "2", "csrf_token": csrf_from(piece.text)} | {"active": ""},
        headers=HTMX,
    )
    assert closed.status_code == 200 and "<html" not in closed.text and 'id="kg-AST-KG20"' in closed.text
    assert "no, closed" in closed.text and 'role="status"' in closed.text
    assert (await Kindergarten.get(code="AST-KG20")).active is False
    refused = await client.post(
        "/staff/places/kindergartens/AST-KG20/edit",
        data={**form, "name_kk": "", "version": "3", "csrf_token": csrf_from(piece.text)},
        headers=HTMX,
    )
    assert refused.status_code == 422 and "<html" not in refused.text
    assert 'id="kg-AST-KG20-name_kk"' in refused.text and message("name.required") in refused.text
    shown = await client.get("/staff/places/kindergartens/AST-KG20/view", headers=HTMX)
    assert shown.status_code == 200 and "autofocus" in shown.text and "<html" not in shown.text
    # Another department's kindergarten is not found.
    assert (await client.get("/staff/places/kindergartens/ALA-KG01/edit")).status_code == 404
    other = await client.post(
        "/staff/places/kindergartens/ALA-KG01/edit", data={**form, "csrf_token": csrf_from(piece.text)}
    )
    assert other.status_code == 404 and (await Kindergarten.get(code="ALA-KG01")).version == 1


async def test_an_admin_adds_and_changes_groups_inline(client, group):
    await signed_in(client, "boss", "admin")
    home = "/staff/places/kindergartens/AST-KG01"
    new = {"name": "Kk 2023 B", "cohort": "2023", "language": "kk", "capacity": "20", "enrolled": "4", "reason": ""}
    ast = await Department.get(code="AST")
    year = __import__("datetime").date.today().year
    years = {"min": year - ast.max_age_years, "max": year}
    for change, field, code, params in [
        ({"cohort": "abc"}, "new-group-cohort", "group.cohort", years),
        ({"cohort": "1990"}, "new-group-cohort", "group.cohort", years),
        ({"capacity": "999999999999"}, "new-group-capacity", "group.capacity", {"max": 60}),
        ({"name": "n" * 101}, "new-group-name", "name.too_long", {"max": 100}),
        ({"name": "Test Ru 2022"}, "new-group-name", "group.exists", {}),
        ({"language": "xx"}, "new-group-language", "language.invalid", {}),
    ]:
        refused = await post_form(client, home, f"{home}/groups", {**new, **change})
        assert refused.status_code == 422, change
        assert f'<a href="#{field}">{message(code, **params)}</a>' in refused.text, (change, field)
    done = await post_form(client, home, f"{home}/groups", new)
    assert done.status_code == 303 and "done=group-created" in done.headers["location"]
    made = await Group.get(kindergarten__code="AST-KG01", name="Kk 2023 B")
    assert (made.cohort, made.language, made.capacity, made.enrolled, made.active) == (2023, "kk", 20, 4, True)

    # A group's inline edit: the form in place, saved, a stale save shows the current values.
    piece = await client.get(f"/staff/places/groups/{group.id}/edit", headers=HTMX)
    assert piece.status_code == 200 and "<html" not in piece.text and version_in(piece.text) == 1
    form = {"name": "Ru 2022 A", "cohort": "2022", "language": "ru", "capacity": "26", "enrolled": "20", "active": "1"}
    saved = await client.post(
        f"/staff/places/groups/{group.id}/edit",
        data={**form, "version": "1", "reason": "one more bed", "csrf_token": csrf_from(piece.text)},
        headers=HTMX,
    )
    assert saved.status_code == 200 and f'id="group-{group.id}"' in saved.text and "Ru 2022 A" in saved.text
    assert sorted(
        await AuditEntry.filter(entity="group", entity_id=str(group.id)).values_list("field", "after", "reason")
    ) == [("capacity", "26", "one more bed"), ("name", "Ru 2022 A", "one more bed")]
    stale = await client.post(
        f"/staff/places/groups/{group.id}/edit",
        data={**form, "capacity": "30", "version": "1", "csrf_token": csrf_from(piece.text)},
    )
    assert stale.status_code == 409 and "<html" in stale.text  # the edit page without JavaScript
    assert 'value="26"' in stale.text and version_in(stale.text) == 2
    assert (await Group.get(id=group.id)).capacity == 26
    edit = await client.get(f"/staff/places/groups/{group.id}/edit")
    assert edit.status_code == 200 and "<html" in edit.text
    done = await client.post(
        f"/staff/places/groups/{group.id}/edit",
        data={**form, "enrolled": "21", "version": "2", "csrf_token": csrf_from(edit.text)},
    )
    assert done.status_code == 303 and done.headers["location"] == f"{home}?changed=group-{group.id}#group-{group.id}"
    assert (await Group.get(id=group.id)).enrolled == 21
    view = await client.get(f"/staff/places/groups/{group.id}/view")
    assert view.status_code == 303  # a plain request goes to the kindergarten's page
    # Another department's group is not found.
    other = await Group.filter(kindergarten__code="ALA-KG01").first()
    assert (await client.get(f"/staff/places/groups/{other.id}/edit")).status_code == 404
    refused = await client.post(
        f"/staff/places/groups/{other.id}/edit", data={**form, "version": "1", "csrf_token": csrf_from(edit.text)}
    )
    assert refused.status_code == 404 and (await Group.get(id=other.id)).version == 1
    assert (await client.get("/staff/places/groups/99999999999999/edit")).status_code == 404


async def test_an_operator_reads_but_does_not_manage(client, group):
    await signed_in(client, "olga", "operator")
    index = await client.get("/staff/places")
    assert index.status_code == 200 and 'action="/staff/places/kindergartens"' not in index.text
    assert (await client.get("/staff/places/kindergartens/AST-KG01/edit")).status_code == 403
    page = await client.get("/staff/places/kindergartens/AST-KG01")
    assert f'action="/staff/places/groups/{group.id}/publish"' not in page.text
    refused = await post_form(
        client, "/staff/places", "/staff/places/kindergartens/AST-KG01/edit", {"name_en": "x", "version": "1"}
    )
    assert refused.status_code == 403 and (await Kindergarten.get(code="AST-KG01")).version == 1
    refused = await post_form(client, "/staff/places", f"/staff/places/groups/{group.id}/publish", {"count": "1"})
    assert refused.status_code == 403 and message("auth.required") in refused.text
    assert not await Seat.filter(group_id=group.id).exists()


# --- the department's referrals ----------------------------------------------------------------


async def test_the_department_cancels_and_confirms_referrals(client, group):
    made = await offered(group, 2, accept=False)
    first, second = made
    second.confirm_by = second.accept_by
    await second.save()
    await signed_in(client, "olga", "operator")
    page = await client.get("/staff/places/referrals")
    assert page.status_code == 200
    assert f'action="/staff/places/referrals/{first.public_id}/cancel"' in page.text
    assert f"/staff/places/referrals/{second.public_id}/confirm-benefit" not in page.text  # a verifier's
    assert f"/staff/places/referrals/{first.public_id}/enrol" not in page.text  # the kindergarten's
    back = "/staff/places/referrals?state=open"
    refused = await post_form(
        client, back, f"/staff/places/referrals/{first.public_id}/cancel", {"back": back, "reason": ""}
    )
    assert refused.status_code == 422 and message("reason.required") in refused.text
    done = await post_form(
        client, back, f"/staff/places/referrals/{first.public_id}/cancel", {"back": back, "reason": "wrong group"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"{back}&done=cancelled"
    assert (await Referral.get(id=first.id)).state == ReferralState.CANCELLED
    assert (await Application.get(id=first.application_id)).state == "queued"  # back in the queue
    # Filters: a state, a kindergarten; a wrong one is said so.
    cancelled = await client.get("/staff/places/referrals?state=cancelled")
    assert f"ref-{first.public_id}" in cancelled.text and f"ref-{second.public_id}" not in cancelled.text
    wrong = await client.get("/staff/places/referrals?state=lost")
    assert wrong.status_code == 422 and message("filter.state") in wrong.text
    wrong = await client.get("/staff/places/referrals?kindergarten=%00")
    assert wrong.status_code == 422
    wrong = await client.get("/staff/places/referrals?after=abc")
    assert wrong.status_code == 422

    await client.post("/staff/logout", data={"csrf_token": csrf_from(cancelled.text)})
    await signed_in(client, "vera", "verifier")
    page = await client.get("/staff/places/referrals")
    assert f'action="/staff/places/referrals/{second.public_id}/confirm-benefit"' in page.text
    done = await post_form(
        client,
        "/staff/places/referrals",
        f"/staff/places/referrals/{second.public_id}/confirm-benefit",
        {"back": "/staff/places/referrals"},
    )
    assert done.status_code == 303 and (await Referral.get(id=second.id)).benefit_confirmed_at is not None
    assert "confirm-benefit" not in (await client.get("/staff/places/referrals")).text


# --- the dry run -------------------------------------------------------------------------------


async def test_the_dry_run_shows_who_would_get_seats_and_writes_nothing(client, group):
    await signed_in(client, "boss", "admin")
    start = await client.get("/staff/places/dry-run")
    assert start.status_code == 200 and f'value="{COHORT}"' in start.text
    chosen = await client.get(f"/staff/places/dry-run?cohort={COHORT}")
    assert f'name="seats-{group.id}"' in chosen.text
    before = (await Seat.all().count(), await Referral.all().count(), await AuditEntry.all().count())
    answer = await post_form(
        client,
        f"/staff/places/dry-run?cohort={COHORT}",
        "/staff/places/dry-run",
        {"cohort": str(COHORT), f"seats-{group.id}": "2"},
    )
    assert answer.status_code == 200
    expected = await allocation.plan(group.department_id, COHORT, [(group, 2)])
    assert expected
    for p in expected:
        number = (await Application.get(id=p.application_id)).registration_number
        assert number in answer.text
    assert (await Seat.all().count(), await Referral.all().count(), await AuditEntry.all().count()) == before
    for raw, code, params in [
        ("abc", "seats.number", {}),
        ("-2", "seats.count", {"max": 5}),
        ("9", "seats.count", {"max": 5}),
    ]:
        refused = await post_form(
            client,
            f"/staff/places/dry-run?cohort={COHORT}",
            "/staff/places/dry-run",
            {"cohort": str(COHORT), f"seats-{group.id}": raw},
        )
        assert refused.status_code == 422 and message(code, **params) in refused.text, raw
        assert f'<a href="#seats-{group.id}">' in refused.text
    wrong = await client.get("/staff/places/dry-run?cohort=1990")
    assert wrong.status_code == 422 and message("dry_run.cohort_list") in wrong.text
    assert (await Seat.all().count(), await Referral.all().count(), await AuditEntry.all().count()) == before


async def test_the_pages_ask_to_log_in(client, demo):
    for url in (
        "/staff/places",
        "/staff/places/kindergartens/AST-KG01",
        "/staff/places/referrals",
        "/staff/places/dry-run",
    ):
        answer = await client.get(url)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/staff/login?next=/staff/places")
    piece = await client.get("/staff/places/groups/1/edit", headers=HTMX)
    assert piece.headers.get("HX-Redirect", "").startswith("/staff/login")
