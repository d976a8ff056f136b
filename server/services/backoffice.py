"""The staff back-office (issue 4): find applications, correct them, decide benefits.

Every change is made by a staff principal (an account, or an integrator token with a
`staff:<role>` scope) of the application's department, with a role that allows it
(`server/domain/roles.py`), on the version the change was made on: a stale change is
refused with `edit.stale`, never a silent overwrite. Each changed field leaves one
append-only audit row (who, when, from which address, before, after, why) in the same
transaction as the change.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from server.auth.principal import Principal
from server.domain import phones as phone_rules
from server.domain import roles, states
from server.domain.benefits import STANDING, ClaimStatus, Evidence
from server.domain.iin import normalize as normalize_iin
from server.domain.messages import needs_email
from server.domain.states import UNSUBMITTED, State, Transition
from server.errors import DomainError
from server.models import Application, AuditEntry, BenefitClaim, Contact, Document, Preference
from server.services import benefits, events, notifications, queue
from server.services.journey import write_preferences
from server.services.validation import check_notifications, check_preferences, clean_email, clean_phone

MAX_PAGE = 100
REGISTRATION_NUMBER = re.compile(r"^[A-Z]{2,8}-\d{4}-\d+$")  # AST-2026-004215 (a phone may have dashes too)
# The states staff filter by: every state but those of an application never submitted.
STATUSES = tuple(s.value for s in State if s not in UNSUBMITTED)


# --- who may -----------------------------------------------------------------------


def staff_role(principal: Principal) -> tuple[str, int] | None:
    """(role, department id) of a staff member or a staff-scoped integrator token."""
    if principal.kind == "staff" and principal.role and principal.department_id:
        return principal.role, principal.department_id
    if principal.kind == "integrator" and principal.department_id:
        for role in roles.ROLES:
            # A kindergarten role is bound to one kindergarten: only an account has it.
            if role not in roles.KINDERGARTEN_ROLES and principal.has_scope(f"staff:{role}"):
                return role.value, principal.department_id
    return None


def may(principal: Principal, operation: str, department_id: int) -> bool:
    scope = staff_role(principal)
    return scope is not None and scope[1] == department_id and roles.allowed(scope[0], operation)


def _require(principal: Principal, operation: str, application: Application) -> None:
    if not may(principal, operation, application.department_id):
        raise DomainError("auth.required")


# --- reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    query: str = ""
    status: str = ""
    cohort: int | None = None
    benefit_class: str = ""
    pending_verification: bool = False


@dataclass(frozen=True)
class Page:
    rows: list[Application]
    has_next: bool


async def find(principal: Principal, filters: Filters, first: int = 25, after: int | None = None) -> Page:
    """The department's registered applications, newest first, filtered; keyset on id.
    The query finds a registration number, an applicant's or child's IIN, a phone, or
    a part of a name."""
    scope = staff_role(principal)
    if scope is None or not roles.allowed(scope[0], "application.read"):
        raise DomainError("auth.required")
    if not 1 <= first <= MAX_PAGE:
        raise DomainError("page.size", "first", max=MAX_PAGE)
    query = Application.filter(department_id=scope[1]).exclude(state__in=[s.value for s in UNSUBMITTED])
    text = filters.query.strip()
    if text:
        query = query.filter(_matching(text))
    if filters.status:
        if filters.status not in STATUSES:
            raise DomainError("filter.status", "status")
        query = query.filter(state=filters.status)
    if filters.cohort is not None:
        query = query.filter(cohort=filters.cohort)
    if filters.benefit_class:
        query = query.filter(benefit_class=filters.benefit_class)
    if filters.pending_verification:
        pending = BenefitClaim.filter(status=ClaimStatus.PENDING.value, source=Evidence.DOCUMENT.value).values_list(
            "application_id", flat=True
        )
        query = query.filter(id__in=await pending)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(first + 1)
    return Page(rows=rows[:first], has_next=len(rows) > first)


def _matching(text: str) -> Q:
    digits = normalize_iin(text)
    if len(digits) == 12 and digits.isdigit():
        return Q(applicant_iin=digits) | Q(child_iin=digits)
    upper = text.upper().replace(" ", "")
    if REGISTRATION_NUMBER.match(upper):
        return Q(registration_number=upper)
    try:
        return Q(contacts__kind="phone", contacts__value=phone_rules.normalize_mobile(text))
    except phone_rules.InvalidPhone:
        pass
    return Q(search_names__contains=" ".join(text.lower().split()))


async def application_for(principal: Principal, registration_number: str) -> Application:
    application = await Application.get_or_none(registration_number=registration_number.strip().upper())
    if application is None or not may(principal, "application.read", application.department_id):
        raise DomainError("application.unknown")  # another department's looks like none
    return application


async def verification_queue(principal: Principal, first: int = 50) -> list[BenefitClaim]:
    """Pending document claims of the department, oldest first."""
    scope = staff_role(principal)
    if scope is None or not roles.allowed(scope[0], "benefit.decide"):
        raise DomainError("auth.required")
    return await (
        BenefitClaim.filter(
            status=ClaimStatus.PENDING.value, source=Evidence.DOCUMENT.value, application__department_id=scope[1]
        )
        .exclude(application__state__in=[s.value for s in UNSUBMITTED])
        .order_by("created_at", "id")
        .limit(min(max(first, 1), MAX_PAGE))
        .prefetch_related("application", "category", "document")
    )


async def document_for(principal: Principal, document_id: str) -> Document | None:
    """A benefit document of the staff member's department, to view (None otherwise)."""
    document = await Document.get_or_none(id=document_id).prefetch_related("application")
    if document is None or not may(principal, "application.read", document.application.department_id):
        return None
    return document


# --- changing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Who changes what on which version, from where, and why."""

    principal: Principal
    registration_number: str
    version: int
    ip: str = ""
    reason: str = ""


class _Audit:
    """The audit rows of one change, written in its transaction."""

    def __init__(self, edit: Edit, application: Application) -> None:
        self.edit = edit
        self.application = application
        self.changed: list[str] = []

    async def field(self, entity: str, entity_id: object, field: str, before: object, after: object) -> None:
        if await audit_row(
            self.edit.principal.actor,
            self.edit.ip,
            self.application.department_id,
            self.application.id,
            entity,
            entity_id,
            field,
            before,
            after,
            self.edit.reason,
        ):
            self.changed.append(field)


async def audit_row(
    actor: str,
    ip: str,
    department_id: int,
    application_id: int | None,
    entity: str,
    entity_id: object,
    field: str,
    before: object,
    after: object,
    reason: str,
) -> bool:
    """One append-only audit row of a changed field, in the caller's transaction; nothing
    (False) when the value did not change. Every staff change writes through this."""
    if _text(before) == _text(after):
        return False
    await AuditEntry.create(
        actor=actor,
        ip=ip[:64],
        department_id=department_id,
        application_id=application_id,
        entity=entity,
        entity_id=str(entity_id),
        field=field,
        before=_text(before),
        after=_text(after),
        reason=reason.strip(),
    )
    return True


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _change(
    edit: Edit, operation: str, body: Callable[[Application, _Audit], Awaitable[Any]], *, needs_reason: bool = False
) -> Application:
    """Locks the application, checks the caller and the version, runs the change, bumps
    the version when something changed; refreshes the cohort after commit if it moved."""
    moved = False
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(
            registration_number=edit.registration_number.strip().upper()
        )
        if application is None or not may(edit.principal, "application.read", application.department_id):
            raise DomainError("application.unknown")
        _require(edit.principal, operation, application)
        if needs_reason and not edit.reason.strip():
            raise DomainError("reason.required", "reason")
        if application.version != edit.version:
            raise DomainError("edit.stale")
        audit = _Audit(edit, application)
        moved = bool(await body(application, audit))
        if audit.changed:
            application.version += 1
            await application.save()
            await events.record_event(
                application,
                "staff_edit",
                edit.principal.actor,
                reason=edit.reason.strip(),
                data={"fields": audit.changed},
            )
    if moved:
        await queue.request_refresh_for(application)
    await notifications.deliver_soon(application.id)
    return application


async def set_phone(edit: Edit, rank: int, value: str) -> Application:
    """Corrects one of the confirmed phones (staff confirm it by their own means)."""
    number = clean_phone(value, f"phone{rank}")

    async def body(application: Application, audit: _Audit) -> None:
        contact = await Contact.get_or_none(application=application, kind="phone", rank=rank)
        if contact is None:
            raise DomainError("contact.unknown", f"phone{rank}")
        if contact.value == number:
            return
        if await Contact.filter(application=application, kind="phone", value=number).exists():
            raise DomainError("phone.taken", f"phone{rank}")
        await audit.field("contact", contact.id, f"phone{rank}", contact.value, number)
        contact.value = number
        contact.confirmed_at = datetime.now(UTC)
        await contact.save()

    return await _change(edit, "application.edit", body)


async def set_email(edit: Edit, value: str) -> Application:
    address = clean_email(value)

    async def body(application: Application, audit: _Audit) -> None:
        contact = await Contact.get_or_none(application=application, kind="email")
        before = contact.value if contact else None
        if address is None and needs_email(application.notify_channel):
            raise DomainError("email.required_for_channel", "email")
        await audit.field("contact", contact.id if contact else "", "email", before, address)
        if before == address:
            return
        if contact is None:
            await Contact.create(
                application=application, kind="email", value=address, rank=1, confirmed_at=datetime.now(UTC)
            )
        elif address is None:
            await contact.delete()
        else:
            contact.value = address
            await contact.save()

    return await _change(edit, "application.edit", body)


async def set_notifications(edit: Edit, channel: str, language: str) -> Application:
    async def body(application: Application, audit: _Audit) -> None:
        has_email = await Contact.filter(application=application, kind="email").exists()
        check_notifications(channel, language, has_email)
        await audit.field("application", application.id, "notify_channel", application.notify_channel, channel)
        await audit.field("application", application.id, "notify_language", application.notify_language, language)
        application.notify_channel, application.notify_language = channel, language

    return await _change(edit, "application.edit", body)


async def set_preferences(
    edit: Edit, kindergarten_codes: list[str], any_kindergarten: bool, group_language: str, desired_start: str
) -> Application:
    async def body(application: Application, audit: _Audit) -> None:
        department = await application.department
        choice = await check_preferences(
            department, kindergarten_codes, any_kindergarten, group_language, desired_start
        )
        before = [
            p.kindergarten.code
            for p in await Preference.filter(application=application).order_by("rank").prefetch_related("kindergarten")
        ]
        after = [k.code for k in choice.kindergartens]
        await audit.field("application", application.id, "kindergartens", ",".join(before), ",".join(after))
        await audit.field(
            "application",
            application.id,
            "any_kindergarten",
            application.any_kindergarten,
            choice.any_kindergarten or not after,
        )
        await audit.field(
            "application", application.id, "group_language", application.group_language, choice.group_language
        )
        await audit.field(
            "application", application.id, "desired_start", application.desired_start, choice.desired_start
        )
        if audit.changed:
            await write_preferences(application, choice)

    return await _change(edit, "application.edit", body)


async def transition(edit: Edit, move: str) -> Application:
    try:
        step = Transition(move)
    except ValueError:
        raise DomainError("application.transition", "transition") from None
    if step not in roles.STAFF_TRANSITIONS:
        raise DomainError("application.transition", "transition")

    async def body(application: Application, audit: _Audit) -> bool:
        before = application.state
        try:
            moved = await events.transition(application, step, edit.principal.actor, edit.reason.strip())
        except states.IllegalTransition:
            raise DomainError("application.transition", "transition") from None
        await audit.field("application", application.id, "state", before, application.state)
        return moved

    return await _change(edit, "application.transition", body, needs_reason=True)


async def decide_claim(edit: Edit, claim_id: int, confirm: bool) -> Application:
    """R14: staff confirm or reject a pending document claim; a rejection needs a reason.
    The parent is told (R34); a confirmation moves the application in its cohort."""

    async def body(application: Application, audit: _Audit) -> bool:
        claim = await BenefitClaim.get_or_none(id=claim_id, application=application).prefetch_related("category")
        if claim is None or claim.status != ClaimStatus.PENDING:
            raise DomainError("claim.unknown", "claim")
        status = (ClaimStatus.CONFIRMED if confirm else ClaimStatus.REJECTED).value
        await audit.field("benefit_claim", claim.id, f"benefit:{claim.category.code}", claim.status, status)
        claim.status, claim.reason = status, edit.reason.strip()
        claim.decided_by, claim.decided_at = edit.principal.actor, datetime.now(UTC)
        await claim.save()
        await events.record_event(
            application,
            f"benefit_{status}",
            edit.principal.actor,
            reason=claim.reason,
            data={"category": claim.category.code},
        )
        before = application.benefit_class
        moved = await benefits.apply_benefit_class(application, edit.principal.actor, edit.reason.strip())
        await audit.field("application", application.id, "benefit_class", before, application.benefit_class)
        await notifications.queue_for_application(
            application,
            f"benefit_{status}",
            f"{claim.id}",
            number=application.registration_number,
        )
        return bool(moved)

    return await _change(edit, "benefit.decide", body, needs_reason=not confirm)


async def withdraw_benefit(edit: Edit, claim_id: int) -> Application:
    """R15: staff withdraw a benefit (pending or confirmed) with a reason; R16 keeps the
    registration time."""

    async def body(application: Application, audit: _Audit) -> bool:
        claim = await BenefitClaim.get_or_none(
            id=claim_id, application=application, status__in=[s.value for s in STANDING]
        ).prefetch_related("category")
        if claim is None:
            raise DomainError("claim.unknown", "claim")
        await audit.field(
            "benefit_claim", claim.id, f"benefit:{claim.category.code}", claim.status, ClaimStatus.WITHDRAWN.value
        )
        claim.status, claim.reason = ClaimStatus.WITHDRAWN.value, edit.reason.strip()
        claim.decided_by, claim.decided_at = edit.principal.actor, datetime.now(UTC)
        await claim.save()
        await events.record_event(
            application,
            "benefit_withdrawn",
            edit.principal.actor,
            reason=claim.reason,
            data={"category": claim.category.code},
        )
        before = application.benefit_class
        moved = await benefits.apply_benefit_class(application, edit.principal.actor, edit.reason.strip())
        await audit.field("application", application.id, "benefit_class", before, application.benefit_class)
        return bool(moved)

    return await _change(edit, "benefit.manage", body, needs_reason=True)


async def add_benefit(edit: Edit, category_code: str, filename: str, data: bytes | None) -> Application:
    """R15: staff add a document-backed benefit on the parent's behalf, confirmed at once
    (they hold the original)."""

    async def body(application: Application, audit: _Audit) -> bool:
        claim = await benefits.store_claim(
            application,
            category_code,
            filename,
            data,
            edit.principal.actor,
            status=ClaimStatus.CONFIRMED,
            reason=edit.reason.strip(),
        )
        await audit.field("benefit_claim", claim.id, f"benefit:{category_code}", None, ClaimStatus.CONFIRMED.value)
        before = application.benefit_class
        moved = await benefits.apply_benefit_class(application, edit.principal.actor, edit.reason.strip())
        await audit.field("application", application.id, "benefit_class", before, application.benefit_class)
        return bool(moved)

    return await _change(edit, "benefit.manage", body, needs_reason=True)


def allowed_transitions(principal: Principal, application: Application) -> list[str]:
    if not may(principal, "application.transition", application.department_id):
        return []
    state = State(application.state)
    return [t.value for t in roles.STAFF_TRANSITIONS if t in states.allowed(state)]


__all__ = [
    "Edit",
    "Filters",
    "Page",
    "add_benefit",
    "allowed_transitions",
    "application_for",
    "decide_claim",
    "document_for",
    "find",
    "may",
    "set_email",
    "set_notifications",
    "set_phone",
    "set_preferences",
    "staff_role",
    "transition",
    "verification_queue",
    "withdraw_benefit",
]
