"""server/domain/referrals.py: the referral's life (R27–R30, R33)."""

from __future__ import annotations

import pytest

from server.domain.referrals import (
    OPEN,
    IllegalReferralMove,
    ReferralMove,
    ReferralState,
    apply,
    suspends,
)

S, M = ReferralState, ReferralMove


@pytest.mark.parametrize(
    ("path", "end"),
    [
        ([M.ACCEPT, M.ENROL], S.ENROLLED),
        ([M.ACCEPT, M.EXTEND, M.ENROL], S.ENROLLED),
        ([M.DECLINE], S.DECLINED),
        ([M.EXPIRE], S.EXPIRED),
        ([M.ACCEPT, M.EXPIRE], S.EXPIRED),
        ([M.ACCEPT, M.EXTEND, M.NO_SHOW], S.EXPIRED),
        ([M.ACCEPT, M.CANCEL], S.CANCELLED),
    ],
)
def test_the_lives_a_referral_can_have(path, end):
    state = S.OFFERED
    for move in path:
        state = apply(state, move)
    assert state is end


@pytest.mark.parametrize(
    ("state", "move"),
    [
        (S.EXTENDED, M.EXTEND),  # R28: one extension only
        (S.OFFERED, M.ENROL),  # enrolment needs an accepted referral
        (S.OFFERED, M.EXTEND),
        (S.ACCEPTED, M.DECLINE),
        (S.OFFERED, M.NO_SHOW),
    ],
)
def test_moves_outside_the_table_are_refused(state, move):
    with pytest.raises(IllegalReferralMove):
        apply(state, move)


@pytest.mark.parametrize("end", [S.ENROLLED, S.DECLINED, S.EXPIRED, S.CANCELLED])
def test_a_closed_referral_never_moves_again(end):
    assert end not in OPEN
    for move in M:
        with pytest.raises(IllegalReferralMove):
            apply(end, move)


def test_only_a_refused_or_lapsed_chosen_place_or_a_no_show_stop_lists_the_child():
    assert suspends(M.DECLINE, chosen=True) and not suspends(M.DECLINE, chosen=False)
    assert suspends(M.EXPIRE, chosen=True) and not suspends(M.EXPIRE, chosen=False)
    assert suspends(M.NO_SHOW, chosen=True) and suspends(M.NO_SHOW, chosen=False)
    assert not suspends(M.CANCEL, chosen=True) and not suspends(M.ENROL, chosen=True)
