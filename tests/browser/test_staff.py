"""The staff back-office in Chromium on a desktop screen, with JavaScript (htmx edits a
value in place) and without it (the plain edit page): a member of staff created with
`kezek staff create` logs in, finds a demo application by the child's IIN, corrects
phone 1, and sees the new value and the audit row. axe-core runs before the edit, on
the form, on its error state and after saving.

Controls are found by what the markup means (form actions, names, ids), not by text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from server.config import ROOT
from server.demo_data import BY_KEY
from tests.helpers.browser import check_axe, submit_and_wait

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "a long staff password 42"
USERNAME = "aigul.operator"


@pytest.fixture(scope="module")
def staff_member(server) -> str:
    out = server.cli(
        "staff",
        "create",
        USERNAME,
        "--role",
        "operator",
        "--department",
        "AST",
        "--name",
        "Aigul Operator",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert USERNAME in out
    return USERNAME


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

    def settled(self) -> None:
        if self.javascript:
            self.page.wait_for_function(
                "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
            )

    def check(self, what: str) -> None:
        self.settled()
        check_axe(self.page, self.javascript, what)

    def submit(self, selector: str) -> None:
        submit_and_wait(self.page, self.javascript, selector)


@pytest.mark.parametrize(("javascript", "child"), [(True, "adil"), (False, "q1c")], ids=["javascript", "no-javascript"])
def test_staff_corrects_a_phone_inline(server, browser, staff_member, javascript, child):
    context = new_desktop(browser, javascript)
    try:
        me = Staff(server, context, javascript)
        page = me.page
        page.goto(server.url("/staff"))
        assert me.path() == "/staff/login"  # not logged in yet
        me.check("/staff/login")
        me.submit("form[action='/staff/login'] button[type=submit]")  # nothing filled in
        expect(page.locator(".error-summary")).to_be_focused()
        me.check("/staff/login, empty form")
        page.fill("form[action='/staff/login'] input[name=username]", staff_member)
        page.fill("form[action='/staff/login'] input[name=password]", PASSWORD)
        me.submit("form[action='/staff/login'] button[type=submit]")
        assert me.path() == "/staff"
        expect(page.locator("header form[action='/staff/logout'] button")).to_be_visible()
        me.check("/staff")

        # The IIN is POSTed: it never shows in the address.
        page.fill("form[action='/staff'] input[name=query]", BY_KEY[child].iin)
        me.submit("form[action='/staff'] button[type=submit]")
        assert me.path() == "/staff" and BY_KEY[child].iin not in page.url
        results = page.locator("main table a[href^='/staff/applications/']")
        expect(results).to_have_count(1)
        number = results.first.inner_text()
        me.check("/staff, search results")
        me.submit("main table a[href^='/staff/applications/']")
        application = f"/staff/applications/{number}"
        assert me.path() == application
        expect(page.locator("main")).to_contain_text(BY_KEY[child].iin)  # staff see IINs
        me.check(f"{application}, before the edit")

        if javascript:
            # A full navigation would lose this mark; an htmx swap keeps it.
            page.evaluate("window.kezekMark = 'same document'")
        group = page.locator("#group-phone1")
        change = group.locator("a.change")
        if javascript:
            change.click()
            expect(group.locator("form")).to_be_visible()
            assert me.path() == application
            expect(group.locator("h3")).to_be_focused()
        else:
            with page.expect_navigation():
                change.click()
            assert me.path() == f"{application}/edit/phone1"
        form = page.locator("form[action$='/edit/phone1']")
        me.check("the phone 1 form")

        # A mistake: the error summary takes focus, the field says what is wrong.
        form.locator("input[name=phone]").fill("12345")
        if javascript:
            form.locator("button[type=submit]").click()
            expect(page.locator("#group-phone1 .error-summary")).to_be_focused()
            assert me.path() == application
        else:
            me.submit("form[action$='/edit/phone1'] button[type=submit]")
            expect(page.locator(".error-summary")).to_be_focused()
        expect(page.locator("#phone1")).to_have_attribute("aria-invalid", "true")
        me.check("the phone 1 form, invalid number")

        new_phone = "+7 701 246 80 13" if javascript else "8 707 246 80 14"
        shown = "+7 701 246 8013" if javascript else "+7 707 246 8014"
        reason = f"The parent called ({'JavaScript' if javascript else 'no JavaScript'})"
        form = page.locator("form[action$='/edit/phone1']")
        form.locator("input[name=phone]").fill(new_phone)
        form.locator("textarea[name=reason]").fill(reason)
        if javascript:
            form.locator("button[type=submit]").click()
            expect(page.locator("#group-phone1 form")).to_have_count(0)
            expect(page.locator("#group-phone1 dd")).to_have_text(shown)
            expect(page.locator("#group-phone1 .notice")).to_be_focused()
            assert me.path() == application
            assert page.evaluate("window.kezekMark") == "same document"
        else:
            me.submit("form[action$='/edit/phone1'] button[type=submit]")
            assert me.path() == application
            expect(page.locator("#group-phone1 dd")).to_have_text(shown)
        row = page.locator("#history tbody tr").filter(has_text=reason)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(staff_member)
        expect(row).to_contain_text(shown)
        me.check(f"{application}, after saving")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_cancel_returns_to_the_value(server, browser, staff_member, javascript):
    """Cancel leaves the value as it was: in place with htmx, back to the page without."""
    context = new_desktop(browser, javascript)
    try:
        me = Staff(server, context, javascript)
        page = me.page
        page.goto(server.url("/staff/login"))
        page.fill("input[name=username]", staff_member)
        page.fill("input[name=password]", PASSWORD)
        me.submit("form[action='/staff/login'] button[type=submit]")
        number = page.locator("main table a[href^='/staff/applications/']").first.inner_text()
        application = f"/staff/applications/{number}"
        page.goto(server.url(application))
        before = page.locator("#group-email dd").inner_text()
        if javascript:
            page.locator("#group-email a.change").click()
            expect(page.locator("#group-email form")).to_be_visible()
            page.locator("#group-email a.cancel").click()
            expect(page.locator("#group-email form")).to_have_count(0)
            expect(page.locator("#group-email a.change")).to_be_focused()
        else:
            with page.expect_navigation():
                page.locator("#group-email a.change").click()
            with page.expect_navigation():
                page.locator("a.cancel").click()
        assert me.path() == application
        expect(page.locator("#group-email dd")).to_have_text(before)
        me.check(f"{application}, after cancel")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()


# A parent's pending document claim, made through the services against the browser
# test server's database (the parent's own pages belong to the journey tests).
_PENDING_CLAIM = """
import asyncio, sys
from datetime import date, timedelta
from server.cli import _with_runtime

async def main():
    from server.auth.principal import Principal
    from server.demo_data import BY_KEY
    from server.services import benefits, registration, submission
    parent, child, category, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    who = Principal(kind="integrator", name="browser-test", scopes=frozenset({"applications:submit"}))
    application = await submission.submit(who, submission.SubmitInput(
        department_code="AST", applicant_iin=BY_KEY[parent].iin, child_iin=BY_KEY[child].iin,
        phones=[f"+7701888{n:04d}", f"+7707888{n:04d}"], email=None, kindergarten_codes=["AST-KG04"],
        any_kindergarten=False, group_language="kk", desired_start=(date.today() + timedelta(days=90)).isoformat(),
        notify_channel="sms", notify_language="kk",
    ), f"browser-claim-{n}")
    await registration.register(application.id)
    await application.refresh_from_db()
    pdf = b"%PDF-1.4\\n1 0 obj<<>>endobj\\ntrailer<<>>\\n%%EOF\\n"
    claim = await benefits.store_claim(application, category, "certificate.pdf", pdf, "applicant:browser-test")
    return f"{application.registration_number} {claim.id}"

print(asyncio.run(_with_runtime(main)))
"""


def pending_claim(server, parent: str, child: str, category: str, n: int) -> tuple[str, str]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PENDING_CLAIM, parent, child, category, str(n)],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    number, claim = done.stdout.split()
    return number, claim


@pytest.fixture(scope="module")
def verifier(server) -> str:
    server.cli(
        "staff",
        "create",
        "bota.verifier",
        "--role",
        "verifier",
        "--department",
        "AST",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    return "bota.verifier"


@pytest.mark.parametrize(
    ("javascript", "parent", "child", "category", "n"),
    [(True, "ainur", "kamila", "TEACHER_PARENT", 1), (False, "daulet", "ali", "MILITARY", 2)],
    ids=["javascript", "no-javascript"],
)
def test_verifier_views_the_scan_and_decides(server, browser, verifier, javascript, parent, child, category, n):
    number, claim = pending_claim(server, parent, child, category, n)
    context = new_desktop(browser, javascript)
    try:
        me = Staff(server, context, javascript)
        page = me.page
        page.goto(server.url("/staff/verification"))
        assert me.path() == "/staff/login"
        page.fill("input[name=username]", verifier)
        page.fill("input[name=password]", PASSWORD)
        me.submit("form[action='/staff/login'] button[type=submit]")
        assert me.path() == "/staff/verification"  # back where the verifier was going
        card = page.locator(f"#claim-{claim}")
        expect(card).to_be_visible()
        me.check("/staff/verification")

        scan = card.locator("a[href^='/staff/documents/']")
        document = context.request.get(server.url(scan.get_attribute("href")))
        assert document.status == 200 and document.headers["content-type"] == "application/pdf"
        assert document.body().startswith(b"%PDF")

        # The application page shows the claim with its forms.
        me.submit(f"#claim-{claim} a[href='/staff/applications/{number}']")
        assert me.path() == f"/staff/applications/{number}"
        expect(page.locator(f"#claim-{claim} form[action$='/decide']")).to_have_count(2)
        me.check(f"/staff/applications/{number}, a pending claim")

        # A rejection needs a reason the parent can read.
        me.submit(f"#claim-{claim} form:has(input[name=decision][value=reject]) button[type=submit]")
        expect(page.locator(".error-summary")).to_be_focused()
        expect(page.locator(f"#claim-{claim}-reason")).to_have_attribute("aria-invalid", "true")
        me.check(f"/staff/applications/{number}, a rejection without a reason")

        page.goto(server.url("/staff/verification"))
        me.submit(f"#claim-{claim} form:has(input[name=decision][value=confirm]) button[type=submit]")
        assert me.path() == "/staff/verification"
        expect(page.locator(f"#claim-{claim}")).to_have_count(0)
        expect(page.locator("main .notice[role=status]").first).to_be_visible()
        me.check("/staff/verification, after confirming")

        page.goto(server.url(f"/staff/applications/{number}"))
        row = page.locator("#history tbody tr").filter(has_text=f"{category}")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(verifier)
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
