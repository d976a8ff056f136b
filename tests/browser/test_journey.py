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
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from server.demo_data import BY_KEY
from tests.browser.conftest import STATUS_WAIT

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
REGISTRATION_NUMBER = re.compile(r"^AST-\d{4}-\d{6}$")
QUEUE_NUMBER = re.compile(r"^\d+$")

# Without JavaScript, Playwright's page.evaluate (and so Axe().run) never returns,
# and timers do not fire in any world. axe-core runs instead in an isolated world of
# the page (those still work), with timers that resolve as microtasks: the audit is
# of the very document a phone without JavaScript shows.
_TIMERS = """
window.setTimeout = (f, ms, ...a) => { Promise.resolve().then(() => f(...a)); return 1; };
window.clearTimeout = () => {};
window.requestAnimationFrame = (f) => { Promise.resolve().then(() => f(performance.now())); return 1; };
window.cancelAnimationFrame = () => {};
window.requestIdleCallback = (f) => { Promise.resolve().then(() => f({timeRemaining: () => 50, didTimeout: false})); return 1; };
true
"""


@contextlib.contextmanager
def isolated_world(page: Page):
    """Evaluates in a separate script world over CDP: works on a page with JavaScript
    off, and on the current document while a reload is still on its way."""
    cdp = page.context.new_cdp_session(page)
    try:
        frame_id = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
        context_id = cdp.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": "axe"})[
            "executionContextId"
        ]

        def evaluate(expression: str, wait: bool = False):
            answer = cdp.send(
                "Runtime.evaluate",
                {
                    "expression": expression,
                    "contextId": context_id,
                    "returnByValue": True,
                    "awaitPromise": wait,
                },
            )
            assert "exceptionDetails" not in answer, answer["exceptionDetails"]
            return answer["result"].get("value")

        yield evaluate
    finally:
        cdp.detach()


def axe_results(page: Page, javascript: bool) -> AxeResults:
    axe = Axe()
    if javascript:
        return axe.run(page)
    with isolated_world(page) as evaluate:
        evaluate(_TIMERS)
        evaluate(axe.axe_script)
        return AxeResults(
            evaluate(
                f"axe.run({axe._format_script_args(context=None, options={'resultTypes': ['violations']})})", wait=True
            )
        )


def check_axe(page: Page, javascript: bool, what: str = "") -> None:
    results = axe_results(page, javascript)
    label = f"{what or urlsplit(page.url).path} ({'JavaScript' if javascript else 'no JavaScript'})"
    assert results.violations_count == 0, f"axe on {label}:\n{results.generate_report()}"


def submit_and_wait(page: Page, javascript: bool, selector: str) -> None:
    """Presses a submit button (or follows a link) and waits for the next page: a
    navigation without JavaScript, an htmx swap of the body with it."""
    if javascript:
        page.evaluate("document.getElementById('main').dataset.stale = '1'")
        page.locator(selector).click()
        page.wait_for_function(
            "() => !document.querySelector('main[data-stale]')"
            " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        )
    else:
        with page.expect_navigation():
            page.locator(selector).click()


def switch_language(page: Page, lang: str) -> None:
    with page.expect_navigation():  # the language links are not boosted
        page.locator(f"nav.langs a[hreflang={lang}]").click()


def new_phone(browser: Browser, javascript: bool) -> BrowserContext:
    context = browser.new_context(java_script_enabled=javascript, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    return context


@dataclass
class Parent:
    """One person walking the journey in one browser context."""

    server: object
    context: BrowserContext
    javascript: bool
    lang: str
    audited: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems: list[str] = []  # console errors (CSP refusals among them) and uncaught exceptions
        self.context.on("page", self._watch)
        self.page = self.context.new_page()

    def _watch(self, page: Page) -> None:
        def console(message) -> None:
            # A 422 answer to a form with mistakes is expected; anything else is not.
            if message.type == "error" and "status of 422" not in message.text:
                self.problems.append(f"console {message.type}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    # -- looking at pages ---------------------------------------------------------
    def check(self, path: str, what: str = "", lang: str = "") -> None:
        """Where we are, in which language, htmx or not, and axe."""
        page = self.page
        if self.javascript:
            page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
        assert urlsplit(page.url).path == path, f"expected {path}, at {page.url}\n{self.server.log_tail()}"
        assert page.locator("html").get_attribute("lang") == (lang or self.lang)
        if self.javascript:
            assert page.evaluate("typeof htmx") == "object", "htmx did not load"
        check_axe(page, self.javascript, what)
        self.audited.append(what or path)

    def error_summary_focused(self) -> None:
        summary = self.page.locator(".error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_be_focused()

    # -- acting -------------------------------------------------------------------
    def goto(self, path: str) -> None:
        self.page.goto(self.server.url(path))

    def submit(self, button: str) -> None:
        submit_and_wait(self.page, self.javascript, button)

    follow = submit

    def read_code(self, phone: str) -> str:
        """Opens the development outbox in a second tab, as a parent reads an SMS."""
        outbox = self.context.new_page()
        try:
            outbox.goto(self.server.url("/dev/outbox"))
            row = outbox.locator(".outbox li").filter(has_text=phone).first
            body = row.locator(".body").inner_text()
            assert outbox.locator("html").get_attribute("lang") == self.lang
            check_axe(outbox, self.javascript, "/dev/outbox")
            self.audited.append("/dev/outbox")
        finally:
            outbox.close()
        match = re.search(r"\b(\d{6})\b", body)
        assert match, body
        return match.group(1)

    def confirm_phone(self, rank: int, phone: str, *, wrong_first: bool) -> None:
        code = self.read_code(phone)
        form = f"form[action='/apply/phone/{rank}']"
        if wrong_first:
            self.page.fill(f"{form} input[name=code]", f"{(int(code) + 1) % 1_000_000:06d}")
            self.submit(f"{form} button[value=confirm]")
            self.error_summary_focused()
            assert self.page.locator("#code").get_attribute("aria-invalid") == "true"
            self.check(f"/apply/phone/{rank}", f"/apply/phone/{rank}, wrong code")
        self.page.fill(f"{form} input[name=code]", code)
        self.submit(f"{form} button[value=confirm]")


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
