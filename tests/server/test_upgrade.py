"""Upgrading a database that already holds a queue: the migrations add their columns to
existing rows and the upgraded cohorts are numbered again by the worker's sweep."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.migrations.api import migrate as tortoise_migrate

from server.config import load_settings
from server.db import close_db, init_db
from tests.helpers.backends import PG_URL, pg_admin, pg_url_with_database

ROW = (
    "INSERT INTO application (public_id, department_id, state, step, applicant_iin, child_iin, cohort, "
    "notify_channel, notify_language, benefit_class, active_key, registration_number, confirmed_at, "
    "registered_at, queue_number, created_via, version, created_at, updated_at, any_kindergarten) VALUES "
    "('{uuid}', 1, 'queued', 'notifications', '900101300017', '{child}', 2022, 'sms', 'ru', 'general', '1:{child}', "
    "'AST-2026-00000{n}', '2026-01-0{n} 10:00:00+00', '2026-01-0{n} 10:00:00+00', {n}, 'test', 1, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, {false})"
)


def test_a_queue_from_before_the_engine_is_upgraded_and_numbered(tmp_path):
    env = {"KEZEK_ENV": "test", "KEZEK_VAR_DIR": str(tmp_path), "KEZEK_SECRET_KEY": "test"}
    name = ""
    if PG_URL:
        name = f"kezek_upgrade_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
        env["DATABASE_URL"] = pg_url_with_database(PG_URL, name)
    settings = load_settings(env)
    try:
        asyncio.run(_upgrade(settings, postgres=bool(PG_URL)))
    finally:
        if name:
            asyncio.run(
                pg_admin(
                    PG_URL, f'DROP DATABASE IF EXISTS "{urlsplit(settings.database_url).path.lstrip("/")}" WITH (FORCE)'
                )
            )


async def _upgrade(settings, postgres: bool) -> None:
    from server.models import Application, CohortChange, QueueEntry
    from server.services import queue

    config = settings.tortoise_config()
    await tortoise_migrate(config=config, target="kezek.0001_initial")
    await close_db()
    await init_db(settings)
    conn = connections.get("default")
    await conn.execute_script(
        "INSERT INTO department (code, name_kk, name_ru, name_en, timezone, max_age_years, max_preferences, "
        "max_document_mb, benefit_recheck_days, priority_ratio, priority_slot, offer_working_days, "
        "presentation_working_days, extension_days, extraordinary_confirm_working_days, stoplist_days, "
        "notify_queue_change_over) VALUES ('AST', 'a', 'a', 'a', 'Asia/Almaty', 6, 4, 5, 1, 3, 0, 3, 5, 30, 5, 10, 10)"
    )
    for n, child in ((1, "220101500011"), (2, "220101600012")):
        await conn.execute_script(ROW.format(uuid=uuid.uuid4(), child=child, n=n, false="false" if postgres else "0"))
    await close_db()

    await tortoise_migrate(config=config)
    await close_db()
    await init_db(settings)
    try:
        rows = await Application.all().order_by("id")
        assert [r.search_names for r in rows] == ["", ""] and [r.batch_id for r in rows] == [None, None]
        assert await CohortChange.filter(cohort=2022).count() == 1  # the upgrade marked the cohort due
        assert await queue.due_cohorts() == [(rows[0].department_id, 2022)]
        await queue.refresh_all()
        numbers = [e.number for e in await QueueEntry.all().order_by("application_id")]
        assert numbers == [1, 2]
        assert not await CohortChange.exists()
    finally:
        await close_db()
