"""Benefits (R13–R16, R20): how a claim is shown, where it stands, and which class the
confirmed ones put an application in."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from server.domain.ordering import STRENGTH, BenefitClass


class Evidence(StrEnum):
    """How a benefit is shown: a category's rule (R18) and a claim's source."""

    REGISTRY = "registry"  # found in the state registry (R13), confirmed at once
    DOCUMENT = "document"  # a scan the parent uploads, pending until staff decide (R14)


class ClaimStatus(StrEnum):
    PENDING = "pending"  # a document claim waiting for staff
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # by the parent or by staff (R15)


# The claims that stand: they bar a second claim of the category and can be withdrawn.
STANDING = (ClaimStatus.PENDING, ClaimStatus.CONFIRMED)


def class_of(confirmed_classes: Iterable[str]) -> BenefitClass:
    """The strongest class among the confirmed benefits; general without any.
    Pending or rejected claims never count: only confirmed ones change the order."""
    classes = set(confirmed_classes)
    if BenefitClass.EXTRAORDINARY.value in classes:
        return BenefitClass.EXTRAORDINARY
    if BenefitClass.PRIORITY.value in classes:
        return BenefitClass.PRIORITY
    return BenefitClass.GENERAL


def stronger(a: str, b: str) -> bool:
    """Whether class `a` stands ahead of class `b`."""
    return STRENGTH[BenefitClass(a)] < STRENGTH[BenefitClass(b)]
