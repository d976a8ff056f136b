"""The whole parent journey in Chromium on a phone-sized screen, with JavaScript
(htmx boosts the forms and polls the status) and without it (plain forms and a
meta refresh), with axe-core run on every page and every error state.

Controls are found by what the markup means (form actions, names, values,
hreflang), not by their text: the pages are translated."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from server.demo_data import BY_KEY
from tests.helpers.browser import STATUS_WAIT, Parent, axe_results, isolated_world, new_phone, switch_language

pytestmark = pytest.mark.browser

REGISTRATION_NUMBER = re.compile(r"^AST-\d{4}-\d{6}$")
QUEUE_NUMBER = re.compile(r"^\d+$")


@contextlib.contextmanager
def worker_paused(server) -> Iterator[None]:
    """Holds the job worker still, so that the page shows 'registering…' for sure."""
    pid = server.worker.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def walk_to_summary(me: Parent, applicant: str, child: str, phone1: str, phone2: str, email: str) -> None:
    page = me.page
    me.goto("/")
    if me.lang != "kk":
        me.check("/", f"/ (Kazakh, before switching to {me.lang})", lang="kk")
        switch_language(page, me.lang)
    me.check("/")
    me.follow("main a.button[href='/apply']")
    me.check("/apply/start")

    start = "form[action='/apply/start']"
    me.submit(f"{start} button[type=submit]")  # nothing filled in
    me.error_summary_focused()
    me.check("/apply/start", "/apply/start, empty form")

    page.locator(f"{start} select[name=department]").select_option("AST")
    page.fill(f"{start} input[name=applicant_iin]", BY_KEY[applicant].iin)
    page.fill(f"{start} input[name=phone]", phone1)
    me.submit(f"{start} button[type=submit]")
    me.check("/apply/phone/1")
    me.confirm_phone(1, phone1, wrong_first=True)

    me.check("/apply/contacts")
    page.fill("form[action='/apply/contacts'] input[name=phone2]", phone2)
    page.fill("form[action='/apply/contacts'] input[name=email]", email)
    me.submit("form[action='/apply/contacts'] button[type=submit]")
    me.check("/apply/phone/2")
    me.confirm_phone(2, phone2, wrong_first=False)

    me.check("/apply/child")
    page.fill("form[action='/apply/child'] input[name=child_iin]", BY_KEY[child].iin)
    me.submit("form[action='/apply/child'] button[value=find]")
    me.check("/apply/child", "/apply/child, found")
    expect(page.locator(".card")).to_contain_text(f"{BY_KEY[child].surname} {BY_KEY[child].given_name}")
    me.submit("form[action='/apply/child'] button[value=continue]")

    me.check("/apply/preferences")
    prefs = "form[action='/apply/preferences']"
    page.locator(f"{prefs} select[name=choice1]").select_option(index=3)
    page.locator(f"{prefs} select[name=choice2]").select_option(index=1)
    page.locator(f"{prefs} input[name=group_language][value={me.lang}]").check()
    page.fill(f"{prefs} input[name=desired_start]", "2027-09-01")
    me.submit(f"{prefs} button[type=submit]")

    me.check("/apply/benefits")
    me.submit("form[action='/apply/benefits'] button[value=continue]")

    me.check("/apply/notifications")
    page.locator("input[name=channel][value=both]").check()
    page.locator(f"input[name=language][value={me.lang}]").check()
    me.submit("form[action='/apply/notifications'] button[type=submit]")
    me.check("/apply/summary")


def confirm_and_wait(me: Parent, server, *, audit_waiting: bool = True) -> tuple[str, str]:
    page = me.page
    with worker_paused(server):
        me.submit("form[action='/apply/summary'] button[type=submit]")
        if audit_waiting:
            expect(page.locator("#status")).to_be_visible()
            expect(page.locator("#status .big")).to_have_count(0)  # still registering
            me.check("/apply/status", "/apply/status, registering")
    # Nobody touches the page now: it must update itself.
    numbers = page.locator("#status .big")
    expect(numbers.first).to_have_text(REGISTRATION_NUMBER, timeout=20_000)
    expect(numbers.nth(1)).to_have_text(QUEUE_NUMBER)
    me.check("/apply/status", "/apply/status, registered")
    return numbers.first.inner_text(), numbers.nth(1).inner_text()


JOURNEYS = [
    # JavaScript on, in Russian; and off, in Kazakh (its 'registering…' page is checked
    # by test_registering_page_without_javascript).
    pytest.param(True, "ru", "aigerim", "dana", "+77011112233", "+77074445566", id="javascript-ru"),
    pytest.param(False, "kk", "marat", "alikhan", "+77011119988", "+77074447788", id="no-javascript-kk"),
]


@pytest.mark.parametrize(("javascript", "lang", "applicant", "child", "phone1", "phone2"), JOURNEYS)
def test_whole_journey(server, browser, javascript, lang, applicant, child, phone1, phone2):
    context = new_phone(browser, javascript=javascript)
    try:
        me = Parent(server, context, javascript=javascript, lang=lang)
        walk_to_summary(me, applicant, child, phone1, phone2, f"{applicant}@example.kz")
        registration, queue = confirm_and_wait(me, server, audit_waiting=javascript)
        assert registration.startswith("AST-") and int(queue) > 0
        expect(me.page.locator("#status")).to_contain_text(BY_KEY[child].given_name)
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()


def test_registering_page_without_javascript(server, browser):
    """The 'registering…' state without JavaScript, held for sure by pausing the worker."""
    context = new_phone(browser, javascript=False)
    try:
        me = Parent(server, context, javascript=False, lang="kk")
        walk_to_summary(me, "gulnara", "yerasyl", "+77011115544", "+77074441122", "gulnara@example.kz")
        # The page asks again at once each time the server has held it; stop those
        # reloads (as a dropped connection would) so the shown document holds still.
        reloads: list[str] = []

        def drop(route) -> None:
            reloads.append(route.request.url)
            route.fulfill(status=204)  # a 204 leaves the current page as it is

        with worker_paused(server):
            me.submit("form[action='/apply/summary'] button[type=submit]")
            assert urlsplit(me.page.url).path == "/apply/status"
            me.page.route("**/apply/status", drop)
            me.page.wait_for_timeout(int(STATUS_WAIT * 1000) + 1500)
            assert reloads, "the registering page did not reload itself"
            with isolated_world(me.page) as evaluate:
                assert evaluate("location.pathname") == "/apply/status"
                assert evaluate("document.querySelectorAll('#status h1').length") == 1
                assert evaluate("document.querySelectorAll('#status .big').length") == 0  # still registering
                assert evaluate("document.querySelector('meta[http-equiv=refresh]').content") == "0"
            results = axe_results(me.page, javascript=False)
        me.page.unroute("**/apply/status")
        me.page.goto(server.url("/apply/status"))
        expect(me.page.locator("#status .big").first).to_have_text(REGISTRATION_NUMBER, timeout=20_000)
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
    assert results.violations_count == 0, (
        f"axe on /apply/status, registering (no JavaScript):\n{results.generate_report()}"
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_error_summary_takes_focus(server, browser, javascript):
    context = new_phone(browser, javascript=javascript)
    try:
        me = Parent(server, context, javascript=javascript, lang="kk")
        me.goto("/apply/start")
        me.page.locator("form[action='/apply/start'] input[name=phone]").focus()
        me.submit("form[action='/apply/start'] button[type=submit]")
        me.error_summary_focused()
        # Its links lead to the fields that need fixing.
        assert me.page.locator(".error-summary a").count() >= 1
        me.check("/apply/start", "/apply/start, empty form")
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_public_lookup_of_a_queued_child(server, browser, javascript):
    """R23, R24: anyone with the child's IIN sees the place, without logging in."""
    context = new_phone(browser, javascript=javascript)
    try:
        me = Parent(server, context, javascript=javascript, lang="kk")
        me.goto("/")
        me.follow("main a[href='/queue']")
        me.check("/queue", "/queue, the form")
        me.submit("form[action='/queue'] button[type=submit]")
        me.error_summary_focused()
        me.check("/queue", "/queue, no IIN given")
        me.page.locator("input[name=child_iin]").fill(BY_KEY["adil"].iin)
        me.submit("form[action='/queue'] button[type=submit]")
        expect(me.page.locator("main .card .big")).to_have_text(QUEUE_NUMBER)
        assert BY_KEY["adil"].iin not in me.page.url and BY_KEY["adil"].iin not in me.page.content()
        me.check("/queue", "/queue, the child's place")
        assert me.problems == [], "\n".join(me.problems)
    finally:
        context.close()
