"""Enqueueing follow-up jobs after a transaction commits.

If Redis is away at that moment nothing is lost: the worker's sweeper finds submitted
applications and pending notifications in the database and enqueues them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from server import runtime

log = logging.getLogger("kezek.jobs")


async def enqueue(function: str, *args: object, job_id: str, defer_seconds: float | None = None) -> None:
    try:
        await runtime.get().redis.enqueue_job(function, *args, _job_id=job_id, _defer_by=defer_seconds)
    except Exception:
        log.warning("could not enqueue %s (%s); the sweeper will retry", function, job_id)


async def enqueue_many(function: str, ids: Iterable[int], job_id: Callable[[int], str], *, at_once: int = 64) -> None:
    """One job per id (an allocation run's messages), a few dozen enqueues in flight at a
    time so that thousands do not cost thousands of round trips one after another."""
    pending = list(ids)
    for start in range(0, len(pending), at_once):
        chunk = pending[start : start + at_once]
        await asyncio.gather(*(enqueue(function, i, job_id=job_id(i)) for i in chunk))


def register_job_id(application_id: int) -> str:
    return f"register:{application_id}"


def deliver_job_id(notification_id: int) -> str:
    return f"deliver:{notification_id}"


def queue_job_id(department_id: int, cohort: int) -> str:
    """One refresh per cohort at a time: changes arriving meanwhile are coalesced."""
    return f"queue:{department_id}:{cohort}"


def allocation_job_id(department_id: int, cohort: int) -> str:
    """One allocation run per cohort at a time: seats freed meanwhile are coalesced."""
    return f"allocate:{department_id}:{cohort}"
