"""GraphQL object types."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from schema.types.places import Referral, referral_of
from server.domain import iin as iin_rules
from server.domain import phones
from server.domain.allocation import Window
from server.domain.benefits import ClaimStatus
from server.domain.passed_over import Reason as PassedOverReason
from server.models import Application as ApplicationModel
from server.models import BenefitCategory as BenefitCategoryModel
from server.models import Department as DepartmentModel
from server.models import Kindergarten as KindergartenModel
from server.models import QueueEntry
from server.services import lookup, registry
from server.services import passed_over as passed_over_service
from server.services import referrals as referral_service


@strawberry.type(description="A field-level error; `message` is in the caller's language.")
class FieldError:
    field: str | None
    code: str
    message: str


@strawberry.type
class Kindergarten:
    code: str
    name: str
    address: str
    languages: list[str]

    @classmethod
    def of(cls, model: KindergartenModel, language: str) -> Kindergarten:
        return cls(
            code=model.code, name=model.name(language), address=model.address, languages=model.languages.split(",")
        )


@strawberry.type
class Department:
    code: str
    name: str
    max_age_years: int
    max_preferences: int
    max_document_mb: int
    priority_ratio: int
    offer_working_days: int = strawberry.field(description="R27: working days to answer an offer.")
    presentation_working_days: int = strawberry.field(
        description="R28: working days to present an accepted referral at the kindergarten."
    )
    extension_days: int = strawberry.field(description="R28: the one extension, at most this many calendar days.")
    stoplist_days: int = strawberry.field(description="R30: days on the stop-list after a refused or lapsed offer.")

    @classmethod
    def of(cls, model: DepartmentModel, language: str) -> Department:
        return cls(
            code=model.code,
            name=model.name(language),
            max_age_years=model.max_age_years,
            max_preferences=model.max_preferences,
            max_document_mb=model.max_document_mb,
            priority_ratio=model.priority_ratio,
            offer_working_days=model.offer_working_days,
            presentation_working_days=model.presentation_working_days,
            extension_days=model.extension_days,
            stoplist_days=model.stoplist_days,
        )


@strawberry.type(description="One of the eight benefit categories (data, not code: R18).")
class BenefitCategory:
    code: str
    name: str
    benefit_class: str
    evidence: str
    document_max_age_days: int | None

    @classmethod
    def of(cls, model: BenefitCategoryModel, language: str) -> BenefitCategory:
        return cls(
            code=model.code,
            name=model.name(language),
            benefit_class=model.benefit_class,
            evidence=model.evidence,
            document_max_age_days=model.document_max_age_days,
        )


@strawberry.type(description="A person from the registry. The IIN is masked outside staff.")
class Person:
    iin: str
    full_name: str
    birth_date: date | None


@strawberry.type
class BenefitClaim:
    id: strawberry.ID
    category: BenefitCategory
    source: str
    status: str
    reason: str
    decided_at: datetime | None = None
    has_document: bool = False


@strawberry.type
class Contact:
    kind: str
    value: str
    confirmed: bool


@strawberry.type(description="A recorded transition or fact of an application (R33).")
class ApplicationEvent:
    kind: str
    from_state: str | None
    to_state: str | None
    actor: str
    reason: str
    at: datetime


strawberry.enum(
    PassedOverReason,
    name="PassedOverReason",
    description="Why a seat offered to another child of the cohort was not offered to this one.",
)


@strawberry.type(description="A seat offered recently to another child of the cohort, and why not to this application.")
class PassedOverOffer:
    kindergarten: Kindergarten
    group_name: str
    group_language: str
    queue_number: int = strawberry.field(description="The other child's queue number at the moment of the offer.")
    offered_at: datetime
    window: Window
    my_queue_number: int | None = strawberry.field(description="This application's queue number at that moment.")
    rank: int | None = strawberry.field(description="The kindergarten's place in this application's list.")
    reason: PassedOverReason
    text: str = strawberry.field(description="The reason in the caller's language.")


@strawberry.type
class Application:
    registration_number: str | None
    status: str
    step: str
    department: Department
    applicant: Person
    child: Person | None
    cohort: int | None
    queue_number: int | None
    benefit_class: str
    confirmed_at: datetime | None
    registered_at: datetime | None
    any_kindergarten: bool
    group_language: str | None
    desired_start: date | None
    notify_channel: str
    notify_language: str
    contacts: list[Contact]
    preferences: list[Kindergarten]
    benefits: list[BenefitClaim]
    events: list[ApplicationEvent]
    version: int = strawberry.field(
        description="Bumped by every change: staff edits name the version they were made on."
    )
    application_id: strawberry.Private[int] = 0

    @strawberry.field(description="The latest changes of the queue number, newest first, with their reasons (R24).")
    async def queue_changes(self, info: Info, last: int = lookup.RECENT_CHANGES) -> list[QueueNumberChange]:
        if self.registration_number is None:
            return []
        rows = await lookup.recent_changes(self.application_id, last)
        return [QueueNumberChange.of(change, info.context.language) for change in rows]

    @strawberry.field(description="Its referrals (offers of a seat, R26–R30), newest first.")
    async def referrals(self, info: Info) -> list[Referral]:
        if self.registration_number is None:
            return []
        rows = await referral_service.of_application(self.application_id)
        return [await referral_of(row, info.context.language) for row in rows]

    @strawberry.field(
        description="While it waits for a place: the seats offered to other children of its cohort in the last "
        "30 days (for the kindergartens it listed first), each with why it was not offered to this application."
    )
    async def passed_over(self, info: Info) -> list[PassedOverOffer]:
        if self.registration_number is None:
            return []
        language = info.context.language
        rows = await passed_over_service.recent(self.application_id, self.queue_number)
        return [
            PassedOverOffer(
                kindergarten=Kindergarten.of(seen.kindergarten, language),
                group_name=seen.group_name,
                group_language=seen.group_language,
                queue_number=seen.queue_number,
                offered_at=seen.offered_at,
                window=seen.window,
                my_queue_number=seen.my_number,
                rank=seen.rank,
                reason=seen.reason,
                text=passed_over_service.reason_text(seen, self.group_language or "", language),
            )
            for seen in rows
        ]


@strawberry.type(description="How many applications stand ahead, by class (R20).")
class QueueAhead:
    extraordinary: int
    priority: int
    general: int

    @strawberry.field(description="All applications ahead: the queue number minus one.")
    def total(self) -> int:
        return self.extraordinary + self.priority + self.general


@strawberry.type(description="One reason of a change, counted: `text` says it in the caller's language.")
class QueueChangeReason:
    kind: str
    count: int
    text: str


@strawberry.type(description="One change of a queue number and why it happened (R24).")
class QueueNumberChange:
    at: datetime
    old_number: int
    new_number: int
    reasons: list[QueueChangeReason]

    @classmethod
    def of(cls, change: lookup.Change, language: str) -> QueueNumberChange:
        return cls(
            at=change.at,
            old_number=change.old_number,
            new_number=change.new_number,
            reasons=[
                QueueChangeReason(kind=kind, count=count, text=lookup.reason_text(kind, count, language))
                for kind, count in sorted(change.reasons.items(), key=lambda item: (-item[1], item[0]))
            ],
        )


@strawberry.type(
    description="A child's place in the queue, for anyone who knows the child's IIN (R23). No names beyond masked initials."
)
class QueuePosition:
    initials: str
    department: Department
    cohort: int = strawberry.field(description="The child's year of birth: the cohort of the queue (R19).")
    registration_number: str
    status: str
    benefit_class: str
    queue_number: int | None = strawberry.field(
        description="Null while suspended (R22) or for the few seconds before a new registration is numbered."
    )
    ahead: QueueAhead | None
    cohort_size: int = strawberry.field(description="Applications with a number in this cohort.")
    updated_at: datetime | None = strawberry.field(description="When the number was last written.")
    application_id: strawberry.Private[int]

    @strawberry.field(description="The latest changes of the number, newest first, with their reasons.")
    async def changes(self, info: Info, last: int = lookup.RECENT_CHANGES) -> list[QueueNumberChange]:
        rows = await lookup.recent_changes(self.application_id, last)
        return [QueueNumberChange.of(change, info.context.language) for change in rows]

    @classmethod
    def of(cls, position: lookup.Position, language: str) -> QueuePosition:
        return cls(
            initials=position.initials,
            department=Department.of(position.department, language),
            cohort=position.cohort,
            registration_number=position.registration_number,
            status=position.state,
            benefit_class=position.benefit_class,
            queue_number=position.number,
            ahead=None
            if position.number is None
            else QueueAhead(
                extraordinary=position.ahead_extraordinary,
                priority=position.ahead_priority,
                general=position.ahead_general,
            ),
            cohort_size=position.cohort_size,
            updated_at=position.updated_at,
            application_id=position.application_id,
        )


@strawberry.type(description="One application in a cohort's public list: no names, no IINs.")
class QueueRow:
    queue_number: int
    registration_number: str
    benefit_class: str


@strawberry.type
class QueueEdge:
    cursor: str
    node: QueueRow


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of a cohort's queue, in order; `after` takes an `endCursor` (keyset).")
class QueueConnection:
    edges: list[QueueEdge]
    page_info: PageInfo
    total_count: int


def _person(iin: str, data: dict | None, reveal: bool) -> Person:
    born = data.get("birth_date") if data else None
    return Person(
        iin=iin if reveal else iin_rules.mask(iin),
        full_name=registry.full_name(data),
        birth_date=date.fromisoformat(born) if born else None,
    )


async def _queue_number(model: ApplicationModel) -> int | None:
    if model.registered_at is None:
        return None
    entry = await QueueEntry.get_or_none(application_id=model.id).only("id", "number")
    return entry.number if entry else None


async def application_of(model: ApplicationModel, info: Info, *, reveal_iin: bool = False) -> Application:
    """Builds the full Application type; callers have checked the caller may see it."""
    language = info.context.language
    await model.fetch_related("department", "contacts", "preferences__kindergarten", "benefits__category", "events")
    applicant = await registry.cached(model.applicant_iin)
    child = await registry.cached(model.child_iin) if model.child_iin else None
    return Application(
        registration_number=model.registration_number,
        status=model.state,
        step=model.step,
        department=Department.of(model.department, language),
        applicant=_person(model.applicant_iin, applicant, reveal_iin),
        child=_person(model.child_iin, child, reveal_iin) if model.child_iin else None,
        cohort=model.cohort,
        queue_number=await _queue_number(model),
        benefit_class=model.benefit_class,
        confirmed_at=model.confirmed_at,
        registered_at=model.registered_at,
        any_kindergarten=model.any_kindergarten,
        group_language=model.group_language,
        desired_start=model.desired_start,
        notify_channel=model.notify_channel,
        notify_language=model.notify_language,
        contacts=[
            Contact(
                kind=c.kind,
                value=phones.display(c.value) if c.kind == "phone" else c.value,
                confirmed=c.confirmed_at is not None,
            )
            for c in sorted(model.contacts, key=lambda c: (c.kind, c.rank))
        ],
        preferences=[
            Kindergarten.of(p.kindergarten, language) for p in sorted(model.preferences, key=lambda p: p.rank)
        ],
        benefits=[
            BenefitClaim(
                id=strawberry.ID(str(b.id)),
                category=BenefitCategory.of(b.category, language),
                source=b.source,
                status=b.status,
                reason=b.reason,
                decided_at=b.decided_at,
                has_document=b.document_id is not None,
            )
            for b in model.benefits
            if b.status != ClaimStatus.WITHDRAWN
        ],
        events=[
            ApplicationEvent(
                kind=e.kind,
                from_state=e.from_state,
                to_state=e.to_state,
                actor=e.actor,
                reason=e.reason,
                at=e.created_at,
            )
            for e in sorted(model.events, key=lambda e: e.id)
        ],
        version=model.version,
        application_id=model.id,
    )
