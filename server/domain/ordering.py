"""Order of a cohort's queue (R20–R23).

Pure code: takes the cohort's entries, returns them in queue order.

- Extraordinary entries first, by registration time.
- Then priority and general interleaved, one priority to `ratio` general, the priority
  turn at `priority_slot` in each block; when one stream runs out the other goes on alone.
- Twins (R21) form a *batch*: the batch takes one turn in the stream of its strongest
  member, at the time of its earliest member, and its members stand one after the other.
- Suspended entries (R22) are skipped; they keep their registration time, so a restored
  entry returns to its original place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BenefitClass(StrEnum):
    EXTRAORDINARY = "extraordinary"
    PRIORITY = "priority"
    GENERAL = "general"


STRENGTH = {BenefitClass.EXTRAORDINARY: 0, BenefitClass.PRIORITY: 1, BenefitClass.GENERAL: 2}


@dataclass(frozen=True)
class Entry:
    key: int
    benefit_class: BenefitClass
    registered_at: datetime
    suspended: bool = False
    batch: int | None = None  # entries sharing a batch id stand together (twins, R21)


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


@dataclass(frozen=True)
class Standing:
    """An entry's queue number and how many of each class stand ahead of it."""

    number: int
    ahead_extraordinary: int
    ahead_priority: int
    ahead_general: int


def _time_key(entry: Entry) -> tuple[datetime, int]:
    return (entry.registered_at, entry.key)


def _units(active: Iterable[Entry]) -> list[tuple[Entry, ...]]:
    """Singletons and batches; each unit's members in registration order."""
    batches: dict[int, list[Entry]] = {}
    units: list[tuple[Entry, ...]] = []
    for entry in active:
        if entry.batch is None:
            units.append((entry,))
        else:
            batches.setdefault(entry.batch, []).append(entry)
    units.extend(tuple(sorted(members, key=_time_key)) for members in batches.values())
    return units


def _unit_class(unit: tuple[Entry, ...]) -> BenefitClass:
    return min((e.benefit_class for e in unit), key=STRENGTH.__getitem__)


def order(entries: Sequence[Entry], rule: Rule = Rule()) -> list[Entry]:
    """Active entries of one cohort in queue order; suspended ones are skipped."""
    streams: dict[BenefitClass, list[tuple[Entry, ...]]] = {c: [] for c in BenefitClass}
    for unit in _units(e for e in entries if not e.suspended):
        streams[_unit_class(unit)].append(unit)
    for units in streams.values():
        units.sort(key=lambda u: _time_key(u[0]))

    turns: list[tuple[Entry, ...]] = list(streams[BenefitClass.EXTRAORDINARY])
    priority, general = streams[BenefitClass.PRIORITY], streams[BenefitClass.GENERAL]
    p = g = taken = 0
    block = rule.ratio + 1
    while p < len(priority) or g < len(general):
        wants_priority = taken % block == rule.priority_slot
        if (wants_priority and p < len(priority)) or g >= len(general):
            turns.append(priority[p])
            p += 1
        else:
            turns.append(general[g])
            g += 1
        taken += 1
    return [entry for unit in turns for entry in unit]


def standings(entries: Sequence[Entry], rule: Rule = Rule()) -> dict[int, Standing]:
    """R23: each active entry's 1-based position, with the count of each (own) class
    standing ahead of it."""
    result: dict[int, Standing] = {}
    ahead = dict.fromkeys(BenefitClass, 0)
    for number, entry in enumerate(order(entries, rule), start=1):
        result[entry.key] = Standing(
            number,
            ahead[BenefitClass.EXTRAORDINARY],
            ahead[BenefitClass.PRIORITY],
            ahead[BenefitClass.GENERAL],
        )
        ahead[entry.benefit_class] += 1
    return result
