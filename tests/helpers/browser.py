"""Playwright helpers shared by the browser tests: a phone-sized browser context, a
parent walking the pages, a submit that waits for the next page with or without
JavaScript, and axe-core run on every page (also on one with JavaScript off).

Controls are found by what the markup means (form actions, names, values,
hreflang), not by their text: the pages are translated."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

STATUS_WAIT = 2  # seconds the server holds the no-JavaScript "registering…" page
PHONE = {"width": 360, "height": 740}

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
