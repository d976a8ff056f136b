"""Who on the staff may do what (issue 4): a table, not branches. Every staff account
and staff-scoped token acts for one department only."""

from __future__ import annotations

from enum import StrEnum

from server.domain.states import Transition


class Role(StrEnum):
    OPERATOR = "operator"  # finds and corrects applications
    VERIFIER = "verifier"  # decides benefits
    ADMIN = "admin"  # both


ROLES = tuple(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "application.read": frozenset({Role.OPERATOR, Role.VERIFIER, Role.ADMIN}),
    "application.edit": frozenset({Role.OPERATOR, Role.ADMIN}),  # contacts, preferences, notifications
    "application.transition": frozenset({Role.OPERATOR, Role.ADMIN}),
    "benefit.decide": frozenset({Role.VERIFIER, Role.ADMIN}),  # confirm or reject a document claim
    "benefit.manage": frozenset({Role.VERIFIER, Role.ADMIN}),  # add or withdraw a benefit (R15)
}

# The transitions staff make by hand; offers and enrolment come with referrals.
STAFF_TRANSITIONS = (Transition.SUSPEND, Transition.RESTORE, Transition.WITHDRAW, Transition.CLOSE)


def allowed(role: str | None, operation: str) -> bool:
    return role is not None and role in PERMISSIONS[operation]
