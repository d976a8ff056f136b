"""The application's state machine (R33): every change is one named transition."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

S = TypeVar("S")
M = TypeVar("M")


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # confirmed by the parent, waiting for the registration job
    QUEUED = "queued"  # registered: has a registration number and a queue number
    SUSPENDED = "suspended"
    OFFERED = "offered"
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    ABANDONED = "abandoned"  # a draft nobody finished


class Transition(StrEnum):
    SUBMIT = "submit"
    REGISTER = "register"
    SUSPEND = "suspend"
    RESTORE = "restore"
    OFFER = "offer"
    RETURN = "return"  # an offer ended without a penalty: back in the queue at its place
    ENROL = "enrol"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    ABANDON = "abandon"


TRANSITIONS: dict[Transition, tuple[frozenset[State], State]] = {
    Transition.SUBMIT: (frozenset({State.DRAFT}), State.SUBMITTED),
    Transition.REGISTER: (frozenset({State.SUBMITTED}), State.QUEUED),
    Transition.SUSPEND: (frozenset({State.QUEUED, State.OFFERED}), State.SUSPENDED),
    Transition.RESTORE: (frozenset({State.SUSPENDED}), State.QUEUED),
    Transition.OFFER: (frozenset({State.QUEUED}), State.OFFERED),
    Transition.RETURN: (frozenset({State.OFFERED}), State.QUEUED),
    Transition.ENROL: (frozenset({State.OFFERED}), State.ENROLLED),
    Transition.WITHDRAW: (
        frozenset({State.SUBMITTED, State.QUEUED, State.SUSPENDED, State.OFFERED}),
        State.WITHDRAWN,
    ),
    Transition.CLOSE: (
        frozenset({State.SUBMITTED, State.QUEUED, State.SUSPENDED, State.OFFERED}),
        State.CLOSED,
    ),
    Transition.ABANDON: (frozenset({State.DRAFT}), State.ABANDONED),
}

# States in which an application holds the child's one place per department (R5).
ACTIVE = frozenset({State.SUBMITTED, State.QUEUED, State.SUSPENDED, State.OFFERED})

# States of an application never submitted: in no queue, and not the staff's to see.
UNSUBMITTED = frozenset({State.DRAFT, State.ABANDONED})


class IllegalTransition(Exception):
    def __init__(self, state: State, transition: Transition) -> None:
        super().__init__(f"{transition.value} is not allowed from {state.value}")
        self.state = state
        self.transition = transition


def step(table: Mapping[M, tuple[frozenset[S], S]], state: S, move: M) -> S | None:
    """Where `move` takes `state` in a state machine's table; None when it may not."""
    sources, target = table[move]
    return target if state in sources else None


def apply(state: State, transition: Transition) -> State:
    target = step(TRANSITIONS, state, transition)
    if target is None:
        raise IllegalTransition(state, transition)
    return target


def allowed(state: State) -> list[Transition]:
    return [t for t, (sources, _) in TRANSITIONS.items() if state in sources]
