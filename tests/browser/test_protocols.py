"""The public protocols (R25, R32) in Chromium on a phone-sized screen, with JavaScript
(htmx boosts the GET form and the links) and without it: from the home page to the
vacant places of a department, on to its issued referrals, a filter that cannot be
right, and the CSV download. axe-core runs on every page and on the error state.

A kindergarten publishes seats and the allocation runs before the browsers come (in a
separate process against the server's database, as the worker would): the seats left
open are on the vacancy page, the offers on the referrals page.

Controls are found by what the markup means (form actions, names, hrefs), not by text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from server.config import ROOT
from tests.helpers.browser import check_axe, new_phone, submit_and_wait

pytestmark = pytest.mark.browser

# Run with the server's environment: seats published in a group that the first queued
# Astana child's first choice has (made when the demo has none) and in one nobody asked
# for, the cohort allocated.
PUBLISH = """
import asyncio, json
from server.cli import _with_runtime

async def act():
    from server.auth.principal import Principal
    from server.models import Application, Group, Kindergarten, Preference, Referral, Seat
    from server.services import allocation, places

    app = await Application.filter(
        department__code="AST", state="queued", registration_number__not_isnull=True, group_language__not_isnull=True
    ).order_by("confirmed_at").first()
    choice = await Preference.filter(application_id=app.id).order_by("rank").first()
    kindergarten = await Kindergarten.get(id=choice.kindergarten_id)
    group = await Group.filter(
        kindergarten_id=kindergarten.id, cohort=app.cohort, language=app.group_language, active=True
    ).first()
    if group is None:
        group = await Group.create(
            kindergarten=kindergarten, department_id=app.department_id, name=f"Protocol {app.cohort}",
            cohort=app.cohort, language=app.group_language, capacity=25, enrolled=5,
        )
    staff = places.Staff(Principal(kind="staff", name="browser-test", department_id=app.department_id,
                                   role="kindergarten", staff_id=1, kindergarten_id=kindergarten.id))
    published = await Seat.filter(group_id=group.id, state__in=["open", "offered"]).count()
    await places.publish(staff, group.id, min(3, places.free_seats(group, published)))
    # And two in a group of a language no demo child asked for: they stay open.
    spare, _ = await Group.get_or_create(
        kindergarten=kindergarten, name=f"Protocol {app.cohort} other",
        defaults={"department_id": app.department_id, "cohort": app.cohort, "language": "other", "capacity": 20},
    )
    await places.publish(staff, spare.id, 2)
    await allocation.run_until_settled(app.department_id, app.cohort)
    referral = await Referral.filter(department_id=app.department_id).order_by("-id").first()
    offered = await Application.get(id=referral.application_id)
    return {"kindergarten": kindergarten.code, "cohort": app.cohort,
            "registration_number": offered.registration_number, "child_iin": offered.child_iin}

print(json.dumps(asyncio.run(_with_runtime(act))))
"""


@pytest.fixture(scope="module")
def published(server) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PUBLISH], env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_public_protocols_on_a_phone(server, browser, published, javascript):
    context = new_phone(browser, javascript)
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and "status of 400" not in m.text and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def check(what: str) -> None:
        if javascript:
            page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
            assert page.evaluate("typeof htmx") == "object", "htmx did not load"
        check_axe(page, javascript, what)

    try:
        page.goto(server.url("/lang/en?next=/"))
        submit_and_wait(page, javascript, "main a[href='/vacancies']")
        assert urlsplit(page.url).path == "/vacancies"
        check("/vacancies, no department yet")

        form = "main form[action='/vacancies']"
        page.locator(f"{form} select[name=department]").select_option("AST")
        submit_and_wait(page, javascript, f"{form} button[type=submit]")
        assert parse_qs(urlsplit(page.url).query)["department"] == ["AST"]
        expect(page.locator("main table tbody tr").first).to_be_visible()
        check("/vacancies?department=AST")

        # Narrowed to the cohort the seats were published for: the group is still there.
        page.locator(f"{form} select[name=cohort]").select_option(str(published["cohort"]))
        submit_and_wait(page, javascript, f"{form} button[type=submit]")
        assert parse_qs(urlsplit(page.url).query)["cohort"] == [str(published["cohort"])]
        check("/vacancies, one birth year")

        with page.expect_download() as download_info:
            page.locator("main a[href^='/vacancies.csv?']").click()
        download = download_info.value
        assert re.fullmatch(r"vacancies-AST-\d{4}\.csv", download.suggested_filename)
        with open(download.path(), "rb") as fh:
            data = fh.read()
        assert data.startswith(b"\xef\xbb\xbf") and b"Kindergarten code" in data
        assert urlsplit(page.url).path == "/vacancies"  # the download did not replace the page

        submit_and_wait(page, javascript, "main a[href^='/referrals?']")
        assert urlsplit(page.url).path == "/referrals"
        main = page.locator("main")
        expect(main).to_contain_text(published["registration_number"])
        expect(main).not_to_contain_text(published["child_iin"])
        check("/referrals?department=AST")

        page.goto(server.url("/referrals?department=AST&cohort=abc"))
        summary = page.locator(".error-summary")
        expect(summary).to_be_visible()
        assert page.locator("#cohort").get_attribute("aria-invalid") == "true"
        check("/referrals, a birth year that is not one")
        assert not problems, problems
    finally:
        context.close()
