"""The arq worker: `python -m jobs.worker` (or `kezek worker`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from arq import Retry, cron
from arq.worker import Worker, func

from server import runtime
from server.config import Settings, load_settings
from server.db import close_db, flat_ints, init_db
from server.domain.messages import DeliveryState
from server.domain.states import State
from server.gateways import build_gateways
from server.logging import setup_logging
from server.models import Application, Notification
from server.redis import redis_settings
from server.services import allocation, daily, jobs, notifications, queue, registration

log = logging.getLogger("kezek.worker")

MAX_TRIES = 8


def backoff(tries: int) -> float:
    """2, 4, 8 … seconds, at most five minutes."""
    return float(min(2**tries, 300))


async def register_application(ctx: dict[str, Any], application_id: int) -> str | None:
    try:
        application = await registration.register(application_id)
    except Exception as exc:
        log.warning("registration of %s failed (%s: %s); retrying", application_id, type(exc).__name__, exc)
        raise Retry(defer=backoff(ctx.get("job_try", 1))) from exc
    return application.registration_number if application else None


async def refresh_queue(ctx: dict[str, Any], department_id: int, cohort: int) -> int:
    """Refreshes a cohort's stored queue numbers until no change is pending; returns
    how many changes it reflected."""
    try:
        rounds = await queue.refresh_until_settled(department_id, cohort)
    except Exception as exc:
        log.warning("queue refresh %s/%s failed (%s: %s); retrying", department_id, cohort, type(exc).__name__, exc)
        raise Retry(defer=backoff(ctx.get("job_try", 1))) from exc
    return sum(r.changes for r in rounds)


async def allocate(ctx: dict[str, Any], department_id: int, cohort: int) -> int:
    """Offers a cohort's open seats down its queue until no request is pending; returns
    how many offers it made."""
    try:
        runs = await allocation.run_until_settled(department_id, cohort)
    except Exception as exc:
        log.warning("allocation %s/%s failed (%s: %s); retrying", department_id, cohort, type(exc).__name__, exc)
        raise Retry(defer=backoff(ctx.get("job_try", 1))) from exc
    return sum(len(r.offered) for r in runs)


async def daily_jobs(ctx: dict[str, Any]) -> str:
    """Referral deadlines, reminders, stop-list restores, age-out and registry re-checks:
    idempotent, run every hour so that a day missed is caught up within the hour. Then
    every cohort with open seats is allocated again: a seat whose priority window ended
    may now go to a child who did not list it (R27)."""
    summary = (await daily.run()).summary()
    for department_id, cohort in await allocation.due_cohorts(with_open_seats=True):
        await allocation.request_run(department_id, cohort)
    return summary


async def deliver_notification(ctx: dict[str, Any], notification_id: int) -> str:
    try:
        return await notifications.deliver(notification_id)
    except notifications.DeliveryDeferred as exc:
        tries = ctx.get("job_try", 1)
        if tries >= MAX_TRIES:
            state = await notifications.give_up(notification_id)
            log.error("notification %s given up after %s tries", notification_id, tries)
            return state
        raise Retry(defer=backoff(tries)) from exc


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-enqueues work a lost enqueue or a dead worker left behind (jobs de-duplicate)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=10)
    submitted = await flat_ints(
        Application.filter(state=State.SUBMITTED.value, confirmed_at__lt=cutoff).values_list("id", flat=True)
    )
    for application_id in submitted:
        await jobs.enqueue("register_application", application_id, job_id=jobs.register_job_id(application_id))
    pending = await flat_ints(
        Notification.filter(state=DeliveryState.PENDING.value, created_at__lt=cutoff).values_list("id", flat=True)
    )
    for notification_id in pending:
        await jobs.enqueue("deliver_notification", notification_id, job_id=jobs.deliver_job_id(notification_id))
    cohorts = await queue.due_cohorts(older_than=cutoff)
    for department_id, cohort in cohorts:
        await queue.request_refresh(department_id, cohort)
    # Allocation requests whose job was lost (Redis away, a worker killed).
    allocations = await allocation.due_cohorts()
    for department_id, cohort in allocations:
        await allocation.request_run(department_id, cohort)
    return {
        "applications": len(submitted),
        "notifications": len(pending),
        "cohorts": len(cohorts),
        "allocations": len(allocations),
    }


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    await init_db(settings)
    runtime.install(runtime.Runtime(settings, build_gateways(settings), ctx["redis"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    await runtime.get().gateways.aclose()
    await close_db()


class WorkerSettings:
    # keep_result=0: a finished refresh frees its job id at once, so the next change of
    # the cohort can queue the next refresh.
    functions: ClassVar = [
        register_application,
        deliver_notification,
        func(refresh_queue, keep_result=0),
        func(allocate, keep_result=0),
    ]
    cron_jobs: ClassVar = [
        cron(sweep, second={0, 10, 20, 30, 40, 50}, run_at_startup=True),
        cron(daily_jobs, minute={5}, second={0}, run_at_startup=True, unique=True, timeout=1800),
    ]
    on_startup = startup
    on_shutdown = shutdown
    max_tries = MAX_TRIES
    health_check_interval = 30
    poll_delay = 0.1  # R10: registration within 5 s; the default 0.5 s poll is a tenth of it
    job_timeout = 60
    keep_result = 60


def build_worker(settings: Settings) -> Worker:
    """A worker configured by WorkerSettings (the one place its options live)."""
    options = {name: value for name, value in vars(WorkerSettings).items() if not name.startswith("_")}
    return Worker(**options, redis_settings=redis_settings(settings), ctx={"settings": settings})


def main() -> None:
    settings = load_settings()
    setup_logging(settings)

    async def run() -> None:
        # arq binds the worker to the running loop: build it inside asyncio.run.
        worker = build_worker(settings)
        try:
            await worker.async_run()
        finally:
            await worker.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
