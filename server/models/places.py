from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from server.domain.places import OfferKind, SeatState
from server.domain.referrals import ReferralState

if TYPE_CHECKING:
    from server.models.application import Application
    from server.models.department import Kindergarten


class Group(Model):
    """A kindergarten's age group (R25): the cohort it takes, its language, its size."""

    id = fields.IntField(primary_key=True)
    kindergarten: fields.ForeignKeyRelation[Kindergarten] = fields.ForeignKeyField(
        "kezek.Kindergarten", related_name="groups"
    )
    kindergarten_id: int
    department_id = fields.IntField()
    name = fields.CharField(max_length=100)
    cohort = fields.SmallIntField()  # the birth year of the children it takes (R19)
    language = fields.CharField(max_length=8)  # server.domain.languages.GroupLanguage
    capacity = fields.SmallIntField()
    enrolled = fields.SmallIntField(default=0)
    active = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    seats: fields.ReverseRelation[Seat]
    referrals: fields.ReverseRelation[Referral]

    class Meta:
        table = "kindergarten_group"
        unique_together = (("kindergarten", "name"),)
        indexes = (("department_id", "cohort"),)
        ordering = ["cohort", "name"]


class Seat(Model):
    """One published vacant seat of a group (R25), offered by the allocation.

    The unique `referral.open_seat` keeps a seat in at most one open referral."""

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField("kezek.Group", related_name="seats")
    group_id: int
    department_id = fields.IntField()
    cohort = fields.SmallIntField()
    state = fields.CharField(max_length=12, default=SeatState.OPEN.value)
    published_at = fields.DatetimeField()
    published_by = fields.CharField(max_length=100)
    # R27: the last day of the priority window, in the department's time zone; after it
    # the seat may be offered to children who did not list the kindergarten.
    chosen_until = fields.DateField()
    closed_at = fields.DatetimeField(null=True)  # withdrawn or filled
    closed_by = fields.CharField(max_length=100, default="")

    referrals: fields.ReverseRelation[Referral]

    class Meta:
        table = "seat"
        indexes = (("department_id", "cohort", "state"), ("group_id", "state"))


class Referral(Model):
    """An offer of one seat to one child (R26–R30), with its deadlines and its history.

    While it is open, `open_application` and `open_seat` hold the application's and the
    seat's ids; both are unique, so no child has two open offers and no seat is offered
    twice, whatever runs at once (R26). They are emptied when the referral closes.
    """

    id = fields.IntField(primary_key=True)
    public_id = fields.UUIDField(unique=True)
    kind = fields.CharField(max_length=12, default=OfferKind.REFERRAL.value)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="referrals"
    )
    application_id: int
    seat: fields.ForeignKeyRelation[Seat] = fields.ForeignKeyField("kezek.Seat", related_name="referrals")
    seat_id: int
    group: fields.ForeignKeyRelation[Group] = fields.ForeignKeyField("kezek.Group", related_name="referrals")
    group_id: int
    kindergarten: fields.ForeignKeyRelation[Kindergarten] = fields.ForeignKeyField(
        "kezek.Kindergarten", related_name="referrals"
    )
    kindergarten_id: int
    department_id = fields.IntField()
    cohort = fields.SmallIntField()
    state = fields.CharField(max_length=12, default=ReferralState.OFFERED.value, db_index=True)
    window = fields.CharField(max_length=8)  # server.domain.allocation.Window
    rank = fields.SmallIntField(null=True)  # the kindergarten's place in the parent's list
    queue_number = fields.IntField()  # at the moment of the offer (R32's protocol)
    benefit_class = fields.CharField(max_length=16)  # at the moment of the offer
    staff_child = fields.BooleanField(default=False)  # R32: marked in the public protocol
    offered_at = fields.DatetimeField()
    accept_by = fields.DateField()  # R27, last day, department time zone
    present_by = fields.DateField(null=True)  # R28, set on acceptance, moved once by an extension
    confirm_by = fields.DateField(null=True)  # R29: extraordinary benefit to be confirmed by then
    benefit_confirmed_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")  # why it closed
    explanation: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    open_application = fields.IntField(null=True, unique=True)
    open_seat = fields.IntField(null=True, unique=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "referral"
        indexes = (("department_id", "offered_at"), ("application_id", "id"), ("kindergarten_id", "state"))


class AllocationDue(Model):
    """A department's cohort whose seats came free or were published since its last
    allocation run: written in that change's transaction, deleted by the run that saw
    it (as `cohort_change` is for queue refreshes)."""

    id = fields.IntField(primary_key=True)
    department_id = fields.IntField()
    cohort = fields.SmallIntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "allocation_due"
        indexes = (("department_id", "cohort"),)
