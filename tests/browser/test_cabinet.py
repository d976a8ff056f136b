"""The parent's cabinet in Chromium on a phone-sized screen, with JavaScript (htmx
boosts the forms) and without it (plain forms): log in with the IIN and a code from
the development outbox, see the application and its queue number, add a phone and
confirm it, remove an old one, claim a benefit with a scan, and axe-core on every page
and every error state. Controls are found by what the markup means, not by their text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from server.demo_data import BY_KEY
from tests.helpers import PDF
from tests.helpers.browser import Parent, new_phone, switch_language

pytestmark = pytest.mark.browser

REGISTRATION_NUMBER = re.compile(r"^[A-Z]{3}-\d{4}-\d{6}$")
QUEUE_NUMBER = re.compile(r"^\d+$")

CABINETS = [
    # Seeded applications (server.seed: the n-th of demo_data.QUEUED has phones
    # +7701555{2n} and +7707555{2n+1}); each run adds its own new phone.
    pytest.param(True, "ru", "asel", "adil", ("+77015550000", "+77075550001"), "+77017771100", id="javascript-ru"),
    pytest.param(False, "kk", "q1p", "q1c", ("+77015550004", "+77075550005"), "+77017771122", id="no-javascript-kk"),
]


def spaced(e164: str) -> str:
    """+77015550000 as the pages show it: +7 701 555 0000."""
    return f"{e164[:2]} {e164[2:5]} {e164[5:8]} {e164[8:]}"


@pytest.mark.parametrize(("javascript", "lang", "applicant", "child", "phones", "new_number"), CABINETS)
def test_cabinet(server, browser, javascript, lang, applicant, child, phones, new_number):
    context = new_phone(browser, javascript=javascript)
    addresses: list[str] = []
    context.on("request", lambda request: addresses.append(request.url))
    try:
        me = Parent(server, context, javascript=javascript, lang=lang)
        page = me.page
        me.goto("/")
        if lang != "kk":
            switch_language(page, lang)
        me.check("/")

        # Not logged in: the cabinet asks who you are.
        me.follow("main a[href='/cabinet']")
        me.check("/cabinet/login")
        login = "form[action='/cabinet/login']"
        me.submit(f"{login} button[type=submit]")  # nothing filled in
        me.error_summary_focused()
        me.check("/cabinet/login", "/cabinet/login, empty form")
        page.fill(f"{login} input[name=applicant_iin]", BY_KEY[applicant].iin)
        page.fill(f"{login} input[name=phone]", phones[0])
        me.submit(f"{login} button[type=submit]")
        me.check("/cabinet/login/code")

        code = me.read_code(phones[0])
        form = "form[action='/cabinet/login/code']"
        page.fill(f"{form} input[name=code]", f"{(int(code) + 1) % 1_000_000:06d}")
        me.submit(f"{form} button[type=submit]")
        me.error_summary_focused()
        assert page.locator("#code").get_attribute("aria-invalid") == "true"
        me.check("/cabinet/login/code", "/cabinet/login/code, wrong code")
        page.fill(f"{form} input[name=code]", code)
        me.submit(f"{form} button[type=submit]")

        # The applications, with the queue number.
        me.check("/cabinet")
        card = page.locator("main .card").filter(has_text=BY_KEY[child].given_name)
        expect(card.locator(".queue-number")).to_have_text(QUEUE_NUMBER)
        queue_number = card.locator(".queue-number").inner_text()
        me.follow(f"main .card:has-text('{BY_KEY[child].given_name}') h2 a")
        expect(page.locator("#registration-number")).to_have_text(REGISTRATION_NUMBER)
        number = page.locator("#registration-number").inner_text()
        home = f"/cabinet/{number}"
        me.check(home)
        expect(page.locator("#queue-number")).to_have_text(queue_number)
        expect(page.locator("#phones li")).to_have_count(2)

        # Two phones: removing one is refused, clearly.
        me.follow(f"main a[href='{home}/phones']")
        me.check(f"{home}/phones")
        remove_first = f"form:has(input[name=phone][value='{spaced(phones[0])}']) button[value=remove]"
        me.submit(remove_first)
        me.error_summary_focused()
        me.check(f"{home}/phones", f"{home}/phones, refused: two phones remain")
        expect(page.locator("main .phones li")).to_have_count(2)

        # A third phone, confirmed by its own code.
        page.fill("input[name=phone]:not([type=hidden])", new_number)
        me.submit("button[value=add]")
        me.check(f"{home}/phones/code")
        page.fill("input[name=code]", me.read_code(new_number))
        me.submit(f"form[action='{home}/phones/code'] button[type=submit]")
        me.check(home, f"{home}, phone added")
        expect(page.locator("main .notice")).to_be_visible()
        expect(page.locator("#phones li")).to_have_count(3)

        # Now the old one can go.
        me.follow(f"main a[href='{home}/phones']")
        me.submit(remove_first)
        me.check(home, f"{home}, phone removed")
        expect(page.locator("#phones li")).to_have_count(2)
        expect(page.locator("#phones")).not_to_contain_text(spaced(phones[0]))
        expect(page.locator("#phones")).to_contain_text(spaced(new_number))

        # Messages: an email channel without an address is refused, then a language is chosen.
        me.follow(f"main a[href='{home}/notifications']")
        me.check(f"{home}/notifications")
        page.locator("input[name=channel][value=email]").check()
        me.submit(f"form[action='{home}/notifications'] button[type=submit]")
        me.error_summary_focused()
        me.check(f"{home}/notifications", f"{home}/notifications, no email")
        me.follow(f"main a[href='{home}/email']")
        me.check(f"{home}/email")
        page.fill("input[name=email]", f"{applicant}@example.kz")
        me.submit(f"form[action='{home}/email'] button[type=submit]")
        me.check(home, f"{home}, email saved")
        me.follow(f"main a[href='{home}/notifications']")
        page.locator("input[name=channel][value=both]").check()
        page.locator("input[name=language][value=en]").check()
        me.submit(f"form[action='{home}/notifications'] button[type=submit]")
        me.check(home, f"{home}, messages saved")
        expect(page.locator("#notifications [lang=en]")).to_be_visible()

        # A benefit claimed with a scan (a multipart form), then the withdrawal is asked for.
        me.follow(f"main a[href='{home}/benefits']")
        me.check(f"{home}/benefits")
        claim = f"form[action='{home}/benefits']"
        me.submit(f"{claim} button[type=submit]")  # nothing chosen
        me.error_summary_focused()
        me.check(f"{home}/benefits", f"{home}/benefits, nothing chosen")
        page.locator(f"{claim} input[name=category][value=TEACHER_PARENT]").check()
        page.set_input_files(
            f"{claim} input[name=document]",
            files=[{"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": PDF}],
        )
        me.submit(f"{claim} button[type=submit]")
        me.check(home, f"{home}, benefit claimed")
        expect(page.locator("#benefits li")).to_have_count(1)
        me.follow(f"main a[href='{home}/benefits']")
        me.follow(f"main a[href^='{home}/benefits/'][href$='/withdraw']")
        me.check(urlsplit(page.url).path, f"{home}/benefits/…/withdraw")
        me.follow(f"main form + p a[href='{home}/benefits']")  # no, keep it
        me.check(f"{home}/benefits", f"{home}/benefits, with a claim")

        # What withdrawing the application means, asked before (not done here).
        me.follow(f"main a[href='{home}']")
        me.follow(f"main a[href='{home}/withdraw']")
        me.check(f"{home}/withdraw")
        me.follow(f"main form + p a[href='{home}']")  # no, keep it
        expect(page.locator("#queue-number")).to_have_text(QUEUE_NUMBER)

        me.submit("form[action='/cabinet/logout'] button[type=submit]")
        me.check("/cabinet/login", "/cabinet/login, signed out")
        me.goto(home)
        me.check("/cabinet/login", "/cabinet/login, after signing out")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
    iins = [p.iin for p in BY_KEY.values()]
    assert addresses and not [a for a in addresses if any(i in a for i in iins)]
