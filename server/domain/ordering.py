"""Order of a cohort's queue (R20, R22).

Pure code: takes the cohort's entries, returns them in queue order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Iterable, Sequence


class BenefitClass(str, Enum):
    EXTRAORDINARY = "extraordinary"
    PRIORITY = "priority"
    GENERAL = "general"


@dataclass(frozen=True)
class Entry:
    key: int
    benefit_class: BenefitClass
    registered_at: datetime
    suspended: bool = False


@dataclass(frozen=True)
class Rule:
    """One priority application to `ratio` general ones; the priority slot's place in
    each block of `ratio + 1` is `priority_slot` (0 = first)."""

    ratio: int = 3
    priority_slot: int = 0

    def __post_init__(self) -> None:
        if self.ratio < 1:
            raise ValueError("ratio must be at least 1")
        if not 0 <= self.priority_slot <= self.ratio:
            raise ValueError("priority_slot must lie within a block")


def _by_time(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.registered_at, e.key))


def order(entries: Sequence[Entry], rule: Rule = Rule()) -> list[Entry]:
    """Active entries of one cohort in queue order; suspended ones are skipped."""
    active = [e for e in entries if not e.suspended]
    extraordinary = _by_time(e for e in active if e.benefit_class is BenefitClass.EXTRAORDINARY)
    priority = _by_time(e for e in active if e.benefit_class is BenefitClass.PRIORITY)
    general = _by_time(e for e in active if e.benefit_class is BenefitClass.GENERAL)

    result = list(extraordinary)
    p = g = 0
    block = rule.ratio + 1
    while p < len(priority) or g < len(general):
        wants_priority = len(result[len(extraordinary):]) % block == rule.priority_slot
        take_priority = (wants_priority and p < len(priority)) or g >= len(general)
        if take_priority:
            result.append(priority[p])
            p += 1
        else:
            result.append(general[g])
            g += 1
    return result


def queue_numbers(entries: Sequence[Entry], rule: Rule = Rule()) -> dict[int, int]:
    """R23: 1-based position of each active entry's key."""
    return {entry.key: index for index, entry in enumerate(order(entries, rule), start=1)}
