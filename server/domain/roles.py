"""Who on the staff may do what (issue 4): a table, not branches. Every staff account
and staff-scoped token acts for one department only."""

from __future__ import annotations

from enum import StrEnum

from server.domain.states import Transition


class Role(StrEnum):
    OPERATOR = "operator"  # finds and corrects applications
    VERIFIER = "verifier"  # decides benefits
    ADMIN = "admin"  # both, and the department's kindergartens, groups and referrals
    KINDERGARTEN = "kindergarten"  # one kindergarten's staff: its seats, its referrals, enrolment


ROLES = tuple(Role)

PERMISSIONS: dict[str, frozenset[Role]] = {
    "application.read": frozenset({Role.OPERATOR, Role.VERIFIER, Role.ADMIN}),
    "application.edit": frozenset({Role.OPERATOR, Role.ADMIN}),  # contacts, preferences, notifications
    "application.transition": frozenset({Role.OPERATOR, Role.ADMIN}),
    "benefit.decide": frozenset({Role.VERIFIER, Role.ADMIN}),  # confirm or reject a document claim
    "benefit.manage": frozenset({Role.VERIFIER, Role.ADMIN}),  # add or withdraw a benefit (R15)
    "kindergarten.manage": frozenset({Role.ADMIN}),  # kindergartens and their groups
    "referral.read": frozenset({Role.OPERATOR, Role.VERIFIER, Role.ADMIN, Role.KINDERGARTEN}),
    "referral.cancel": frozenset({Role.OPERATOR, Role.ADMIN}),  # with a reason
    "referral.confirm_benefit": frozenset({Role.VERIFIER, Role.ADMIN}),  # R29
    "seat.publish": frozenset({Role.KINDERGARTEN, Role.ADMIN}),  # publish and withdraw vacant seats
    "referral.enrol": frozenset({Role.KINDERGARTEN, Role.ADMIN}),  # enrol, or record a no-show
    "allocation.dry_run": frozenset({Role.OPERATOR, Role.VERIFIER, Role.ADMIN, Role.KINDERGARTEN}),
}

# Roles bound to one kindergarten: the account names it, and acts for it only.
KINDERGARTEN_ROLES = frozenset({Role.KINDERGARTEN})

# The transitions staff make by hand; offers and enrolment come with referrals.
STAFF_TRANSITIONS = (Transition.SUSPEND, Transition.RESTORE, Transition.WITHDRAW, Transition.CLOSE)


def allowed(role: str | None, operation: str) -> bool:
    return role is not None and role in PERMISSIONS[operation]
