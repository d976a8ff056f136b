"""Registration (R10–R12): a background job turns a submitted application into a
queued one with a permanent number, a registration time and a queue number."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.auth.principal import SYSTEM
from server.domain.registration import registration_number
from server.domain.states import State, Transition
from server.models import Application, Department, RegistrationSequence
from server.services import jobs, notifications, queue
from server.services.applications import transition

log = logging.getLogger("kezek.registration")


async def register(application_id: int) -> Application | None:
    """Idempotent: an application that is no longer `submitted` is left as it is."""
    sent: list[int] = []
    peek = await Application.get_or_none(id=application_id)
    if peek is None or peek.state != State.SUBMITTED.value:
        return peek
    await _ensure_sequence(peek)
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if application is None or application.state != State.SUBMITTED.value:
            return application
        department = await Department.get(id=application.department_id)
        assert application.confirmed_at is not None
        year = application.confirmed_at.astimezone(ZoneInfo(department.timezone)).year
        # The sequence row is the department's registration lock: bumping it serializes
        # registrations of one department, so numbers are gap-free and the cohort's
        # queue numbers are computed over every committed registration.
        await RegistrationSequence.filter(department_id=department.id, year=year).update(
            last_value=F("last_value") + 1
        )
        sequence = await RegistrationSequence.select_for_update().get(department_id=department.id, year=year)
        application.registration_number = registration_number(department.code, year, sequence.last_value)
        application.registered_at = application.confirmed_at  # R11: the moment of confirmation
        await transition(application, Transition.REGISTER, SYSTEM.actor)
        application.version += 1
        await application.save()
        numbers = await queue.recompute_cohort(department, application.cohort)  # type: ignore[arg-type]
        application.queue_number = numbers.get(application.id)
        rows = await notifications.queue_for_application(
            application,
            "registered",
            str(application.id),
            number=application.registration_number,
            queue=application.queue_number,
        )
        sent = [row.id for row in rows]
    log.info("registered application %s as %s", application.id, application.registration_number)
    for notification_id in sent:
        await jobs.enqueue("deliver_notification", notification_id, job_id=jobs.deliver_job_id(notification_id))
    return application


async def _ensure_sequence(application: Application) -> None:
    department = await Department.get(id=application.department_id)
    assert application.confirmed_at is not None
    year = application.confirmed_at.astimezone(ZoneInfo(department.timezone)).year
    if not await RegistrationSequence.filter(department_id=department.id, year=year).exists():
        try:
            await RegistrationSequence.create(department_id=department.id, year=year)
        except IntegrityError:
            pass  # created by a parallel registration
