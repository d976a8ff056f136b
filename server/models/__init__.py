"""Tortoise models, one module per aggregate."""

from server.models.application import (
    Application,
    ApplicationEvent,
    BenefitClaim,
    Contact,
    Document,
    IdempotencyKey,
    Preference,
    RegistrationSequence,
)
from server.models.auth import IntegratorToken, OtpChallenge
from server.models.department import BenefitCategory, Department, Kindergarten
from server.models.notification import Notification
from server.models.places import AllocationDue, Group, Referral, Seat
from server.models.queue import CohortChange, QueueChange, QueueCohort, QueueEntry
from server.models.registry import RegistryRecord
from server.models.staff import AuditEntry, StaffAccount

__all__ = [
    "AllocationDue",
    "Application",
    "ApplicationEvent",
    "AuditEntry",
    "BenefitCategory",
    "BenefitClaim",
    "CohortChange",
    "Contact",
    "Department",
    "Document",
    "Group",
    "IdempotencyKey",
    "IntegratorToken",
    "Kindergarten",
    "Notification",
    "OtpChallenge",
    "Preference",
    "QueueChange",
    "QueueCohort",
    "QueueEntry",
    "Referral",
    "RegistrationSequence",
    "RegistryRecord",
    "Seat",
    "StaffAccount",
]
