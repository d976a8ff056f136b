"""An offered place in the parent's cabinet, in Chromium on a phone-sized screen, with
JavaScript (htmx boosts the forms) and without it (plain forms): the offer's card with
its deadline and reason; with JavaScript the parent accepts it, asks for an extension
with a wrong number of days and then a right one; without it the parent opens the
decline page, goes back, then declines and sees the stop-list, the closed offer and the
seats offered to others. axe-core runs on every page and every error state.

A kindergarten publishes one seat before each walk (in a separate process against the
server's database, as the back-office and the worker would) and the allocation offers
it to the first child of the 2022 Astana queue who chose that kindergarten.

Controls are found by what the markup means (form actions, ids, hrefs), not by text."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from server.config import ROOT
from tests.helpers.browser import Parent, new_phone, switch_language

pytestmark = pytest.mark.browser

# Run with the server's environment: one seat published in a Russian 2022 group of
# AST-KG01, the cohort allocated; prints who was offered it (its applicant logs in).
OFFER = """
import asyncio, json
from server.cli import _with_runtime

async def act():
    from server.auth.principal import Principal
    from server.models import Application, Contact, Department, Group, Kindergarten, Referral
    from server.services import allocation, places

    ast = await Department.get(code="AST")
    kindergarten = await Kindergarten.get(code="AST-KG01")
    group, _ = await Group.get_or_create(
        kindergarten=kindergarten, name="Offers 2022",
        defaults={"department_id": ast.id, "cohort": 2022, "language": "ru", "capacity": 25, "enrolled": 10},
    )
    known = set(await Referral.filter(group_id=group.id).values_list("id", flat=True))
    staff = places.Staff(Principal(kind="staff", name="browser-test", department_id=ast.id,
                                   role="kindergarten", staff_id=1, kindergarten_id=kindergarten.id))
    await places.publish(staff, group.id, 1)
    for _ in range(100):  # the worker may run the allocation first: either one offers it
        await allocation.run_until_settled(ast.id, 2022)
        fresh = [r for r in await Referral.filter(group_id=group.id).order_by("-id") if r.id not in known]
        if fresh:
            break
        await asyncio.sleep(0.1)
    referral = fresh[0]
    application = await Application.get(id=referral.application_id)
    phone = await Contact.filter(application=application, kind="phone", confirmed_at__not_isnull=True).order_by("rank").first()
    return {"referral": str(referral.public_id), "number": application.registration_number,
            "applicant_iin": application.applicant_iin, "phone": phone.value}

print(json.dumps(asyncio.run(_with_runtime(act))))
"""


def publish_and_allocate(server) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", OFFER], env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def log_in(me: Parent, offered: dict) -> str:
    """The cabinet's log-in with the applicant's IIN and a code from the outbox; returns the
    application's page."""
    page = me.page
    me.goto("/cabinet/login")
    me.check("/cabinet/login")
    login = "form[action='/cabinet/login']"
    page.fill(f"{login} input[name=applicant_iin]", offered["applicant_iin"])
    page.fill(f"{login} input[name=phone]", offered["phone"])
    me.submit(f"{login} button[type=submit]")
    me.check("/cabinet/login/code")
    page.fill("form[action='/cabinet/login/code'] input[name=code]", me.read_code(offered["phone"]))
    me.submit("form[action='/cabinet/login/code'] button[type=submit]")
    me.check("/cabinet")
    home = f"/cabinet/{offered['number']}"
    me.follow(f"main a[href='{home}']")
    return home


@pytest.mark.parametrize(
    ("javascript", "lang"), [(True, "ru"), (False, "kk")], ids=["javascript-ru", "no-javascript-kk"]
)
def test_an_offer_in_the_cabinet(server, browser, javascript, lang):
    offered = publish_and_allocate(server)
    context = new_phone(browser, javascript=javascript)
    addresses: list[str] = []
    context.on("request", lambda request: addresses.append(request.url))
    try:
        me = Parent(server, context, javascript=javascript, lang=lang)
        page = me.page
        me.goto("/")
        if lang != "kk":
            switch_language(page, lang)
        home = log_in(me, offered)
        referral = f"{home}/referrals/{offered['referral']}"

        # The card: where, which group, until when (in days and as a date), and why.
        me.check(home, f"{home}, an offer")
        card = page.locator("#offer")
        expect(card).to_be_visible()
        expect(page.locator("#offer-kindergarten")).to_contain_text("AST-KG01")
        expect(page.locator("#offer-deadline strong")).to_have_text(re.compile(r"\d+"))
        expect(page.locator("#offer-reason")).to_contain_text("AST-KG01")
        expect(page.locator("#offer-decline-cost")).to_be_visible()

        if javascript:
            me.submit(f"#offer form[action='{referral}/accept'] button[type=submit]")
            me.check(home, f"{home}, accepted")
            expect(page.locator("main .notice")).to_be_visible()
            expect(page.locator("#offer-bring li")).to_have_count(4)
            before = page.locator("#offer-deadline").inner_text()

            me.follow(f"#offer-extend[href='{referral}/extend']")
            me.check(f"{referral}/extend", "/cabinet/…/referrals/…/extend")
            form = f"form[action='{referral}/extend']"
            page.fill(f"{form} input[name=days]", "abc")
            me.submit(f"{form} button[type=submit]")
            me.error_summary_focused()
            assert page.locator("#days").get_attribute("aria-invalid") == "true"
            me.check(f"{referral}/extend", "/cabinet/…/referrals/…/extend, not a number")
            page.fill(f"{form} input[name=days]", "7")
            me.submit(f"{form} button[type=submit]")
            me.check(home, f"{home}, extended")
            expect(page.locator("#offer-extended")).to_be_visible()
            expect(page.locator("#offer-extend")).to_have_count(0)
            assert page.locator("#offer-deadline").inner_text() != before
        else:
            # Declining is asked first, with what it costs; going back changes nothing.
            me.follow(f"#offer-decline[href='{referral}/decline']")
            me.check(f"{referral}/decline", "/cabinet/…/referrals/…/decline")
            expect(page.locator("#decline-cost")).to_be_visible()
            me.follow(f"main form + p a[href='{home}']")
            me.check(home, f"{home}, back from declining")
            expect(page.locator("#offer")).to_be_visible()
            me.follow(f"#offer-decline[href='{referral}/decline']")
            me.submit(f"form[action='{referral}/decline'] button[type=submit]")
            me.check(home, f"{home}, declined")
            expect(page.locator("main .notice")).to_be_visible()
            expect(page.locator("#offer")).to_have_count(0)
            expect(page.locator("#past-offers li")).to_have_count(1)
            # Suspended, the application waits again: the seats offered to others, and why.
            expect(page.locator("#passed-over")).to_be_visible()

        me.submit("form[action='/cabinet/logout'] button[type=submit]")
        me.check("/cabinet/login", "/cabinet/login, signed out")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
    assert addresses and not [a for a in addresses if offered["applicant_iin"] in a]
