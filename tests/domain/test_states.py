"""server/domain/states.py: the application's state machine (R33)."""

from __future__ import annotations

import pytest

from server.domain.states import (
    ACTIVE,
    TRANSITIONS,
    IllegalTransition,
    State,
    Transition,
    allowed,
    apply,
)

S, T = State, Transition

# Written out pair by pair, independently of TRANSITIONS.
EXPECTED: dict[tuple[State, Transition], State] = {
    (S.DRAFT, T.SUBMIT): S.SUBMITTED,
    (S.DRAFT, T.ABANDON): S.ABANDONED,
    (S.SUBMITTED, T.REGISTER): S.QUEUED,
    (S.SUBMITTED, T.WITHDRAW): S.WITHDRAWN,
    (S.SUBMITTED, T.CLOSE): S.CLOSED,
    (S.QUEUED, T.SUSPEND): S.SUSPENDED,
    (S.QUEUED, T.OFFER): S.OFFERED,
    (S.OFFERED, T.RETURN): S.QUEUED,
    (S.QUEUED, T.WITHDRAW): S.WITHDRAWN,
    (S.QUEUED, T.CLOSE): S.CLOSED,
    (S.SUSPENDED, T.RESTORE): S.QUEUED,
    (S.SUSPENDED, T.WITHDRAW): S.WITHDRAWN,
    (S.SUSPENDED, T.CLOSE): S.CLOSED,
    (S.OFFERED, T.ENROL): S.ENROLLED,
    (S.OFFERED, T.SUSPEND): S.SUSPENDED,  # R30: expired or refused referral
    (S.OFFERED, T.WITHDRAW): S.WITHDRAWN,
    (S.OFFERED, T.CLOSE): S.CLOSED,
}

TERMINAL = {S.ENROLLED, S.WITHDRAWN, S.CLOSED, S.ABANDONED}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("transition", list(Transition))
def test_every_transition_from_every_state(state, transition):
    if (state, transition) in EXPECTED:
        assert apply(state, transition) is EXPECTED[(state, transition)]
        assert transition in allowed(state)
    else:
        with pytest.raises(IllegalTransition) as caught:
            apply(state, transition)
        assert caught.value.state is state and caught.value.transition is transition
        assert transition.value in str(caught.value) and state.value in str(caught.value)
        assert transition not in allowed(state)


def test_the_module_table_is_exactly_the_expected_one():
    pairs = {
        (source, transition): target for transition, (sources, target) in TRANSITIONS.items() for source in sources
    }
    assert pairs == EXPECTED
    assert set(TRANSITIONS) == set(Transition)  # every named transition is in the table


@pytest.mark.parametrize("state", sorted(TERMINAL, key=lambda s: s.value))
def test_terminal_states_allow_nothing(state):
    assert allowed(state) == []


def test_every_state_is_reachable_from_draft():
    seen, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        state = frontier.pop()
        for transition in allowed(state):
            target = apply(state, transition)
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(State)


def test_active_states_hold_the_place_r5():
    assert {S.SUBMITTED, S.QUEUED, S.SUSPENDED, S.OFFERED} == ACTIVE
    assert not ACTIVE & TERMINAL
    assert S.DRAFT not in ACTIVE
    # Every active application can still be withdrawn by the parent and closed (R31).
    for state in ACTIVE:
        assert {T.WITHDRAW, T.CLOSE} <= set(allowed(state))
