"""Helpers shared by the tests (fixtures stay in the conftest.py files). Codes are read
from the outbox, as a parent would. One module per area:

    tests.helpers           demo people, phones, a PDF, codes from the outbox, forms with their
                            CSRF token, jobs, `kezek …` as a separate process
    tests.helpers.backends  which PostgreSQL and Redis the tests use, and throw-away databases
    tests.helpers.graphql   a GraphQL request over HTTP
    tests.helpers.services  an integrator and its submission, for calling services directly
    tests.helpers.cabinet   the parent's cabinet over HTTP: log-in, Asel's phones
    tests.helpers.staff     the staff back-office over HTTP: log-in, the edit form's version
    tests.helpers.browser   Playwright: a phone-sized context, a parent walking pages, axe-core
    tests.helpers.local_servers  a local HTTP server answering as a test decides, an SMTP sink

Test modules import helpers from here only, never from another test module or a conftest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from server.config import ROOT
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


async def post(
    client: httpx.AsyncClient, url: str, data: dict, files: dict | None = None, form_url: str = ""
) -> httpx.Response:
    """Opens the page with the form (as a person would) and sends it with its CSRF token."""
    page = await client.get(form_url or url)
    assert page.status_code == 200, (form_url or url, page.status_code, page.headers.get("location"))
    return await client.post(url, data={"csrf_token": csrf_from(page.text), **data}, files=files)


def cli_env(**settings: str) -> dict[str, str]:
    """The environment of `kezek …` run as a separate process: this one's without any of
    Kezek's settings (KEZEK_…, DATABASE_URL, REDIS_URL), and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEZEK_") and k not in ("DATABASE_URL", "REDIS_URL")}
    return env | settings


def run_cli(env: dict[str, str], *args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `kezek ARGS…` in the checkout with `env`, and waits for it; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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
