"""Which PostgreSQL and Redis the tests run on (SQLite and an embedded Redis when these
are unset), and throw-away PostgreSQL databases on that server."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

PG_URL = os.environ.get("KEZEK_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("KEZEK_TEST_REDIS_URL", "")


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
