"""The application journey (R1–R9, R13, R14): a draft filled step by step by a parent,
or a whole application submitted at once by an integrator. The only writer of
applications before registration."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server import runtime
from server.auth import otp
from server.auth.principal import Principal
from server.domain import age, benefits, documents, phones, states
from server.domain import iin as iin_rules
from server.domain.explain import ChangeKind
from server.domain.journey import step_index
from server.domain.states import State, Transition
from server.errors import DomainError, ValidationErrors, collect
from server.i18n import get_language
from server.models import (
    Application,
    ApplicationEvent,
    BenefitCategory,
    BenefitClaim,
    Contact,
    Department,
    Document,
    IdempotencyKey,
    Kindergarten,
    Notification,
    Preference,
)
from server.services import jobs, notifications, queue, registry

GROUP_LANGUAGES = ("kk", "ru", "other")
CHANNELS = ("sms", "email", "both")
NOTIFY_LANGUAGES = ("kk", "ru", "en")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def _now() -> datetime:
    return datetime.now(UTC)


def today_in(department: Department) -> date:
    return datetime.now(ZoneInfo(department.timezone)).date()


# --- validation shared by the steps and by submitApplication -------------------------


def clean_iin(raw: str, field: str) -> str:
    value = iin_rules.normalize(raw)
    if not value:
        raise DomainError("iin.required", field)
    if not iin_rules.is_valid(value):
        raise DomainError("iin.invalid", field)
    return value


def clean_phone(raw: str, field: str) -> str:
    if not (raw or "").strip():
        raise DomainError("phone.required", field)
    try:
        return phones.normalize_mobile(raw)
    except phones.InvalidPhone as exc:
        raise DomainError("phone.invalid", field) from exc


def clean_email(raw: str, field: str = "email") -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL.match(value):
        raise DomainError("email.invalid", field)
    return value


async def department_by_code(code: str) -> Department:
    department = await Department.get_or_none(code=(code or "").strip().upper())
    if department is None:
        raise DomainError("department.unknown", "department")
    return department


@dataclass
class ChildFacts:
    child_iin: str
    birth_date: date
    cohort: int
    registry_benefits: list[str]


async def check_child(department: Department, applicant_iin: str, raw_child_iin: str) -> ChildFacts:
    """R3–R6: the child exists, the applicant represents it, it is young enough, and it
    has no active application in this department."""
    child_iin = clean_iin(raw_child_iin, "child_iin")
    if child_iin == applicant_iin:
        raise DomainError("child.same_as_applicant", "child_iin")
    child = await registry.lookup(child_iin, "child_iin")
    applicant = await registry.cached(applicant_iin) or await registry.lookup(applicant_iin, "applicant_iin")
    represented = {c.get("iin") for c in applicant.get("children", [])}
    if child_iin not in represented:
        raise DomainError("child.not_represented", "child_iin")
    born = date.fromisoformat(child["birth_date"])
    today = today_in(department)
    if born > today:
        raise DomainError("child.not_born", "child_iin")
    if not age.is_young_enough(born, today, department.max_age_years):
        raise DomainError("child.too_old", "child_iin", years=department.max_age_years)
    existing = await Application.get_or_none(active_key=active_key(department.id, child_iin))
    if existing is not None:
        raise DomainError("child.already_queued", "child_iin", number=existing.registration_number or "…")
    benefits = sorted(set(child.get("benefits", [])) | set(applicant.get("benefits", [])))
    return ChildFacts(child_iin, born, age.cohort_of(born), benefits)


def active_key(department_id: int, child_iin: str) -> str:
    return f"{department_id}:{child_iin}"


@dataclass
class PreferenceChoice:
    kindergartens: list[Kindergarten]
    any_kindergarten: bool
    group_language: str
    desired_start: date


async def check_preferences(
    department: Department,
    kindergarten_codes: list[str],
    any_kindergarten: bool,
    group_language: str,
    desired_start: str | date | None,
) -> PreferenceChoice:
    errors: list[DomainError] = []
    codes = [c.strip() for c in kindergarten_codes if c and c.strip()]
    gardens: list[Kindergarten] = []
    if len(codes) != len(set(codes)):
        errors.append(DomainError("preferences.duplicate", "kindergartens"))
    elif len(codes) > department.max_preferences:
        errors.append(DomainError("preferences.too_many", "kindergartens", max=department.max_preferences))
    elif not codes and not any_kindergarten:
        errors.append(DomainError("preferences.none", "kindergartens"))
    else:
        found = {k.code: k for k in await Kindergarten.filter(department=department, code__in=codes)}
        if len(found) != len(codes):
            errors.append(DomainError("preferences.unknown", "kindergartens"))
        gardens = [found[c] for c in codes if c in found]
    if group_language not in GROUP_LANGUAGES:
        errors.append(DomainError("language.invalid", "group_language"))
    start: date | None = None
    try:
        start = desired_start if isinstance(desired_start, date) else date.fromisoformat((desired_start or "").strip())
    except ValueError:
        start = None
    if start is None or start < today_in(department) or start.year > today_in(department).year + 7:
        errors.append(DomainError("start.invalid", "desired_start"))
    collect(errors)
    assert start is not None
    return PreferenceChoice(gardens, any_kindergarten, group_language, start)


def check_notifications(channel: str, language: str, has_email: bool) -> None:
    errors = []
    if channel not in CHANNELS:
        errors.append(DomainError("channel.invalid", "channel"))
    elif channel in ("email", "both") and not has_email:
        errors.append(DomainError("email.required_for_channel", "channel"))
    if language not in NOTIFY_LANGUAGES:
        errors.append(DomainError("notify_language.invalid", "notify_language"))
    collect(errors)


# --- writers ----------------------------------------------------------------------------


async def record_event(
    application: Application,
    kind: str,
    actor: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict | None = None,
) -> ApplicationEvent:
    return await ApplicationEvent.create(
        application=application,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        data=data or {},
    )


async def transition(application: Application, move: Transition, actor: str, reason: str = "") -> bool:
    """Applies one transition of the state machine and records it (R33). Returns True
    when it moved the application's cohort: the caller then asks for the cohort's
    refresh after commit (`queue.request_refresh`)."""
    before = State(application.state)
    after = states.apply(before, move)
    application.state = after.value
    if after not in states.ACTIVE:
        application.active_key = None  # R5: the child may apply again
    event = await record_event(
        application, move.value, actor, from_state=before.value, to_state=after.value, reason=reason
    )
    message = TOLD.get(move)
    if message and application.registration_number:  # R34, sent after commit (notifications.deliver_soon)
        await notifications.queue_for_application(
            application, message, str(event.id), number=application.registration_number
        )
    return await queue.note_transition(application, move)


# R34: the transitions the parent is told of, and the message kind.
TOLD = {
    Transition.WITHDRAW: "closed",
    Transition.CLOSE: "closed",
    Transition.SUSPEND: "suspended",
    Transition.RESTORE: "restored",
}


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
    errors: list[DomainError] = []
    department = iin = number = None
    try:
        department = await department_by_code(department_code)
    except DomainError as exc:
        errors.append(exc)
    try:
        iin = clean_iin(applicant_iin, "applicant_iin")
    except DomainError as exc:
        errors.append(exc)
    try:
        number = clean_phone(phone, "phone")
    except DomainError as exc:
        errors.append(exc)
    collect(errors)
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
            confirmed_at=_now()
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
    errors: list[DomainError] = []
    number = address = None
    try:
        number = clean_phone(phone2, "phone2")
        first = await Contact.get(application=draft, kind="phone", rank=1)
        if number == first.value:
            raise DomainError("phone.same", "phone2")
    except DomainError as exc:
        errors.append(exc)
    try:
        address = clean_email(email)
    except DomainError as exc:
        errors.append(exc)
    collect(errors)
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
            await Contact.create(application=draft, kind="email", value=address, rank=1, confirmed_at=_now())
        elif draft.notify_channel in ("email", "both"):
            draft.notify_channel = "sms"
        draft.version += 1
        await draft.save()
    challenge_id = await _send_otp(draft, number, 2, ip) if needs_code else None
    return draft, challenge_id


async def set_child(principal: Principal, child_iin: str) -> Application:
    draft = await load_draft(principal, minimum_step="phone2")
    department = await draft.department
    facts = await check_child(department, draft.applicant_iin, child_iin)
    categories = {c.code: c for c in await BenefitCategory.filter(evidence="registry")}
    async with in_transaction():
        draft.child_iin = facts.child_iin
        draft.child_birth_date = facts.birth_date
        draft.cohort = facts.cohort
        _advance(draft, "child")
        draft.version += 1
        await draft.save()
        # R13: registry-backed benefits are found, not claimed.
        await BenefitClaim.filter(application=draft, source="registry").delete()
        for code in facts.registry_benefits:
            if code in categories:
                await BenefitClaim.create(
                    application=draft,
                    category=categories[code],
                    source="registry",
                    status="confirmed",
                    decided_by="registry",
                    decided_at=_now(),
                )
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
    await Preference.filter(application=application).delete()
    for rank, garden in enumerate(choice.kindergartens, start=1):
        await Preference.create(application=application, kindergarten=garden, rank=rank)
    application.any_kindergarten = choice.any_kindergarten or not choice.kindergartens
    application.group_language = choice.group_language
    application.desired_start = choice.desired_start


async def claim_benefit(principal: Principal, category_code: str, filename: str, data: bytes | None) -> BenefitClaim:
    """R14: a document-backed claim, pending until staff decide."""
    draft = await load_draft(principal, minimum_step="preferences")
    return await store_claim(draft, category_code, filename, data, principal.actor)


async def store_claim(
    application: Application,
    category_code: str,
    filename: str,
    data: bytes | None,
    actor: str,
    *,
    status: str = "pending",
    reason: str = "",
) -> BenefitClaim:
    """A document-backed claim with its scan (PDF, JPEG or PNG by content, within the
    department's size limit), for the draft, the cabinet and the back-office alike."""
    department = await application.department
    category = await BenefitCategory.get_or_none(code=category_code or "")
    if category is None:
        raise DomainError("benefit.unknown", "category")
    if category.evidence != "document":
        raise DomainError("benefit.not_by_document", "category")
    if await BenefitClaim.filter(
        application=application, category=category, status__in=("pending", "confirmed")
    ).exists():
        raise DomainError("benefit.duplicate", "category")
    if not data:
        raise DomainError("document.required", "document")
    limit_mb = min(department.max_document_mb, runtime.get().settings.max_upload_mb)
    if len(data) > limit_mb * 1024 * 1024:
        raise DomainError("document.too_large", "document", mb=limit_mb)
    mime = documents.sniff(data[:8192])
    if mime is None:
        raise DomainError("document.type", "document")
    document_id = uuid.uuid4()
    key = f"{document_id}.{documents.ALLOWED[mime]}"
    await runtime.get().gateways.storage.save(key, data)
    async with in_transaction():
        document = await Document.create(
            id=document_id,
            application=application,
            content_type=mime,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            original_name=(filename or "")[-200:],
        )
        claim = await BenefitClaim.create(
            application=application,
            category=category,
            source="document",
            status=status,
            document=document,
            reason=reason,
            decided_by=actor if status != "pending" else "",
            decided_at=_now() if status != "pending" else None,
        )
        await record_event(application, "benefit_claimed", actor, reason=reason, data={"category": category.code})
    return claim


async def withdraw_claim(principal: Principal, claim_id: int) -> Application:
    draft = await load_draft(principal, minimum_step="preferences")
    claim = await BenefitClaim.get_or_none(id=claim_id, application=draft, source="document")
    if claim is None:
        raise DomainError("claim.unknown", "claim")
    async with in_transaction():
        claim.status = "withdrawn"
        claim.decided_by = principal.actor
        claim.decided_at = _now()
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


async def current_benefit_class(application: Application) -> str:
    confirmed = await BenefitClaim.filter(application=application, status="confirmed").prefetch_related("category")
    return benefits.class_of(c.category.benefit_class for c in confirmed).value


async def move(application_id: int, move_: Transition, actor: str, reason: str = "") -> Application:
    """One transition of a registered application (suspend, restore, offer, withdraw,
    close…) by staff or the system, recorded (R33), with its cohort refreshed."""
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if application is None:
            raise DomainError("application.unknown")
        try:
            moved = await transition(application, move_, actor, reason)
        except states.IllegalTransition:
            raise DomainError("application.transition") from None
        application.version += 1
        await application.save()
    if moved:
        await queue.request_refresh(application.department_id, application.cohort)  # type: ignore[arg-type]
    await notifications.deliver_soon(application.id)
    return application


async def refresh_benefit_class(application_id: int, actor: str, reason: str = "") -> Application:
    """Re-derives the application's class from its confirmed benefits (R14, R16): a
    gained or lost class is recorded and moves the application in its cohort; losing it
    never loses the application, which keeps its registration time."""
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if application is None:
            raise DomainError("application.unknown")
        moved = await apply_benefit_class(application, actor, reason)
        if moved is not None:
            application.version += 1
            await application.save()
    if moved:
        await queue.request_refresh(application.department_id, application.cohort)  # type: ignore[arg-type]
    return application


async def apply_benefit_class(application: Application, actor: str, reason: str = "") -> bool | None:
    """Inside the caller's transaction: sets the class its confirmed benefits give and
    records the change. None when the class stays; else whether the cohort moved (the
    caller saves the application and asks for the refresh after commit)."""
    before = application.benefit_class
    after = await current_benefit_class(application)
    if after == before:
        return None
    application.benefit_class = after
    await record_event(application, "benefit_class", actor, reason=reason, data={"from": before, "to": after})
    kind = ChangeKind.BENEFIT_GAINED if benefits.stronger(after, before) else ChangeKind.BENEFIT_LOST
    return await queue.note_change(application, kind)


async def confirm(principal: Principal, idempotency_key: str | None) -> Application:
    """R9: the parent confirms the summary. Repeating it returns the same application."""
    if principal.draft_id is None:
        raise DomainError("draft.missing")
    scoped_key = f"draft:{principal.draft_id}:{idempotency_key}" if idempotency_key else None
    if scoped_key:
        existing = await IdempotencyKey.get_or_none(key=scoped_key).prefetch_related("application")
        if existing is not None:
            return existing.application
    application = await Application.get_or_none(public_id=principal.draft_id)
    if application is None:
        raise DomainError("draft.missing")
    if application.state != State.DRAFT.value:
        return application  # already submitted from this session: same application
    if step_index(application.step) < step_index("notifications"):
        raise DomainError("draft.step")
    return await _submit(application, principal, scoped_key)


async def _submit(application: Application, principal: Principal, scoped_key: str | None) -> Application:
    """Moves a complete draft to submitted, guarded by the unique active key (R5) and
    the unique idempotency key (R9); enqueues registration after commit."""
    assert application.child_iin is not None
    try:
        async with in_transaction():
            locked = await Application.select_for_update().get(id=application.id)
            if locked.state != State.DRAFT.value:
                return locked
            locked.benefit_class = await current_benefit_class(locked)
            locked.search_names = await _search_names(locked)
            locked.confirmed_at = _now()
            locked.active_key = active_key(locked.department_id, locked.child_iin)  # type: ignore[arg-type]
            await transition(locked, Transition.SUBMIT, principal.actor)
            locked.version += 1
            await locked.save()
            if scoped_key:
                await IdempotencyKey.create(key=scoped_key, application=locked)
            application = locked
    except IntegrityError:
        if scoped_key:
            existing = await IdempotencyKey.get_or_none(key=scoped_key).prefetch_related("application")
            if existing is not None:
                return existing.application
        other = await Application.get_or_none(active_key=active_key(application.department_id, application.child_iin))
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
    existing = await IdempotencyKey.get_or_none(key=scoped_key).prefetch_related("application")
    if existing is not None:
        return existing.application
    try:
        return await _submit_new(principal, data, scoped_key)
    except (DomainError, ValidationErrors):
        # A parallel call with the same key may have won meanwhile (its application
        # now makes this child "already queued"): the same key gets the same answer.
        existing = await IdempotencyKey.get_or_none(key=scoped_key).prefetch_related("application")
        if existing is not None:
            return existing.application
        raise


async def _submit_new(principal: Principal, data: SubmitInput, scoped_key: str) -> Application:
    errors: list[DomainError] = []
    department = applicant_iin = None
    try:
        department = await department_by_code(data.department_code)
        if principal.department_id is not None and principal.department_id != department.id:
            raise DomainError("auth.required", "department")
    except DomainError as exc:
        errors.append(exc)
    try:
        applicant_iin = clean_iin(data.applicant_iin, "applicant_iin")
        await registry.lookup(applicant_iin, "applicant_iin")
    except DomainError as exc:
        errors.append(exc)
    numbers: list[str] = []
    for index, raw in enumerate(data.phones[:2] + [""] * (2 - len(data.phones[:2])), start=1):
        try:
            numbers.append(clean_phone(raw, f"phones.{index}"))
        except DomainError as exc:
            errors.append(exc)
    if len(numbers) == 2 and numbers[0] == numbers[1]:
        errors.append(DomainError("phone.same", "phones.2"))
    email = None
    try:
        email = clean_email(data.email or "")
    except DomainError as exc:
        errors.append(exc)
    collect(errors)
    assert department is not None and applicant_iin is not None
    facts = await check_child(department, applicant_iin, data.child_iin)
    choice = await check_preferences(
        department, data.kindergarten_codes, data.any_kindergarten, data.group_language, data.desired_start
    )
    check_notifications(data.notify_channel, data.notify_language, email is not None)
    categories = {c.code: c for c in await BenefitCategory.filter(evidence="registry")}

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
        now = _now()
        for rank, number in enumerate(numbers, start=1):
            await Contact.create(application=application, kind="phone", value=number, rank=rank, confirmed_at=now)
        if email:
            await Contact.create(application=application, kind="email", value=email, rank=1, confirmed_at=now)
        await write_preferences(application, choice)
        await application.save()
        for code in facts.registry_benefits:
            if code in categories:
                await BenefitClaim.create(
                    application=application,
                    category=categories[code],
                    source="registry",
                    status="confirmed",
                    decided_by="registry",
                    decided_at=now,
                )
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
