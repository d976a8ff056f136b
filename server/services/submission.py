"""Submitting an application (R9): the parent confirms a finished draft, or an
integrator submits a whole application at once. Either way the application becomes
`submitted` under the unique active key (R5) and the idempotency key (R9), and the
registration job is queued after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.auth.principal import Principal
from server.domain.journey import step_index
from server.domain.states import State, Transition
from server.errors import DomainError, FieldErrors, ValidationErrors
from server.models import Application, Contact, IdempotencyKey, Notification
from server.services import benefits, jobs, registry
from server.services.events import record_event, transition
from server.services.journey import write_preferences
from server.services.validation import (
    active_key,
    check_child,
    check_notifications,
    check_preferences,
    clean_email,
    clean_iin,
    clean_phone,
    department_by_code,
)


async def confirm(principal: Principal, idempotency_key: str | None) -> Application:
    """R9: the parent confirms the summary. Repeating it returns the same application."""
    if principal.draft_id is None:
        raise DomainError("draft.missing")
    scoped_key = f"draft:{principal.draft_id}:{idempotency_key}" if idempotency_key else None
    if scoped_key and (earlier := await _answered(scoped_key)) is not None:
        return earlier
    application = await Application.get_or_none(public_id=principal.draft_id)
    if application is None:
        raise DomainError("draft.missing")
    if application.state != State.DRAFT.value:
        return application  # already submitted from this session: same application
    if step_index(application.step) < step_index("notifications"):
        raise DomainError("draft.step")
    return await _submit(application, principal, scoped_key)


async def _answered(scoped_key: str) -> Application | None:
    """The application an idempotency key was already answered with (R9), if any."""
    existing = await IdempotencyKey.get_or_none(key=scoped_key).prefetch_related("application")
    return existing.application if existing is not None else None


async def _submit(application: Application, principal: Principal, scoped_key: str | None) -> Application:
    """Moves a complete draft to submitted, guarded by the unique active key (R5) and
    the unique idempotency key (R9); enqueues registration after commit."""
    child_iin = application.child_iin
    assert child_iin is not None
    try:
        async with in_transaction():
            locked = await Application.select_for_update().get(id=application.id)
            if locked.state != State.DRAFT.value:
                return locked
            locked.benefit_class = await benefits.current_benefit_class(locked)
            locked.search_names = await _search_names(locked)
            locked.confirmed_at = datetime.now(UTC)
            locked.active_key = active_key(locked.department_id, child_iin)
            await transition(locked, Transition.SUBMIT, principal.actor)
            locked.version += 1
            await locked.save()
            if scoped_key:
                await IdempotencyKey.create(key=scoped_key, application=locked)
            application = locked
    except IntegrityError:
        if scoped_key and (earlier := await _answered(scoped_key)) is not None:
            return earlier
        other = await Application.get_or_none(active_key=active_key(application.department_id, child_iin))
        raise DomainError(
            "child.already_queued", "child_iin", number=(other.registration_number if other else None) or "…"
        ) from None
    await jobs.enqueue("register_application", application.id, job_id=jobs.register_job_id(application.id))
    return application


async def _search_names(application: Application) -> str:
    """The applicant's and the child's names as the registry gave them, lower case, for
    the staff's search by name."""
    names = []
    for iin in (application.applicant_iin, application.child_iin):
        if iin:
            names.append(registry.full_name(await registry.cached(iin)))
    return " | ".join(n for n in names if n).lower()[:400]


@dataclass
class SubmitInput:
    department_code: str
    applicant_iin: str
    child_iin: str
    phones: list[str]
    email: str | None
    kindergarten_codes: list[str]
    any_kindergarten: bool
    group_language: str
    desired_start: str
    notify_channel: str
    notify_language: str


async def submit(principal: Principal, data: SubmitInput, idempotency_key: str) -> Application:
    """An integrator submits a whole application for a parent it has already identified
    (its phones count as confirmed by the integrator)."""
    if not principal.has_scope("applications:submit"):
        raise DomainError("auth.required")
    if not (idempotency_key or "").strip():
        raise DomainError("idempotency.required", "idempotency_key")
    scoped_key = f"{principal.actor}:{idempotency_key.strip()}"[:200]
    if (earlier := await _answered(scoped_key)) is not None:
        return earlier
    try:
        return await _submit_new(principal, data, scoped_key)
    except (DomainError, ValidationErrors):
        # A parallel call with the same key may have won meanwhile (its application
        # now makes this child "already queued"): the same key gets the same answer.
        if (earlier := await _answered(scoped_key)) is not None:
            return earlier
        raise


async def _submit_new(principal: Principal, data: SubmitInput, scoped_key: str) -> Application:
    errors = FieldErrors()
    department = applicant_iin = None
    with errors.catch():
        department = await department_by_code(data.department_code)
        if principal.department_id is not None and principal.department_id != department.id:
            raise DomainError("auth.required", "department")
    with errors.catch():
        applicant_iin = clean_iin(data.applicant_iin, "applicant_iin")
        await registry.lookup(applicant_iin, "applicant_iin")
    numbers: list[str] = []
    for index, raw in enumerate(data.phones[:2] + [""] * (2 - len(data.phones[:2])), start=1):
        with errors.catch():
            numbers.append(clean_phone(raw, f"phones.{index}"))
    if len(numbers) == 2 and numbers[0] == numbers[1]:
        errors.add(DomainError("phone.same", "phones.2"))
    email = None
    with errors.catch():
        email = clean_email(data.email or "")
    errors.raise_if_any()
    assert department is not None and applicant_iin is not None
    facts = await check_child(department, applicant_iin, data.child_iin)
    choice = await check_preferences(
        department, data.kindergarten_codes, data.any_kindergarten, data.group_language, data.desired_start
    )
    check_notifications(data.notify_channel, data.notify_language, email is not None)
    categories = await benefits.registry_categories()

    async with in_transaction():
        application = await Application.create(
            public_id=uuid.uuid4(),
            department=department,
            applicant_iin=applicant_iin,
            child_iin=facts.child_iin,
            child_birth_date=facts.birth_date,
            cohort=facts.cohort,
            notify_channel=data.notify_channel,
            notify_language=data.notify_language,
            step="notifications",
            created_via=principal.actor,
        )
        await record_event(application, "draft_started", principal.actor, to_state=State.DRAFT.value)
        now = datetime.now(UTC)
        for rank, number in enumerate(numbers, start=1):
            await Contact.create(application=application, kind="phone", value=number, rank=rank, confirmed_at=now)
        if email:
            await Contact.create(application=application, kind="email", value=email, rank=1, confirmed_at=now)
        await write_preferences(application, choice)
        await application.save()
        await benefits.add_registry_claims(application, facts.registry_benefits, categories, now)
    try:
        result = await _submit(application, principal, scoped_key)
    except BaseException:
        # Nothing half-written stays behind, whatever failed: the draft made for this
        # call goes.
        await _discard(application)
        raise
    if result.id != application.id:  # a parallel call with the same key won
        await _discard(application)
    return result


async def _discard(application: Application) -> None:
    async with in_transaction():
        fresh = await Application.get(id=application.id)
        if fresh.state == State.DRAFT.value:
            await Notification.filter(application=fresh).delete()
            await fresh.delete()
