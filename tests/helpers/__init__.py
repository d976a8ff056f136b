"""Helpers shared by the tests (fixtures stay in the conftest.py files). Codes are read
from the outbox, as a parent would. One module per area:

    tests.helpers           demo people, phones, a PDF, codes from the outbox, CSRF tokens, jobs
    tests.helpers.backends  which PostgreSQL and Redis the tests use, and throw-away databases
    tests.helpers.graphql   a GraphQL request over HTTP
    tests.helpers.services  an integrator and its submission, for calling services directly
    tests.helpers.cabinet   the parent's cabinet over HTTP: log-in, posting a form
    tests.helpers.staff     the staff back-office over HTTP: log-in, the edit form's version
    tests.helpers.browser   Playwright: a phone-sized context, a parent walking pages, axe-core
    tests.helpers.local_servers  a local HTTP server answering as a test decides, an SMTP sink

Test modules import helpers from here only, never from another test module or a conftest.
"""

from __future__ import annotations

import re

from server.demo_data import BY_KEY
from server.models import Notification

PHONE1 = "+77011112233"
PHONE2 = "+77074445566"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def iin(key: str) -> str:
    return BY_KEY[key].iin


async def last_code(phone: str) -> str:
    row = await Notification.filter(kind="otp", recipient=phone).order_by("-id").first()
    assert row is not None, f"no code was sent to {phone}"
    match = re.search(r"\b(\d{6})\b", row.body)
    assert match, row.body
    return match.group(1)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def drain_jobs(redis) -> None:
    """Runs every queued job through a real arq worker (burst mode) on the test Redis,
    as `kezek worker` would: registrations, cohort refreshes, deliveries."""
    from arq.worker import Worker

    from jobs.worker import WorkerSettings

    worker = Worker(
        functions=WorkerSettings.functions,
        redis_pool=redis,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        keep_result=WorkerSettings.keep_result,
        max_tries=WorkerSettings.max_tries,
    )
    await worker.main()
