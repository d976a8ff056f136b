"""Benefit claims (R13–R16) and the class they give an application (R20), for the
journey, the cabinet and the back-office alike."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from server import runtime
from server.domain import documents
from server.domain.benefits import STANDING, ClaimStatus, Evidence, class_of, stronger
from server.domain.explain import ChangeKind
from server.errors import DomainError
from server.models import Application, BenefitCategory, BenefitClaim, Document
from server.services import queue
from server.services.events import record_event

# Who decides a registry-backed claim (R13).
REGISTRY_ACTOR = "registry"


async def registry_categories() -> dict[str, BenefitCategory]:
    """The categories the registry shows, by code."""
    return {c.code: c for c in await BenefitCategory.filter(evidence=Evidence.REGISTRY.value)}


async def add_registry_claims(
    application: Application, codes: Iterable[str], categories: dict[str, BenefitCategory], decided_at: datetime
) -> None:
    """R13: registry-backed benefits are found, not claimed: confirmed at once. Inside the
    caller's transaction; codes of no known category are skipped."""
    for code in codes:
        if code in categories:
            await BenefitClaim.create(
                application=application,
                category=categories[code],
                source=Evidence.REGISTRY.value,
                status=ClaimStatus.CONFIRMED.value,
                decided_by=REGISTRY_ACTOR,
                decided_at=decided_at,
            )


async def store_claim(
    application: Application,
    category_code: str,
    filename: str,
    data: bytes | None,
    actor: str,
    *,
    status: ClaimStatus = ClaimStatus.PENDING,
    reason: str = "",
) -> BenefitClaim:
    """A document-backed claim with its scan (PDF, JPEG or PNG by content, within the
    department's size limit), for the draft, the cabinet and the back-office alike."""
    department = await application.department
    category = await BenefitCategory.get_or_none(code=category_code or "")
    if category is None:
        raise DomainError("benefit.unknown", "category")
    if category.evidence != Evidence.DOCUMENT:
        raise DomainError("benefit.not_by_document", "category")
    if await BenefitClaim.filter(
        application=application, category=category, status__in=[s.value for s in STANDING]
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
    decided = status != ClaimStatus.PENDING
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
            source=Evidence.DOCUMENT.value,
            status=status.value,
            document=document,
            reason=reason,
            decided_by=actor if decided else "",
            decided_at=datetime.now(UTC) if decided else None,
        )
        await record_event(application, "benefit_claimed", actor, reason=reason, data={"category": category.code})
    return claim


async def current_benefit_class(application: Application) -> str:
    confirmed = await BenefitClaim.filter(application=application, status=ClaimStatus.CONFIRMED.value).prefetch_related(
        "category"
    )
    return class_of(c.category.benefit_class for c in confirmed).value


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
    kind = ChangeKind.BENEFIT_GAINED if stronger(after, before) else ChangeKind.BENEFIT_LOST
    return await queue.note_change(application, kind)


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
        await queue.request_refresh_for(application)
    return application
