"""The back-office of kindergartens, groups, seats and referrals in Chromium, with
JavaScript (htmx edits a group in place, forms are boosted) and without it (plain
forms and pages): the department admin adds two groups to a kindergarten and asks the
dry run who would get a seat; the kindergarten's staff log in and land on their
kindergarten, publish seats (a mistake first) and withdraw one, see the offer appear
after the worker's allocation run, and enrol the child once the parent has accepted.
axe-core runs on every page and state on the way, at zero violations.

Controls are found by what the markup means (form actions, names, ids), not by text."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from server.config import ROOT
from tests.helpers.browser import check_axe, submit_and_wait

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a long places password 7"
ADMIN = "places.admin"
COHORT = "2022"  # the demo's 2022 Astana children asked for Russian groups


@pytest.fixture(scope="module")
def accounts(server) -> dict[str, str]:
    """The department admin, and the staff of AST-KG01 and AST-KG03."""
    server.cli(
        "staff", "create", ADMIN, "--role", "admin", "--department", "AST", "--password-stdin", stdin=PASSWORD + "\n"
    )
    made = {}
    for code in ("AST-KG01", "AST-KG03"):
        username = f"staff.{code.lower()}"
        server.cli(
            "staff",
            "create",
            username,
            "--role",
            "kindergarten",
            "--kindergarten",
            code,
            "--name",
            f"Staff of {code}",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        made[code] = username
    return made


def new_desktop(browser: Browser, javascript: bool) -> BrowserContext:
    context = browser.new_context(java_script_enabled=javascript, viewport=DESKTOP)
    context.set_default_timeout(10_000)
    return context


class Staff:
    """One member of staff in one browser context."""

    def __init__(self, server, context: BrowserContext, javascript: bool) -> None:
        self.server = server
        self.javascript = javascript
        self.problems: list[str] = []
        self.page = context.new_page()
        # 409 and 422 answers are expected; anything else in the console is not.
        self.page.on(
            "console",
            lambda m: (
                m.type == "error" and not re.search(r"status of 4(09|22)", m.text) and self.problems.append(m.text)
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def path(self) -> str:
        return urlsplit(self.page.url).path

    def check(self, what: str) -> None:
        if self.javascript:
            self.page.wait_for_function(
                "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
            )
        check_axe(self.page, self.javascript, what)

    def submit(self, selector: str) -> None:
        submit_and_wait(self.page, self.javascript, selector)

    def log_in(self, username: str) -> None:
        self.page.goto(self.server.url("/staff/login"))
        self.page.fill("form[action='/staff/login'] input[name=username]", username)
        self.page.fill("form[action='/staff/login'] input[name=password]", PASSWORD)
        self.submit("form[action='/staff/login'] button[type=submit]")


# The parent accepts the offer through the referral service, as the cabinet's Accept does,
# against the browser test server's database (the cabinet's pages have their own tests).
_ACCEPT = """
import asyncio, sys
from server.cli import _with_runtime

async def main():
    from server.auth.principal import Principal
    from server.models import Referral
    from server.services import referrals
    for public_id in sys.argv[1:]:
        referral = await Referral.get(public_id=public_id)
        parent = Principal(kind="applicant", cabinet_ids=frozenset({referral.application_id}))
        await referrals.accept(parent, public_id)
    return "accepted"

print(asyncio.run(_with_runtime(main)))
"""


def parent_accepts(server, referral_ids: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _ACCEPT, *referral_ids],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "accepted" in done.stdout, done.stderr


def add_group(me: Staff, kindergarten: str, name: str, cohort: str, language: str, capacity: str, enrolled: str) -> str:
    """The admin adds a group on the kindergarten's page; returns its id."""
    page = me.page
    form = f"form[action='/staff/places/kindergartens/{kindergarten}/groups']"
    page.fill(f"{form} input[name=name]", name)
    page.fill(f"{form} input[name=cohort]", cohort)
    page.select_option(f"{form} select[name=language]", language)
    page.fill(f"{form} input[name=capacity]", capacity)
    page.fill(f"{form} input[name=enrolled]", enrolled)
    me.submit(f"{form} button[type=submit]")
    assert me.path() == f"/staff/places/kindergartens/{kindergarten}"
    card = page.locator("li.group").filter(has=page.locator("h3", has_text=name))
    expect(card).to_have_count(1)
    return (card.get_attribute("id") or "").removeprefix("group-")


@pytest.mark.parametrize(
    ("javascript", "kindergarten"), [(True, "AST-KG01"), (False, "AST-KG03")], ids=["javascript", "no-javascript"]
)
def test_kindergarten_staff_publish_seats_and_enrol_the_child_offered(
    server, browser, accounts, javascript, kindergarten
):
    home = f"/staff/places/kindergartens/{kindergarten}"
    tag = "js" if javascript else "plain"
    offer_group_name, spare_group_name = f"Browser {tag} {COHORT}", f"Browser {tag} spare"

    # --- the department admin: two groups, one changed in place, and the dry run ---------
    context = new_desktop(browser, javascript)
    try:
        admin = Staff(server, context, javascript)
        page = admin.page
        admin.log_in(ADMIN)
        assert admin.path() == "/staff"
        admin.submit("nav.staff-nav a[href='/staff/places']")
        assert admin.path() == "/staff/places"
        expect(page.locator(f"#kg-{kindergarten}")).to_be_visible()
        admin.check("/staff/places")
        admin.submit(f"#kg-{kindergarten} h3 a")
        assert admin.path() == home
        admin.check(f"{home}, as the admin")

        # A group of the cohort the demo children wait in, with one free place; and a
        # spare group nobody asked for ("other" language), to publish and withdraw in.
        offer_group = add_group(admin, kindergarten, offer_group_name, COHORT, "ru", "22", "22")
        spare_group = add_group(admin, kindergarten, spare_group_name, "2021", "other", "20", "15")
        admin.check(f"{home}, groups added")

        # The offer group is full: the admin changes its capacity (in place with htmx).
        card = f"#group-{offer_group}"
        if javascript:
            page.evaluate("window.kezekMark = 'same document'")
            page.locator(f"{card} a.change").click()
            expect(page.locator(f"{card} form[action$='/edit']")).to_be_visible()
            expect(page.locator(f"{card} h3")).to_be_focused()
            assert admin.path() == home
        else:
            with page.expect_navigation():
                page.locator(f"{card} a.change").click()
            assert admin.path() == f"/staff/places/groups/{offer_group}/edit"
        form = f"form[action='/staff/places/groups/{offer_group}/edit']"
        admin.check("the group's form")
        page.fill(f"{form} input[name=capacity]", "nope")
        if javascript:
            page.locator(f"{form} button[type=submit]").click()
            expect(page.locator(f"{card} .error-summary")).to_be_focused()
        else:
            admin.submit(f"{form} button[type=submit]")
            expect(page.locator(".error-summary")).to_be_focused()
        expect(page.locator(f"#group-{offer_group}-capacity")).to_have_attribute("aria-invalid", "true")
        admin.check("the group's form, a wrong capacity")
        page.fill(f"{form} input[name=capacity]", "23")
        page.fill(f"{form} textarea[name=reason]", "one more bed")
        if javascript:
            page.locator(f"{form} button[type=submit]").click()
            expect(page.locator(f"{card} {form}")).to_have_count(0)
            expect(page.locator(f"{card} .notice")).to_be_focused()
            assert page.evaluate("window.kezekMark") == "same document"
        else:
            admin.submit(f"{form} button[type=submit]")
            assert admin.path() == home
        expect(page.locator(card)).to_contain_text("23")
        admin.check(f"{home}, the group changed")

        # The dry run: who would get a seat of the offer group now; nothing is written.
        admin.submit("nav.staff-nav a[href='/staff/places/dry-run']")
        assert admin.path() == "/staff/places/dry-run"
        admin.check("/staff/places/dry-run")
        page.select_option("form[action='/staff/places/dry-run'][method=get] select[name=cohort]", COHORT)
        admin.submit("form[action='/staff/places/dry-run'][method=get] button[type=submit]")
        page.fill(f"input[name=seats-{offer_group}]", "1")
        admin.submit("form[action='/staff/places/dry-run'][method=post] button[type=submit]")
        rows = page.locator("section[aria-labelledby=h-result] tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(kindergarten)
        would_get = rows.first.locator("td").first.inner_text()
        admin.check("/staff/places/dry-run, the answer")
        assert admin.problems == [], "\n".join(admin.problems)
    finally:
        context.close()

    # --- the kindergarten's staff: publish, withdraw, see the offer, enrol ---------------
    context = new_desktop(browser, javascript)
    try:
        me = Staff(server, context, javascript)
        page = me.page
        me.log_in(accounts[kindergarten])
        assert me.path() == home  # a kindergarten's staff land on their kindergarten
        expect(page.locator("nav.staff-nav a[href='/staff']")).to_have_count(0)  # no application search
        me.check(f"{home}, as its staff")

        # Two seats in the spare group (a mistake first), one taken back.
        publish = f"form[action='/staff/places/groups/{spare_group}/publish']"
        page.fill(f"{publish} input[name=count]", "two")
        me.submit(f"{publish} button[type=submit]")
        expect(page.locator(".error-summary")).to_be_focused()
        expect(page.locator(f"#group-{spare_group}-publish-count")).to_have_attribute("aria-invalid", "true")
        me.check(f"{home}, a wrong number of seats")
        page.fill(f"{publish} input[name=count]", "2")
        me.submit(f"{publish} button[type=submit]")
        expect(page.locator("main .notice[role=status]")).to_be_visible()
        me.check(f"{home}, seats published")
        withdraw = f"form[action='/staff/places/groups/{spare_group}/withdraw']"
        page.fill(f"{withdraw} input[name=count]", "1")
        me.submit(f"{withdraw} button[type=submit]")
        expect(page.locator(f"#group-{spare_group} dd").nth(4)).to_have_text("1")  # published, still open
        me.check(f"{home}, a seat withdrawn")

        # The one free place of the offer group: the worker's allocation run offers it.
        publish = f"form[action='/staff/places/groups/{offer_group}/publish']"
        page.fill(f"{publish} input[name=count]", "1")
        me.submit(f"{publish} button[type=submit]")
        row = page.locator("section[aria-labelledby=h-referrals] tbody tr").filter(has_text=offer_group_name)
        deadline = time.monotonic() + 30
        while row.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            page.reload()
        expect(row).to_have_count(1)
        expect(row).to_contain_text(would_get)  # whom the dry run said
        expect(row.locator("form[action$='/enrol']")).to_have_count(0)  # not accepted yet
        me.check(f"{home}, the offer made")
        referral_id = (row.get_attribute("id") or "").removeprefix("ref-")
        assert re.fullmatch(r"[0-9a-f-]{36}", referral_id), referral_id
        assert would_get not in page.url

        # The parent accepts; the child comes with the referral and is enrolled.
        parent_accepts(server, [referral_id])
        page.reload()
        enrol = f"form[action='/staff/places/referrals/{referral_id}/enrol'] button[type=submit]"
        expect(page.locator(enrol)).to_be_visible()
        me.check(f"{home}, the referral accepted")
        me.submit(enrol)
        assert me.path() == home
        expect(page.locator("main .notice[role=status]")).to_be_visible()
        expect(page.locator(f"#ref-{referral_id}")).to_have_count(0)  # no longer open
        expect(page.locator(f"#group-{offer_group}")).to_contain_text("23")
        me.check(f"{home}, the child enrolled")

        # The kindergarten's referrals, closed ones too: the enrolment is there.
        page.goto(server.url("/staff/places/referrals?state=enrolled"))
        expect(page.locator(f"#ref-{referral_id}")).to_be_visible()
        me.check("/staff/places/referrals, enrolled")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
