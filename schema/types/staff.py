"""Types of the staff back-office and the parent's cabinet."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from schema.types import Application, PageInfo, application_of
from server.domain.benefits import ClaimStatus
from server.models import Application as ApplicationModel
from server.models import AuditEntry, QueueEntry
from server.models import BenefitClaim as BenefitClaimModel
from server.services import backoffice, registry


@strawberry.type(description="One changed field of one staff change (append-only).")
class AuditRow:
    at: datetime
    actor: str
    ip: str
    entity: str
    field: str
    before: str | None
    after: str | None
    reason: str


@strawberry.type(description="A benefit claim as staff see it: who decided it, and its document to view (R14, R15).")
class StaffBenefit:
    claim_id: strawberry.ID
    category_code: str
    category_name: str
    benefit_class: str
    source: str = strawberry.field(description="registry | document")
    status: str = strawberry.field(description="pending | confirmed | rejected")
    reason: str
    decided_by: str
    decided_at: datetime | None
    claimed_at: datetime
    document_id: str | None = strawberry.field(
        description="For `GET /staff/documents/{documentId}` (staff of the department only)."
    )
    content_type: str | None


@strawberry.type(description="An application as the staff of its department see it: IINs shown, with its history.")
class StaffApplication:
    application: Application
    version: int
    allowed_transitions: list[str] = strawberry.field(description="State changes this caller may make now.")
    can_edit: bool
    can_decide_benefits: bool
    can_manage_benefits: bool
    model: strawberry.Private[ApplicationModel]

    @strawberry.field(description="Every staff change, newest first.")
    async def audit(self, last: int = 50) -> list[AuditRow]:
        rows = await AuditEntry.filter(application_id=self.model.id).order_by("-id").limit(max(1, min(last, 200)))
        return [
            AuditRow(
                at=r.at,
                actor=r.actor,
                ip=r.ip,
                entity=r.entity,
                field=r.field,
                before=r.before,
                after=r.after,
                reason=r.reason,
            )
            for r in rows
        ]

    @strawberry.field(description="Its benefit claims, oldest first (withdrawn ones left out), with their documents.")
    async def benefits(self, info: Info) -> list[StaffBenefit]:
        claims = await (
            BenefitClaimModel.filter(application_id=self.model.id)
            .exclude(status=ClaimStatus.WITHDRAWN.value)
            .order_by("id")
            .prefetch_related("category", "document")
        )
        language = info.context.language
        return [
            StaffBenefit(
                claim_id=strawberry.ID(str(c.id)),
                category_code=c.category.code,
                category_name=c.category.name(language),
                benefit_class=c.category.benefit_class,
                source=c.source,
                status=c.status,
                reason=c.reason,
                decided_by=c.decided_by,
                decided_at=c.decided_at,
                claimed_at=c.created_at,
                document_id=str(c.document.id) if c.document else None,
                content_type=c.document.content_type if c.document else None,
            )
            for c in claims
        ]

    @classmethod
    async def of(cls, model: ApplicationModel, info: Info) -> StaffApplication:
        principal = info.context.principal
        department = model.department_id
        return cls(
            application=await application_of(model, info, reveal_iin=True),
            version=model.version,
            allowed_transitions=backoffice.allowed_transitions(principal, model),
            can_edit=backoffice.may(principal, "application.edit", department),
            can_decide_benefits=backoffice.may(principal, "benefit.decide", department),
            can_manage_benefits=backoffice.may(principal, "benefit.manage", department),
            model=model,
        )


@strawberry.type(description="A line of the staff's application list.")
class StaffApplicationRow:
    registration_number: str | None
    status: str
    cohort: int | None
    benefit_class: str
    child_name: str
    queue_number: int | None
    confirmed_at: datetime | None

    @classmethod
    async def of(cls, model: ApplicationModel) -> StaffApplicationRow:
        entry = await QueueEntry.get_or_none(application_id=model.id).only("id", "number")
        child = await registry.cached(model.child_iin) if model.child_iin else None
        return cls(
            registration_number=model.registration_number,
            status=model.state,
            cohort=model.cohort,
            benefit_class=model.benefit_class,
            child_name=registry.full_name(child),
            queue_number=entry.number if entry else None,
            confirmed_at=model.confirmed_at,
        )


@strawberry.type
class StaffApplicationEdge:
    cursor: str
    node: StaffApplicationRow


@strawberry.type
class StaffApplicationConnection:
    edges: list[StaffApplicationEdge]
    page_info: PageInfo


@strawberry.type(description="A document-backed benefit claim waiting for a decision (R14).")
class VerificationItem:
    claim_id: strawberry.ID
    registration_number: str
    application_version: int
    category_code: str
    category_name: str
    benefit_class: str
    claimed_at: datetime
    document_id: str | None
    content_type: str | None

    @classmethod
    def of(cls, claim: BenefitClaimModel, language: str) -> VerificationItem:
        document = claim.document
        return cls(
            claim_id=strawberry.ID(str(claim.id)),
            registration_number=claim.application.registration_number or "",
            application_version=claim.application.version,
            category_code=claim.category.code,
            category_name=claim.category.name(language),
            benefit_class=claim.category.benefit_class,
            claimed_at=claim.created_at,
            document_id=str(document.id) if document else None,
            content_type=document.content_type if document else None,
        )


@strawberry.type(description="Who the caller is.")
class Viewer:
    kind: str
    name: str
    role: str | None
    department_code: str | None
