from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.application import Application, BenefitClaim, Preference, RegistrationSequence
    from server.models.auth import IntegratorToken
    from server.models.places import Group, Referral
    from server.models.queue import QueueCohort
    from server.models.staff import StaffAccount


class Department(Model):
    """A city or district education department, which owns a queue. The bracketed defaults of
    the product rules (R6–R34) are its settings."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=8, unique=True)
    name_kk = fields.CharField(max_length=200)
    name_ru = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=64, default="Asia/Almaty")
    max_age_years = fields.SmallIntField(default=6)  # R6
    max_preferences = fields.SmallIntField(default=4)  # R7
    max_document_mb = fields.SmallIntField(default=5)  # R14
    benefit_recheck_days = fields.SmallIntField(default=1)  # R17
    priority_ratio = fields.SmallIntField(default=3)  # R20
    priority_slot = fields.SmallIntField(default=0)  # R20: 0 = first in each block
    offer_working_days = fields.SmallIntField(default=3)  # R27
    presentation_working_days = fields.SmallIntField(default=5)  # R28
    extension_days = fields.SmallIntField(default=30)  # R28
    extraordinary_confirm_working_days = fields.SmallIntField(default=5)  # R29
    stoplist_days = fields.SmallIntField(default=10)  # R30
    notify_queue_change_over = fields.SmallIntField(default=10)  # R34
    regime = fields.CharField(max_length=12, default="referral", db_default="referral")  # server.domain.places.Regime

    applications: fields.ReverseRelation[Application]
    kindergartens: fields.ReverseRelation[Kindergarten]
    sequences: fields.ReverseRelation[RegistrationSequence]
    tokens: fields.ReverseRelation[IntegratorToken]
    cohorts: fields.ReverseRelation[QueueCohort]
    staff: fields.ReverseRelation[StaffAccount]

    class Meta:
        table = "department"

    def name(self, language: str) -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru


class Kindergarten(Model):
    id = fields.IntField(primary_key=True)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "kezek.Department", related_name="kindergartens"
    )
    department_id: int
    code = fields.CharField(max_length=32, unique=True)
    name_kk = fields.CharField(max_length=200)
    name_ru = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    address = fields.CharField(max_length=300, default="")
    languages = fields.CharField(max_length=32, default="kk,ru")  # comma-separated

    active = fields.BooleanField(default=True, db_default=True)
    version = fields.IntField(default=1, db_default=1)

    preferences: fields.ReverseRelation[Preference]
    groups: fields.ReverseRelation[Group]
    referrals: fields.ReverseRelation[Referral]
    staff: fields.ReverseRelation[StaffAccount]

    class Meta:
        table = "kindergarten"
        ordering = ["code"]

    def name(self, language: str) -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru


class BenefitCategory(Model):
    """R18: the categories, their classes and evidence rules are data."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    benefit_class = fields.CharField(max_length=16)  # server.domain.ordering.BenefitClass
    evidence = fields.CharField(max_length=16)  # server.domain.benefits.Evidence
    document_max_age_days = fields.SmallIntField(null=True)
    sort_order = fields.SmallIntField(default=0)
    # R32: a confirmed claim of this category marks the child's referral in the public
    # protocol (children of kindergarten staff).
    marks_referral = fields.BooleanField(default=False, db_default=False)
    name_kk = fields.TextField()
    name_ru = fields.TextField()
    name_en = fields.TextField()

    claims: fields.ReverseRelation[BenefitClaim]

    class Meta:
        table = "benefit_category"
        ordering = ["sort_order"]

    def name(self, language: str) -> str:
        return getattr(self, f"name_{language}", None) or self.name_ru
