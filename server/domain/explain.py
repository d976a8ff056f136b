"""Why a queue number changed (R24), as pure code.

A refresh of a cohort knows the changes since the last refresh (who registered, who
left, whose benefit changed) and every entry's number before and after. For an entry
whose number changed, a change counts as a reason when it moved someone across that
entry: someone now stands ahead who did not before (an *arrival*), or someone who stood
ahead no longer does (a *departure*). Reasons are counted by kind, and the entry's own
change, if it had one, is a reason too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.domain.ordering import BenefitClass
from server.domain.states import State, Transition


class ChangeKind(StrEnum):
    """What happened to an application that affects its cohort's order."""

    REGISTERED = "registered"
    BENEFIT_GAINED = "benefit_gained"
    BENEFIT_LOST = "benefit_lost"
    SUSPENDED = "suspended"
    RESTORED = "restored"
    OFFERED = "offered"  # took a place offer: leaves the queue (R26)
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"  # enrolled elsewhere, or reached the maximum age (R31)


# States whose applications belong to the cohort's order; suspended ones are skipped
# by the ordering (R22) but keep their place.
COUNTED_STATES = (State.QUEUED.value, State.SUSPENDED.value)

# What each transition of the state machine does to the cohort (None: nothing).
TRANSITION_KINDS: dict[Transition, ChangeKind | None] = {
    Transition.SUBMIT: None,
    Transition.REGISTER: ChangeKind.REGISTERED,
    Transition.SUSPEND: ChangeKind.SUSPENDED,
    Transition.RESTORE: ChangeKind.RESTORED,
    Transition.OFFER: ChangeKind.OFFERED,
    Transition.RETURN: ChangeKind.RESTORED,  # back in the queue at its place, as from the stop-list
    Transition.ENROL: None,  # already left the queue when the place was offered
    Transition.WITHDRAW: ChangeKind.WITHDRAWN,
    Transition.CLOSE: ChangeKind.CLOSED,
    Transition.ABANDON: None,
}


# The reason counted for an entry: a change's kind, refined by the class the arrival
# stands in for registrations ("registered_priority"), or "own_<kind>" for the entry's
# own change, or "reordered" when nothing but the interleaving moved it.
REORDERED = "reordered"


@dataclass(frozen=True)
class Moved:
    """A changed application: its numbers before and after (None: not in the queue)."""

    kind: ChangeKind
    old: int | None
    new: int | None
    standing_class: str = BenefitClass.GENERAL.value

    @property
    def reason(self) -> str:
        if self.kind is ChangeKind.REGISTERED:
            return f"registered_{self.standing_class}"
        return self.kind.value


def explain(old: Mapping[int, int], new: Mapping[int, int], changes: Mapping[int, Moved]) -> dict[int, dict[str, int]]:
    """For every key numbered both before and after whose number changed: the count of
    each reason. Arrivals and departures of changes with no number on one side are
    counted by binary search, so a refresh of a large cohort stays linear-ish."""
    arrivals: dict[str, list[int]] = {}  # reason -> sorted new numbers (no old number)
    departures: dict[str, list[int]] = {}  # reason -> sorted old numbers (no new number)
    movers: list[tuple[str, int, int]] = []  # (reason, old, new)
    for change in changes.values():
        if change.old is None and change.new is not None:
            arrivals.setdefault(change.reason, []).append(change.new)
        elif change.new is None and change.old is not None:
            departures.setdefault(change.reason, []).append(change.old)
        elif change.old is not None and change.new is not None:
            movers.append((change.reason, change.old, change.new))
    for numbers in (*arrivals.values(), *departures.values()):
        numbers.sort()

    result: dict[int, dict[str, int]] = {}
    for key, before in old.items():
        after = new.get(key)
        if after is None or after == before:
            continue
        reasons: Counter[str] = Counter()
        own = changes.get(key)
        if own is not None:
            reasons[f"own_{own.kind.value}"] += 1
        for reason, numbers in arrivals.items():
            count = bisect_left(numbers, after)
            if count:
                reasons[reason] += count
        for reason, numbers in departures.items():
            count = bisect_left(numbers, before)
            if count:
                reasons[reason] += count
        for reason, was, now in movers:
            if now < after and was > before:
                reasons[reason] += 1  # moved ahead of this entry
            elif was < before and now > after:
                reasons[reason] += 1  # moved behind it
        if not reasons:
            reasons[REORDERED] += 1
        result[key] = dict(reasons)
    return result
