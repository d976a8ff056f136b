"""The referral's state machine (R27–R30, R33), as a table like `states.py`.

offered → accepted → enrolled; offered → declined; offered or accepted → expired;
accepted → extended, once (R28: the extended referral cannot be extended again);
any open referral → cancelled by staff with a reason (or by the system, R29).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.states import step


class ReferralState(StrEnum):
    OFFERED = "offered"  # waiting for the parent's answer, until the acceptance deadline
    ACCEPTED = "accepted"  # to be presented at the kindergarten, until the presentation deadline
    EXTENDED = "extended"  # accepted, with its one extension of the presentation deadline
    ENROLLED = "enrolled"
    DECLINED = "declined"
    EXPIRED = "expired"  # a deadline passed, or the child did not come (no-show)
    CANCELLED = "cancelled"


class ReferralMove(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    EXTEND = "extend"
    ENROL = "enrol"
    EXPIRE = "expire"
    NO_SHOW = "no_show"
    CANCEL = "cancel"


OPEN = frozenset({ReferralState.OFFERED, ReferralState.ACCEPTED, ReferralState.EXTENDED})
PRESENTABLE = frozenset({ReferralState.ACCEPTED, ReferralState.EXTENDED})

MOVES: dict[ReferralMove, tuple[frozenset[ReferralState], ReferralState]] = {
    ReferralMove.ACCEPT: (frozenset({ReferralState.OFFERED}), ReferralState.ACCEPTED),
    ReferralMove.DECLINE: (frozenset({ReferralState.OFFERED}), ReferralState.DECLINED),
    ReferralMove.EXTEND: (frozenset({ReferralState.ACCEPTED}), ReferralState.EXTENDED),
    ReferralMove.ENROL: (PRESENTABLE, ReferralState.ENROLLED),
    ReferralMove.EXPIRE: (OPEN, ReferralState.EXPIRED),
    ReferralMove.NO_SHOW: (PRESENTABLE, ReferralState.EXPIRED),
    ReferralMove.CANCEL: (OPEN, ReferralState.CANCELLED),
}


class IllegalReferralMove(Exception):
    def __init__(self, state: ReferralState, move: ReferralMove) -> None:
        super().__init__(f"{move.value} is not allowed from {state.value}")
        self.state = state
        self.move = move


def apply(state: ReferralState, move: ReferralMove) -> ReferralState:
    target = step(MOVES, state, move)
    if target is None:
        raise IllegalReferralMove(state, move)
    return target


def suspends(move: ReferralMove, *, chosen: bool) -> bool:
    """Whether the move puts the application on the stop-list (R30): a refused or
    expired referral does, unless it was for a kindergarten the parent did not choose and
    never accepted (R27: an offer after the priority window costs nothing to decline or
    to let pass). Not coming with an accepted referral always does."""
    if move in (ReferralMove.DECLINE, ReferralMove.EXPIRE):
        return chosen
    return move is ReferralMove.NO_SHOW
