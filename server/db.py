"""Database: Tortoise set-up and the built-in migrations (server/migrations/)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.queryset import ValuesListQuery

from server.config import Settings


async def init_db(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite://"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    # The global fallback lets requests and jobs, which run in other contexts than the
    # lifespan, see the connections: without it Tortoise 1.x fails every request with
    # "No TortoiseContext is currently active".
    await Tortoise.init(config=settings.tortoise_config(), _enable_global_fallback=True)


async def migrate(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite://"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        await tortoise_migrate(config=settings.tortoise_config())
    finally:
        await close_db()


async def close_db() -> None:
    # Closes the connections and releases the global fallback context.
    await Tortoise.close_connections()


async def ping() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
        return True
    except Exception:
        return False


def raw_sql(conn: Any, text: str) -> str:
    """Raw SQL written with PostgreSQL's $1, $2 … placeholders, for either database
    (SQLite takes ? in the same order)."""
    return text if conn.capabilities.dialect == "postgres" else re.sub(r"\$\d+", "?", text)


async def flat_ints(query: ValuesListQuery[Any]) -> list[int]:
    """What `values_list(column, flat=True)` of an integer column gives (Tortoise types
    every values_list as a list of tuples)."""
    return cast("list[int]", await query)


def as_datetime(value: Any) -> datetime:
    """A timestamp from a raw row (asyncpg gives datetimes, SQLite ISO strings)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
