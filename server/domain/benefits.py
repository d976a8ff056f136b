"""Which class a set of benefits puts an application in (R14, R20)."""

from __future__ import annotations

from collections.abc import Iterable

from server.domain.ordering import STRENGTH, BenefitClass


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
