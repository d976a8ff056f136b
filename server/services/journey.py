"""The application journey (R1–R8, R13, R14): a draft filled step by step by a parent,
one write per step; confirming it is `submission.confirm`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.transactions import in_transaction

from server.auth import otp
from server.auth.principal import Principal
from server.domain import phones
from server.domain.benefits import ClaimStatus, Evidence
from server.domain.journey import step_index
from server.domain.messages import Channel, needs_email
from server.domain.states import State
from server.errors import DomainError, FieldErrors
from server.i18n import get_language
from server.models import Application, BenefitClaim, Contact, Preference
from server.services import benefits, jobs, notifications, registry
from server.services.events import record_event
from server.services.validation import (
    PreferenceChoice,
    check_child,
    check_notifications,
    check_preferences,
    clean_email,
    clean_iin,
    clean_phone,
    department_by_code,
)


async def _send_otp(application: Application, phone: str, rank: int, ip: str) -> str:
    """Creates a challenge for a contact phone and its outbox row; returns the challenge id."""
    await otp.check_send_allowed(phone, ip)
    async with in_transaction():
        challenge, code = await otp.create(phone, f"phone{rank}", str(application.public_id))
        row = await notifications.queue_otp(application, phone, code, str(challenge.id), get_language())
    if row is not None:
        await jobs.enqueue("deliver_notification", row.id, job_id=jobs.deliver_job_id(row.id))
    return str(challenge.id)


async def load_draft(principal: Principal, *, minimum_step: str | None = None) -> Application:
    if principal.draft_id is None:
        raise DomainError("draft.missing")
    draft = await Application.get_or_none(public_id=principal.draft_id)
    if draft is None:
        raise DomainError("draft.missing")
    if draft.state != State.DRAFT.value:
        raise DomainError("draft.not_editable")
    if minimum_step is not None and step_index(draft.step) < step_index(minimum_step):
        raise DomainError("draft.step")
    return draft


def _advance(draft: Application, step: str) -> None:
    if step_index(draft.step) < step_index(step):
        draft.step = step


@dataclass
class Started:
    draft: Application
    challenge_id: str


async def start(principal: Principal, department_code: str, applicant_iin: str, phone: str, ip: str) -> Started:
    """Step 1: who applies and their first phone; sends the first one-time password."""
    errors = FieldErrors()
    department = iin = number = None
    with errors.catch():
        department = await department_by_code(department_code)
    with errors.catch():
        iin = clean_iin(applicant_iin, "applicant_iin")
    with errors.catch():
        number = clean_phone(phone, "phone")
    errors.raise_if_any()
    assert department is not None and iin is not None and number is not None
    await registry.lookup(iin, "applicant_iin")

    draft = None
    if principal.draft_id is not None:
        draft = await Application.get_or_none(public_id=principal.draft_id, state=State.DRAFT.value)
    async with in_transaction():
        if draft is None or draft.applicant_iin != iin or draft.department_id != department.id:
            draft = await Application.create(
                public_id=uuid.uuid4(),
                department=department,
                applicant_iin=iin,
                notify_language=get_language(),
                created_via=principal.actor,
            )
            await record_event(draft, "draft_started", principal.actor, to_state=State.DRAFT.value)
        else:
            draft.step = "start"
        await Contact.filter(application=draft, kind="phone", rank=1).delete()
        await Contact.create(application=draft, kind="phone", value=number, rank=1)
        draft.version += 1
        await draft.save()
    challenge_id = await _send_otp(draft, number, 1, ip)
    return Started(draft, challenge_id)


async def resend_code(principal: Principal, rank: int, ip: str) -> str:
    draft = await load_draft(principal, minimum_step="start" if rank == 1 else "phone1")
    contact = await Contact.get_or_none(application=draft, kind="phone", rank=rank)
    if contact is None:
        raise DomainError("draft.step")
    return await _send_otp(draft, contact.value, rank, ip)


async def confirm_phone(principal: Principal, rank: int, challenge_id: str, code: str) -> Application:
    draft = await load_draft(principal, minimum_step="start" if rank == 1 else "contacts")
    try:
        challenge_uuid = uuid.UUID(str(challenge_id))
    except ValueError as exc:
        raise DomainError("otp.expired", "code") from exc
    challenge = await otp.verify(challenge_uuid, code, f"phone{rank}", str(draft.public_id))
    async with in_transaction():
        await Contact.filter(application=draft, kind="phone", rank=rank, value=challenge.phone).update(
            confirmed_at=datetime.now(UTC)
        )
        _advance(draft, "phone1" if rank == 1 else "phone2")
        draft.version += 1
        await draft.save()
        await record_event(
            draft, "phone_confirmed", principal.actor, data={"rank": rank, "phone": phones.mask(challenge.phone)}
        )
    return draft


async def set_contacts(principal: Principal, phone2: str, email: str, ip: str) -> tuple[Application, str | None]:
    """Step 3: the second phone (R2) and an optional email. Returns the challenge id when
    the second phone needs confirming."""
    draft = await load_draft(principal, minimum_step="phone1")
    errors = FieldErrors()
    number = address = None
    with errors.catch():
        number = clean_phone(phone2, "phone2")
        first = await Contact.get(application=draft, kind="phone", rank=1)
        if number == first.value:
            raise DomainError("phone.same", "phone2")
    with errors.catch():
        address = clean_email(email)
    errors.raise_if_any()
    assert number is not None
    existing = await Contact.get_or_none(application=draft, kind="phone", rank=2)
    needs_code = existing is None or existing.value != number or existing.confirmed_at is None
    async with in_transaction():
        if needs_code:
            await Contact.filter(application=draft, kind="phone", rank=2).delete()
            await Contact.create(application=draft, kind="phone", value=number, rank=2)
            # A new second phone must be confirmed again before the journey goes on.
            draft.step = "contacts"
        await Contact.filter(application=draft, kind="email").delete()
        if address:
            # The email is confirmed by the parent typing it; delivery problems are reported.
            await Contact.create(application=draft, kind="email", value=address, rank=1, confirmed_at=datetime.now(UTC))
        elif needs_email(draft.notify_channel):
            draft.notify_channel = Channel.SMS.value
        draft.version += 1
        await draft.save()
    challenge_id = await _send_otp(draft, number, 2, ip) if needs_code else None
    return draft, challenge_id


async def set_child(principal: Principal, child_iin: str) -> Application:
    draft = await load_draft(principal, minimum_step="phone2")
    department = await draft.department
    facts = await check_child(department, draft.applicant_iin, child_iin)
    categories = await benefits.registry_categories()
    async with in_transaction():
        draft.child_iin = facts.child_iin
        draft.child_birth_date = facts.birth_date
        draft.cohort = facts.cohort
        _advance(draft, "child")
        draft.version += 1
        await draft.save()
        # R13: registry-backed benefits are found, not claimed.
        await BenefitClaim.filter(application=draft, source=Evidence.REGISTRY.value).delete()
        await benefits.add_registry_claims(draft, facts.registry_benefits, categories, datetime.now(UTC))
        await record_event(draft, "child_set", principal.actor, data={"benefits": facts.registry_benefits})
    return draft


async def set_preferences(
    principal: Principal,
    kindergarten_codes: list[str],
    any_kindergarten: bool,
    group_language: str,
    desired_start: str | date | None,
) -> Application:
    draft = await load_draft(principal, minimum_step="child")
    department = await draft.department
    choice = await check_preferences(department, kindergarten_codes, any_kindergarten, group_language, desired_start)
    async with in_transaction():
        await write_preferences(draft, choice)
        _advance(draft, "preferences")
        draft.version += 1
        await draft.save()
    return draft


async def write_preferences(application: Application, choice: PreferenceChoice) -> None:
    """Inside the caller's transaction: the ranked kindergartens, the group's language and
    the start date (the caller saves the application)."""
    await Preference.filter(application=application).delete()
    for rank, garden in enumerate(choice.kindergartens, start=1):
        await Preference.create(application=application, kindergarten=garden, rank=rank)
    application.any_kindergarten = choice.any_kindergarten or not choice.kindergartens
    application.group_language = choice.group_language
    application.desired_start = choice.desired_start


async def claim_benefit(principal: Principal, category_code: str, filename: str, data: bytes | None) -> BenefitClaim:
    """R14: a document-backed claim, pending until staff decide."""
    draft = await load_draft(principal, minimum_step="preferences")
    return await benefits.store_claim(draft, category_code, filename, data, principal.actor)


async def withdraw_claim(principal: Principal, claim_id: int) -> Application:
    draft = await load_draft(principal, minimum_step="preferences")
    claim = await BenefitClaim.get_or_none(id=claim_id, application=draft, source=Evidence.DOCUMENT.value)
    if claim is None:
        raise DomainError("claim.unknown", "claim")
    async with in_transaction():
        claim.status = ClaimStatus.WITHDRAWN.value
        claim.decided_by = principal.actor
        claim.decided_at = datetime.now(UTC)
        await claim.save()
        await record_event(draft, "benefit_withdrawn", principal.actor, data={"claim": claim.id})
    return draft


async def finish_benefits(principal: Principal) -> Application:
    draft = await load_draft(principal, minimum_step="preferences")
    _advance(draft, "benefits")
    draft.version += 1
    await draft.save()
    return draft


async def set_notifications(principal: Principal, channel: str, language: str) -> Application:
    draft = await load_draft(principal, minimum_step="benefits")
    has_email = await Contact.filter(application=draft, kind="email").exists()
    check_notifications(channel, language, has_email)
    draft.notify_channel = channel
    draft.notify_language = language
    _advance(draft, "notifications")
    draft.version += 1
    await draft.save()
    return draft
