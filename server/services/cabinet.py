"""The parent's cabinet (issue 4): log in with the applicant's IIN and a one-time
password sent to a confirmed phone of theirs; then keep contacts, notification settings
and benefits current, or withdraw the application. Every change is an event (R15, R33).

Issue 9 adds the parent's answer to an offer: accept, decline, extend once (R27, R28).
The moves themselves are `server.services.referrals`'s; here the cabinet checks what
the parent sent first (a referral id that is one, of one of their applications, a number
of days), so that a mistake gets a clear message and changes nothing.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from server.auth import otp
from server.auth.keyed import keyed
from server.auth.principal import Principal
from server.db import flat_ints
from server.domain import phones as phone_rules
from server.domain.benefits import STANDING, ClaimStatus
from server.domain.messages import needs_email
from server.domain.states import ACTIVE, State, Transition
from server.errors import DomainError, FieldErrors
from server.i18n import get_language
from server.models import Application, BenefitClaim, Contact, OtpChallenge
from server.services import benefits, events, jobs, notifications, queue, referrals
from server.services.validation import check_notifications, clean_email, clean_iin, clean_phone

LOGIN = "cabinet"
NEW_PHONE = "cabinet-phone"


def _subject(iin: str) -> str:
    """A keyed hash of the IIN: the challenge names whom it is for without holding the IIN."""
    return keyed(f"cabinet:{iin}", 48)


async def _send(application: Application | None, phone: str, code: str, challenge_id: str) -> None:
    row = await notifications.queue_otp(application, phone, code, challenge_id, get_language())
    if row is not None:
        await jobs.enqueue("deliver_notification", row.id, job_id=jobs.deliver_job_id(row.id))


async def start_login(applicant_iin: str, phone: str, ip: str) -> str:
    """Sends a code when the IIN and the phone belong to one registered application;
    answers the same either way, so the form tells nobody whose numbers these are."""
    errors = FieldErrors()  # both fields' mistakes at once
    iin = number = ""
    with errors.catch():
        iin = clean_iin(applicant_iin, "applicant_iin")
    with errors.catch():
        number = clean_phone(phone, "phone")
    errors.raise_if_any()
    await otp.check_send_allowed(number, ip)
    challenge, code = await otp.create(number, LOGIN, _subject(iin))
    owner = await Application.filter(
        applicant_iin=iin,
        registration_number__not_isnull=True,
        contacts__kind="phone",
        contacts__value=number,
        contacts__confirmed_at__not_isnull=True,
    ).first()
    if owner is not None:
        await _send(owner, number, code, str(challenge.id))
    return str(challenge.id)


async def confirm_login(challenge_id: str, code: str) -> list[int]:
    """The applicant's registered applications once the code is right."""
    try:
        challenge_uuid = uuid.UUID(str(challenge_id))
    except ValueError:
        raise DomainError("otp.expired", "code") from None
    pending = await OtpChallenge.get_or_none(id=challenge_uuid, purpose=LOGIN)
    if pending is None:
        raise DomainError("otp.expired", "code")
    challenge = await otp.verify(challenge_uuid, code, LOGIN, pending.subject)
    candidates = await Application.filter(
        registration_number__not_isnull=True,
        contacts__kind="phone",
        contacts__value=challenge.phone,
        contacts__confirmed_at__not_isnull=True,
    ).values_list("id", "applicant_iin")
    mine = {row for row in candidates if hmac.compare_digest(_subject(row[1]), challenge.subject)}
    if not mine:
        raise DomainError("otp.invalid", "code")
    iins = {iin for _, iin in mine}
    return await flat_ints(
        Application.filter(applicant_iin__in=iins, registration_number__not_isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


async def my_applications(principal: Principal) -> list[Application]:
    if not principal.cabinet_ids:
        return []
    return await Application.filter(id__in=principal.cabinet_ids).order_by("id")


async def _mine(principal: Principal, registration_number: str, *, active: bool = True) -> Application:
    application = await Application.get_or_none(registration_number=(registration_number or "").strip().upper())
    if application is None or application.id not in principal.cabinet_ids:
        raise DomainError("application.unknown")
    if active and State(application.state) not in ACTIVE:
        raise DomainError("application.closed")
    return application


async def _bump(application: Application) -> None:
    application.version += 1
    await application.save()


async def add_phone(principal: Principal, registration_number: str, phone: str, ip: str) -> str:
    """A new phone, confirmed by its own one-time password (R2); returns the challenge."""
    application = await _mine(principal, registration_number)
    number = clean_phone(phone, "phone")
    if await Contact.filter(
        application=application, kind="phone", value=number, confirmed_at__not_isnull=True
    ).exists():
        raise DomainError("phone.known", "phone")
    await otp.check_send_allowed(number, ip)
    challenge, code = await otp.create(number, NEW_PHONE, str(application.public_id))
    await _send(application, number, code, str(challenge.id))
    return str(challenge.id)


async def confirm_phone(principal: Principal, registration_number: str, challenge_id: str, code: str) -> Application:
    application = await _mine(principal, registration_number)
    try:
        challenge_uuid = uuid.UUID(str(challenge_id))
    except ValueError:
        raise DomainError("otp.expired", "code") from None
    challenge = await otp.verify(challenge_uuid, code, NEW_PHONE, str(application.public_id))
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        if not await Contact.filter(application=application, kind="phone", value=challenge.phone).exists():
            ranks = await flat_ints(
                Contact.filter(application=application, kind="phone").values_list("rank", flat=True)
            )
            await Contact.create(
                application=application,
                kind="phone",
                value=challenge.phone,
                rank=max(ranks, default=0) + 1,
                confirmed_at=datetime.now(UTC),
            )
        await events.record_event(
            application, "phone_added", principal.actor, data={"phone": phone_rules.mask(challenge.phone)}
        )
        await _bump(application)
    return application


async def remove_phone(principal: Principal, registration_number: str, phone: str) -> Application:
    """At least two confirmed phones always remain (R2)."""
    application = await _mine(principal, registration_number)
    number = clean_phone(phone, "phone")
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        confirmed = await Contact.filter(application=application, kind="phone", confirmed_at__not_isnull=True).order_by(
            "rank"
        )
        target = next((c for c in confirmed if c.value == number), None)
        if target is None:
            raise DomainError("contact.unknown", "phone")
        if len(confirmed) <= 2:
            raise DomainError("phone.last_two", "phone")
        await target.delete()
        for rank, contact in enumerate((c for c in confirmed if c.id != target.id), start=1):
            if contact.rank != rank:
                contact.rank = rank
                await contact.save()
        await events.record_event(
            application, "phone_removed", principal.actor, data={"phone": phone_rules.mask(number)}
        )
        await _bump(application)
    return application


async def set_email(principal: Principal, registration_number: str, email: str) -> Application:
    application = await _mine(principal, registration_number)
    address = clean_email(email)
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        if address is None and needs_email(application.notify_channel):
            raise DomainError("email.required_for_channel", "email")
        await Contact.filter(application=application, kind="email").delete()
        if address:
            # Confirmed by the parent typing it, as in the journey: messages go only to
            # confirmed contacts (notifications.queue_for_application).
            await Contact.create(
                application=application, kind="email", value=address, rank=1, confirmed_at=datetime.now(UTC)
            )
        await events.record_event(application, "email_changed", principal.actor)
        await _bump(application)
    return application


async def set_notifications(principal: Principal, registration_number: str, channel: str, language: str) -> Application:
    application = await _mine(principal, registration_number)
    has_email = await Contact.filter(application=application, kind="email").exists()
    check_notifications(channel, language, has_email)
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        application.notify_channel, application.notify_language = channel, language
        await events.record_event(
            application, "notifications_changed", principal.actor, data={"channel": channel, "language": language}
        )
        await _bump(application)
    return application


async def claim_benefit(
    principal: Principal, registration_number: str, category_code: str, filename: str, data: bytes | None
) -> Application:
    """R14, R15: a benefit added later, pending until staff decide."""
    application = await _mine(principal, registration_number)
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        await benefits.store_claim(application, category_code, filename, data, principal.actor)
        await _bump(application)
    return application


async def withdraw_benefit(principal: Principal, registration_number: str, claim_id: int) -> Application:
    """R15, R16: the parent withdraws a benefit; the application keeps its time."""
    application = await _mine(principal, registration_number)
    async with in_transaction():
        application = await Application.select_for_update().get(id=application.id)
        claim = await BenefitClaim.get_or_none(
            id=claim_id, application=application, status__in=[s.value for s in STANDING]
        ).prefetch_related("category")
        if claim is None:
            raise DomainError("claim.unknown", "claim")
        claim.status = ClaimStatus.WITHDRAWN.value
        claim.decided_by, claim.decided_at = principal.actor, datetime.now(UTC)
        await claim.save()
        await events.record_event(
            application, "benefit_withdrawn", principal.actor, data={"category": claim.category.code}
        )
        moved = await benefits.apply_benefit_class(application, principal.actor, "withdrawn by the parent")
        await _bump(application)
    if moved:
        await queue.request_refresh_for(application)
    return application


async def withdraw_application(principal: Principal, registration_number: str, reason: str) -> Application:
    """R31: the parent ends the application; it leaves the queue and the child may apply again."""
    application = await _mine(principal, registration_number)
    return await events.move(application.id, Transition.WITHDRAW, principal.actor, (reason or "").strip()[:500])


# -- the answer to an offer (issue 9, R27, R28) ---------------------------------------------


async def accept_offer(principal: Principal, referral_id: Any) -> referrals.Moved:
    """R27: yes to the offer, until its last day; then it is to be presented (R28)."""
    return await referrals.accept(principal, referral_id)


async def decline_offer(principal: Principal, referral_id: Any) -> referrals.Moved:
    """No to the offer: the stop-list when the parent chose the kindergarten (R30), nothing
    otherwise (R27); `referrals.chosen` tells which, and the page says it before."""
    return await referrals.decline(principal, referral_id)


async def extend_referral(principal: Principal, referral_id: Any, days: int) -> referrals.Moved:
    """R28: the presentation deadline moved once, by 1 to [30] calendar days, before it passes."""
    return await referrals.extend(principal, referral_id, days)
