"""Who on the staff may do what (issue 4): a table, not branches. Every staff account
and staff-scoped token acts for one department only."""

from __future__ import annotations

from server.domain.states import Transition

ROLES = ("operator", "verifier", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "application.read": frozenset({"operator", "verifier", "admin"}),
    "application.edit": frozenset({"operator", "admin"}),  # contacts, preferences, notifications
    "application.transition": frozenset({"operator", "admin"}),
    "benefit.decide": frozenset({"verifier", "admin"}),  # confirm or reject a document claim
    "benefit.manage": frozenset({"verifier", "admin"}),  # add or withdraw a benefit (R15)
}

# The transitions staff make by hand; offers and enrolment come with referrals.
STAFF_TRANSITIONS = (Transition.SUSPEND, Transition.RESTORE, Transition.WITHDRAW, Transition.CLOSE)


def allowed(role: str | None, operation: str) -> bool:
    return role is not None and role in PERMISSIONS[operation]
