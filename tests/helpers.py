"""Helpers shared by the tests: codes are read from the outbox, as a parent would."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from server.demo_data import BY_KEY
from server.models import Notification

PHONE1 = "+77011112233"
PHONE2 = "+77074445566"


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


def pg_url_with_database(url: str, name: str) -> str:
    """The same PostgreSQL server, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def pg_admin(url: str, sql: str) -> None:
    """Runs one statement (CREATE/DROP DATABASE) outside a transaction."""
    import asyncpg

    parts = urlsplit(url)
    conn = await asyncpg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        database=parts.path.lstrip("/") or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


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
