from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from server.domain.languages import Language
from server.domain.messages import Channel
from server.domain.ordering import BenefitClass
from server.domain.states import State

if TYPE_CHECKING:
    from server.models.department import BenefitCategory, Department, Kindergarten
    from server.models.notification import Notification
    from server.models.places import Referral
    from server.models.queue import CohortChange, QueueChange, QueueEntry
    from server.models.staff import AuditEntry


class Application(Model):
    """A request to queue one child (a draft until the parent confirms it)."""

    id = fields.IntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "kezek.Department", related_name="applications"
    )
    department_id: int
    state = fields.CharField(max_length=16, default=State.DRAFT.value, db_index=True)
    step = fields.CharField(max_length=24, default="start")  # last completed journey step
    applicant_iin = fields.CharField(max_length=12, db_index=True)
    child_iin = fields.CharField(max_length=12, null=True, db_index=True)
    child_birth_date = fields.DateField(null=True)
    cohort = fields.SmallIntField(null=True)
    group_language = fields.CharField(max_length=8, null=True)  # kk | ru | other
    desired_start = fields.DateField(null=True)
    any_kindergarten = fields.BooleanField(default=False)
    notify_channel = fields.CharField(max_length=8, default=Channel.SMS.value)  # sms | email | both
    notify_language = fields.CharField(max_length=2, default=Language.KK.value)
    benefit_class = fields.CharField(max_length=16, default=BenefitClass.GENERAL.value)
    # "<department id>:<child IIN>" while the application is active, else NULL: the
    # unique constraint is what keeps one active application per child (R5).
    active_key = fields.CharField(max_length=32, null=True, unique=True)
    registration_number = fields.CharField(max_length=24, null=True, unique=True)
    confirmed_at = fields.DatetimeField(null=True)  # R11: decides the order
    registered_at = fields.DatetimeField(null=True)
    # Lower-case names of the applicant and the child from the registry, for staff search.
    search_names = fields.CharField(max_length=400, default="", db_default="")
    # Twins (R21): the lowest application id of the batch, on every member; NULL alone.
    batch_id = fields.IntField(null=True)
    # R30: the last day of a stop-list suspension; the daily job restores it after.
    # None for suspensions by staff, which staff lift.
    suspended_until = fields.DateField(null=True)
    created_via = fields.CharField(max_length=64, default="web")
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    events: fields.ReverseRelation[ApplicationEvent]
    contacts: fields.ReverseRelation[Contact]
    preferences: fields.ReverseRelation[Preference]
    documents: fields.ReverseRelation[Document]
    benefits: fields.ReverseRelation[BenefitClaim]
    idempotency_keys: fields.ReverseRelation[IdempotencyKey]
    notifications: fields.ReverseRelation[Notification]
    queue_entry: fields.BackwardOneToOneRelation[QueueEntry]
    cohort_changes: fields.ReverseRelation[CohortChange]
    queue_changes: fields.ReverseRelation[QueueChange]
    audit: fields.ReverseRelation[AuditEntry]
    referrals: fields.ReverseRelation[Referral]

    class Meta:
        table = "application"
        indexes = (("department_id", "cohort", "state"),)


class ApplicationEvent(Model):
    """One transition of the state machine, or another recorded fact (R33)."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="events"
    )
    application_id: int
    kind = fields.CharField(max_length=32)
    from_state = fields.CharField(max_length=16, null=True)
    to_state = fields.CharField(max_length=16, null=True)
    actor = fields.CharField(max_length=100)
    reason = fields.TextField(default="")
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "application_event"
        ordering = ["id"]


class Contact(Model):
    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="contacts"
    )
    application_id: int
    kind = fields.CharField(max_length=8)  # phone | email
    value = fields.CharField(max_length=254)
    rank = fields.SmallIntField(default=1)
    confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contact"
        unique_together = (("application", "kind", "value"),)
        ordering = ["kind", "rank"]


class Preference(Model):
    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="preferences"
    )
    application_id: int
    kindergarten: fields.ForeignKeyRelation[Kindergarten] = fields.ForeignKeyField(
        "kezek.Kindergarten", related_name="preferences"
    )
    kindergarten_id: int
    rank = fields.SmallIntField()

    class Meta:
        table = "preference"
        unique_together = (("application", "rank"), ("application", "kindergarten"))
        ordering = ["rank"]


class Document(Model):
    id = fields.UUIDField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="documents"
    )
    application_id: int
    content_type = fields.CharField(max_length=64)
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=200)
    original_name = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    claims: fields.ReverseRelation[BenefitClaim]

    class Meta:
        table = "document"


class BenefitClaim(Model):
    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="benefits"
    )
    application_id: int
    category: fields.ForeignKeyRelation[BenefitCategory] = fields.ForeignKeyField(
        "kezek.BenefitCategory", related_name="claims"
    )
    category_id: int
    source = fields.CharField(max_length=16)  # server.domain.benefits.Evidence
    status = fields.CharField(max_length=16)  # server.domain.benefits.ClaimStatus
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        "kezek.Document", related_name="claims", null=True
    )
    document_id: UUID | None
    reason = fields.TextField(default="")
    decided_by = fields.CharField(max_length=100, default="")
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "benefit_claim"
        ordering = ["id"]


class IdempotencyKey(Model):
    """R9: a repeated submission with the same key returns the same application."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)  # "<principal>:<client key>"
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="idempotency_keys"
    )
    application_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_key"


class RegistrationSequence(Model):
    """The last registration number issued per department and year, bumped under a row
    lock in the registering transaction, so numbers are unique and gap-free."""

    id = fields.IntField(primary_key=True)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "kezek.Department", related_name="sequences"
    )
    department_id: int
    year = fields.SmallIntField()
    last_value = fields.IntField(default=0)

    class Meta:
        table = "registration_sequence"
        unique_together = (("department", "year"),)
