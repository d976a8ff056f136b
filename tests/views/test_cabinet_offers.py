"""The parent's answer to an offered place in the cabinet, over HTTP as plain forms (what a
phone without JavaScript sends): the offer's card, accepting it, the one extension (R28),
declining with and without the stop-list (R27, R30), the history of closed offers, the
seats offered recently to others and why, and every wrong or foreign request refused with
a clear message and nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from babel.dates import format_date

from server.auth.principal import Principal
from server.domain.referrals import ReferralState
from server.domain.states import State
from server.models import (
    Application,
    ApplicationEvent,
    Contact,
    Department,
    Group,
    Kindergarten,
    Preference,
    Referral,
    Seat,
)
from server.services import allocation, places
from tests.helpers import csrf_from, last_code, post

COHORT = 2022  # the demo's 2022 Astana children asked for Russian groups


def kindergarten_staff(department: Department, kindergarten: Kindergarten) -> Principal:
    return Principal(
        kind="staff",
        name="kg",
        department_id=department.id,
        role="kindergarten",
        staff_id=1,
        kindergarten_id=kindergarten.id,
    )


async def offer(code: str = "AST-KG01", *, after_window: bool = False) -> Referral:
    """One seat in a new Russian 2022 group of `code`, published by its kindergarten and
    allocated: in the priority window it goes to the first child who chose `code`, after
    it (`after_window`) to the first child of the cohort in queue order."""
    ast = await Department.get(code="AST")
    kindergarten = await Kindergarten.get(code=code)
    group = await Group.create(
        kindergarten=kindergarten,
        department_id=ast.id,
        name="Ромашка",
        cohort=COHORT,
        language="ru",
        capacity=25,
        enrolled=20,
    )
    await places.publish(places.Staff(kindergarten_staff(ast, kindergarten)), group.id, 1)
    if after_window:
        await Seat.filter(group_id=group.id).update(chosen_until=date.today() - timedelta(days=1))
    run = await allocation.run(ast.id, COHORT)
    assert len(run.offered) == 1, run
    return await Referral.get(group_id=group.id)


async def waiting() -> list[Application]:
    """The demo's Russian 2022 Astana applications in the queue, in queue order."""
    rows = await Application.filter(
        department__code="AST", cohort=COHORT, group_language="ru", state=State.QUEUED.value
    ).prefetch_related("queue_entry")
    return sorted(rows, key=lambda a: a.queue_entry.number)


async def choices(application: Application) -> list[str]:
    return list(
        await Preference.filter(application=application).order_by("rank").values_list("kindergarten__code", flat=True)
    )


async def unlisted() -> str:
    """An Astana kindergarten no 2022 child listed."""
    listed = set(
        await Preference.filter(application__cohort=COHORT, application__department__code="AST").values_list(
            "kindergarten__code", flat=True
        )
    )
    codes = await Kindergarten.filter(department__code="AST").order_by("code").values_list("code", flat=True)
    return next(c for c in codes if c not in listed)


async def log_in_as(client: httpx.AsyncClient, application: Application) -> None:
    """The cabinet's log-in of the application's applicant, with its first confirmed phone."""
    phone = (
        await Contact.filter(application=application, kind="phone", confirmed_at__not_isnull=True)
        .order_by("rank")
        .first()
    )
    assert phone is not None
    r = await post(client, "/cabinet/login", {"applicant_iin": application.applicant_iin, "phone": phone.value})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet/login/code"
    r = await post(client, "/cabinet/login/code", {"code": await last_code(phone.value)})
    assert r.status_code == 303 and r.headers["location"] == "/cabinet", r.text


async def offered_and_logged_in(client: httpx.AsyncClient, **kwargs) -> tuple[Referral, Application, str]:
    """An offer made, its parent logged in: the referral, the application, the referral's address."""
    referral = await offer(**kwargs)
    application = await Application.get(id=referral.application_id)
    await log_in_as(client, application)
    return referral, application, f"/cabinet/{application.registration_number}/referrals/{referral.public_id}"


def long_date(day: date) -> str:
    return format_date(day, "EEEE, d MMMM y", locale="en")


@pytest.fixture
async def parent(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await client.get("/lang/en?next=/")
    return client


async def test_the_offer_card_says_where_when_and_why(parent):
    referral, application, base = await offered_and_logged_in(parent)
    assert referral.window == "chosen" and referral.rank is not None
    page = await parent.get(f"/cabinet/{application.registration_number}")
    assert page.status_code == 200 and page.headers["cache-control"].startswith("private, no-store")
    html = page.text
    kindergarten = await Kindergarten.get(code="AST-KG01")
    assert "A place is offered to your child" in html
    assert f"{kindergarten.name('en')} (AST-KG01)" in html and "Ромашка" in html
    assert '<dd id="offer-language">Russian</dd>' in html
    assert re.search(r"<strong>\d+ days? left</strong>", html)
    assert long_date(referral.accept_by) in html
    assert f"first in the 2022 queue who chose AST-KG01 (choice {referral.rank}) in Russian" in html
    assert f'action="{base}/accept"' in html and f'href="{base}/decline"' in html
    assert "declining puts the application on the stop list for 10 days" in html
    assert "a place has been offered" in html  # the status


async def test_accept_then_extend_once(parent):
    referral, application, base = await offered_and_logged_in(parent)
    number = application.registration_number
    r = await post(parent, f"{base}/accept", {}, form_url=f"/cabinet/{number}")
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=accepted"
    referral = await Referral.get(id=referral.id)
    assert referral.state == ReferralState.ACCEPTED and referral.present_by is not None
    page = await parent.get(r.headers["location"])
    assert "You accepted the place" in page.text and "Your referral to a kindergarten" in page.text
    assert long_date(referral.present_by) in page.text
    assert "What to bring" in page.text and number in page.text
    assert f'href="{base}/extend"' in page.text and "by up to 30 days" in page.text
    # Accepting again is refused on the page, nothing changes.
    r = await parent.post(f"{base}/accept", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "This is not possible in the referral&#39;s present state." in r.text
    assert (await Referral.get(id=referral.id)).version == referral.version

    form = await parent.get(f"{base}/extend")
    assert form.status_code == 200 and 'name="days"' in form.text and "1 to 30 calendar days" in form.text
    for bad in ("abc", "999", "0", "31", "-3", "", "1.5", "99999999999999999999", "\uff17"):
        r = await parent.post(f"{base}/extend", data={"csrf_token": csrf_from(form.text), "days": bad})
        assert r.status_code == 422, (bad, r.status_code)
        assert "An extension is 1 to 30 days." in r.text and 'href="#days"' in r.text, bad
        assert 'aria-invalid="true"' in r.text
        again = await Referral.get(id=referral.id)
        assert (again.state, again.present_by, again.version) == (
            ReferralState.ACCEPTED,
            referral.present_by,
            referral.version,
        ), bad
    r = await parent.post(f"{base}/extend", data={"csrf_token": csrf_from(form.text), "days": " 7 "})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=extended"
    extended = await Referral.get(id=referral.id)
    assert extended.state == ReferralState.EXTENDED and extended.present_by == referral.present_by + timedelta(days=7)
    page = await parent.get(r.headers["location"])
    assert "The deadline to present the referral is moved." in page.text
    assert long_date(extended.present_by) in page.text
    assert "it cannot be moved again" in page.text and f'href="{base}/extend"' not in page.text

    # A second extension is refused, clearly, and changes nothing.
    form = await parent.get(f"{base}/extend")
    assert form.status_code == 200 and 'name="days"' not in form.text
    r = await parent.post(f"{base}/extend", data={"csrf_token": csrf_from(form.text), "days": "3"})
    assert r.status_code == 422
    assert "This referral has already been extended once: it cannot be extended again." in r.text
    assert 'href="#days"' not in r.text  # no field to correct
    after = await Referral.get(id=referral.id)
    assert (after.present_by, after.version) == (extended.present_by, extended.version)
    kinds = await ApplicationEvent.filter(application_id=application.id).values_list("kind", flat=True)
    assert kinds.count("referral_extend") == 1 and kinds.count("referral_accept") == 1


async def test_declining_an_offer_the_parent_chose_costs_the_stop_list(parent):
    referral, application, base = await offered_and_logged_in(parent)
    number = application.registration_number
    page = await parent.get(f"{base}/decline")
    assert page.status_code == 200
    assert "Declining costs the stop list" in page.text and "suspended for 10 days" in page.text
    assert (await Referral.get(id=referral.id)).state == ReferralState.OFFERED  # asking changes nothing
    r = await parent.post(f"{base}/decline", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=declined_stoplist"
    assert (await Referral.get(id=referral.id)).state == ReferralState.DECLINED
    suspended = await Application.get(id=application.id)
    assert suspended.state == State.SUSPENDED and suspended.suspended_until is not None
    page = await parent.get(r.headers["location"])
    assert "The application is suspended (stop list)" in page.text
    assert "Earlier offers" in page.text and "declined by you" in page.text and "you declined it" in page.text
    assert 'id="offer"' not in page.text
    # The confirmation page of a closed offer leads back to the application.
    again = await parent.get(f"{base}/decline")
    assert again.status_code == 303 and again.headers["location"] == f"/cabinet/{number}"


async def test_declining_an_unlisted_offer_after_the_window_costs_nothing(parent):
    code, first = await unlisted(), (await waiting())[0]
    referral, application, base = await offered_and_logged_in(parent, code=code, after_window=True)
    assert referral.rank is None and referral.window == "open"
    assert application.id == first.id  # the first in queue order
    number = application.registration_number
    page = await parent.get(f"/cabinet/{number}")
    assert "You did not choose this kindergarten: declining costs nothing" in page.text
    assert "may decline it without losing the place" in page.text  # the reason of the offer
    r = await post(parent, f"{base}/decline", {})
    assert r.status_code == 303 and r.headers["location"] == f"/cabinet/{number}?done=declined"
    back = await Application.get(id=application.id)
    assert back.state == State.QUEUED and back.suspended_until is None
    assert (await Referral.get(id=referral.id)).state == ReferralState.DECLINED
    page = await parent.get(r.headers["location"])
    assert "The application keeps its place in the queue." in page.text


async def test_a_late_answer_is_refused(parent):
    referral, application, base = await offered_and_logged_in(parent)
    await Referral.filter(id=referral.id).update(accept_by=date.today() - timedelta(days=1))
    page = await parent.get(f"/cabinet/{application.registration_number}")
    assert "The time to answer is over" in page.text and f"{base}/accept" not in page.text
    r = await parent.post(f"{base}/accept", data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 422 and "The deadline of this referral has passed" in r.text
    assert 'class="error-summary"' in r.text
    assert (await Referral.get(id=referral.id)).state == ReferralState.OFFERED


async def test_another_parent_cannot_act_on_an_offer(parent):
    theirs = await offer()
    other = await Application.get(id=theirs.application_id)
    mine = next(a for a in await waiting() if a.applicant_iin != other.applicant_iin)
    await log_in_as(parent, mine)
    page = await parent.get("/cabinet")
    token = csrf_from(page.text)
    for url in (
        f"/cabinet/{other.registration_number}/referrals/{theirs.public_id}/accept",
        f"/cabinet/{other.registration_number}/referrals/{theirs.public_id}/decline",
        f"/cabinet/{mine.registration_number}/referrals/{theirs.public_id}/accept",
        f"/cabinet/{mine.registration_number}/referrals/{theirs.public_id}/decline",
        f"/cabinet/{mine.registration_number}/referrals/{theirs.public_id}/extend",
        f"/cabinet/{mine.registration_number}/referrals/not-a-referral/decline",
        f"/cabinet/{mine.registration_number}/referrals/00000000-0000-0000-0000-000000000000/accept",
    ):
        r = await parent.post(url, data={"csrf_token": token, "days": "5"})
        assert r.status_code == 404, (url, r.status_code)
        assert "Page not found" in r.text
        assert (await parent.get(url)).status_code in (404, 405), url
    after = await Referral.get(id=theirs.id)
    assert after.state == ReferralState.OFFERED and after.version == theirs.version
    assert (await Application.get(id=other.id)).state == State.OFFERED


async def test_forms_need_a_login_and_a_token(parent):
    referral = await offer()
    application = await Application.get(id=referral.application_id)
    base = f"/cabinet/{application.registration_number}/referrals/{referral.public_id}"
    for url in (f"{base}/accept", f"{base}/decline", f"{base}/extend"):
        r = await parent.post(url, data={})
        assert r.status_code == 303 and r.headers["location"] == "/cabinet/login", url
    await log_in_as(parent, application)
    for url in (f"{base}/accept", f"{base}/decline"):
        r = await parent.post(url, data={})
        assert r.status_code == 403, url
    assert (await Referral.get(id=referral.id)).state == ReferralState.OFFERED


async def test_with_htmx_the_same_forms_work(parent):
    referral, application, base = await offered_and_logged_in(parent)
    htmx = {"HX-Request": "true", "HX-Boosted": "true"}
    page = await parent.get(f"/cabinet/{application.registration_number}", headers=htmx)
    assert page.status_code == 200 and "A place is offered to your child" in page.text
    r = await parent.post(f"{base}/accept", data={"csrf_token": csrf_from(page.text)}, headers=htmx)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=accepted")
    assert (await Referral.get(id=referral.id)).state == ReferralState.ACCEPTED


async def test_a_parent_passed_over_sees_why(parent):
    queue = await waiting()
    first, behind = queue[0], queue[1]
    assert "AST-KG01" in await choices(first) and (await choices(behind))[0] == "AST-KG01", "the demo changed"
    theirs = await offer()  # the first who chose AST-KG01 gets it: `behind` chose it first too
    assert theirs.application_id == first.id
    elsewhere = await unlisted()
    await log_in_as(parent, behind)
    page = await parent.get(f"/cabinet/{behind.registration_number}")
    assert page.status_code == 200
    assert "Seats offered recently in your cohort, and why not to you" in page.text
    assert f"number {theirs.queue_number} at the offer" in page.text
    assert (
        f"The child at number {theirs.queue_number} stood ahead of you (you were number {behind.queue_entry.number}) "
        "and chose this kindergarten; you listed it as choice 1." in page.text
    )
    # The offered child's name and registration number are not shown.
    assert first.registration_number not in page.text
    # A seat of a kindergarten nobody listed, after the window, went to the first in the queue too.
    await Referral.filter(id=theirs.id).update(state="declined", open_application=None, open_seat=None)
    await Application.filter(id=first.id).update(state=State.QUEUED.value)
    await offer(elsewhere, after_window=True)
    page = await parent.get(f"/cabinet/{behind.registration_number}")
    assert "After the priority window the seat went on down the queue in order" in page.text


async def test_a_kindergarten_not_listed_is_said_so(parent):
    lists = [(a, await choices(a)) for a in await waiting()]
    chooser = next((a for a, listed in lists if "AST-KG03" in listed), None)
    other = next((a for a, listed in lists if "AST-KG03" not in listed), None)
    assert chooser and other, "the demo changed"
    await offer("AST-KG03")
    await log_in_as(parent, other)
    page = await parent.get(f"/cabinet/{other.registration_number}")
    assert "You did not list AST-KG03: in the priority window its seats go only to children" in page.text


async def test_nothing_offered_says_so_and_the_page_stays_small(parent):
    application = (await waiting())[0]
    await log_in_as(parent, application)
    page = await parent.get(f"/cabinet/{application.registration_number}", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert "No seat has been offered to children born in 2022 in the last 30 days." in page.text
    assert 'id="offer"' not in page.text and "Earlier offers" not in page.text
    assert page.num_bytes_downloaded <= 8 * 1024


async def test_an_old_offer_is_not_listed_as_recent(parent):
    theirs = await offer()
    await Referral.filter(id=theirs.id).update(offered_at=datetime.now(UTC) - timedelta(days=31))
    other = next(a for a in await waiting() if a.id != theirs.application_id)
    await log_in_as(parent, other)
    page = await parent.get(f"/cabinet/{other.registration_number}")
    assert "No seat has been offered to children born in 2022 in the last 30 days." in page.text
