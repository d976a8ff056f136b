"""Registration (R10–R12): a background job turns a submitted application into a
queued one with a permanent number and a registration time; its queue number comes
from the queue engine's refresh of its cohort, which also sends the "registered"
message with both numbers (server/services/queue.py)."""

from __future__ import annotations

import contextlib
import logging
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.auth.principal import SYSTEM
from server.domain.age import are_twins
from server.domain.registration import registration_number
from server.domain.states import ACTIVE, State, Transition
from server.models import Application, Department, RegistrationSequence
from server.services import queue
from server.services.events import transition

log = logging.getLogger("kezek.registration")


async def register(application_id: int) -> Application | None:
    """Idempotent: an application that is no longer `submitted` is left as it is."""
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
        # registrations of one department, so numbers are gap-free and twins see each other.
        await RegistrationSequence.filter(department_id=department.id, year=year).update(last_value=F("last_value") + 1)
        sequence = await RegistrationSequence.select_for_update().get(department_id=department.id, year=year)
        application.registration_number = registration_number(department.code, year, sequence.last_value)
        application.registered_at = application.confirmed_at  # R11: the moment of confirmation
        await transition(application, Transition.REGISTER, SYSTEM.actor)
        application.version += 1
        await application.save()
        await _join_twins(application)
    log.info("registered application %s as %s", application.id, application.registration_number)
    await queue.request_refresh_for(application)
    return application


async def _join_twins(application: Application) -> None:
    """R21: an applicant's children of one cohort born within a month of each other
    stand together: every member carries the lowest application id of the batch."""
    born = application.child_birth_date
    if born is None:
        return
    siblings = (
        await Application.filter(
            department_id=application.department_id,
            applicant_iin=application.applicant_iin,
            cohort=application.cohort,
            state__in=[s.value for s in ACTIVE],
            child_birth_date__not_isnull=True,
        )
        .exclude(id=application.id)
        .exclude(child_iin=application.child_iin)
    )
    twins = [s for s in siblings if s.child_birth_date is not None and are_twins(s.child_birth_date, born)]
    if not twins:
        return
    batch = min([application.id, *(t.batch_id or t.id for t in twins)])
    ids = [application.id, *(t.id for t in twins)]
    await Application.filter(id__in=ids).update(batch_id=batch)
    application.batch_id = batch


async def _ensure_sequence(application: Application) -> None:
    department = await Department.get(id=application.department_id)
    assert application.confirmed_at is not None
    year = application.confirmed_at.astimezone(ZoneInfo(department.timezone)).year
    if not await RegistrationSequence.filter(department_id=department.id, year=year).exists():
        with contextlib.suppress(IntegrityError):  # created by a parallel registration
            await RegistrationSequence.create(department_id=department.id, year=year)
