"""Why a seat offered to another child of the cohort was not offered to this one (the
"passed over" explanation of issue 9, R26–R27), as a reason code the pages put into words.

Pure: the caller gives the parent's application as it stood when the seat was offered
(its queue number then, its group language, its ranked choices, whether it accepts any
kindergarten, whether it was waiting for an offer at all) and what the offer was (the
other child's queue number at that moment, the kindergarten, the group's language, the
window). The reasons are checked in the order a parent needs them: first whether this
seat could ever have been theirs (language, their list in the priority window), then
whether they were in the running at that moment, then the queue order itself.

Serial choice (`server.domain.allocation`) guarantees that a waiting child ahead who
could take a seat either took it or took a better-ranked one; so for a single child
waiting at that moment, with the right language and the kindergarten acceptable, the
only reason left is that the other child stood ahead. `UNEXPLAINED` is returned when the
records say otherwise (they should not: a test checks it against the allocation).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.domain.allocation import Window


class Reason(StrEnum):
    OTHER_LANGUAGE = "other_language"  # the group teaches in another language than the one asked for
    NOT_LISTED = "not_listed"  # priority window: the kindergarten is not in the parent's list (nor "any")
    NOT_REGISTERED = "not_registered"  # the application was not yet in the queue then
    HAD_OFFER = "had_offer"  # the child had (or got in the same run) an offer of its own
    NOT_WAITING = "not_waiting"  # the application was suspended (stop-list) or otherwise not waiting
    AHEAD = "ahead"  # priority window: the other child stood ahead and chose this kindergarten
    OPEN_WINDOW_AHEAD = "open_window_ahead"  # after the window: the seat went on in queue order, the other child ahead
    TWINS = "twins"  # twins are offered together: the group had no room for all of them
    UNEXPLAINED = "unexplained"  # the records do not explain it: the department can check


class Standing(StrEnum):
    """Where the parent's application stood at the moment of the offer."""

    WAITING = "waiting"  # in the queue, no offer: could receive one
    OFFERED = "offered"  # had an open offer of its own (one at a time, R26)
    SUSPENDED = "suspended"  # on the stop-list (R30) or otherwise out of the running
    NOT_REGISTERED = "not_registered"  # registered after the offer


@dataclass(frozen=True)
class Applicant:
    """The parent's application at the moment of the offer."""

    number: int | None  # its queue number then; None when it had none
    language: str
    choices: tuple[str, ...] = ()
    any_kindergarten: bool = False
    standing: Standing = Standing.WAITING
    twins: bool = False  # stands in a batch of twins (R21)


@dataclass(frozen=True)
class OfferSeen:
    """A referral issued to another child of the cohort."""

    number: int  # that child's queue number at the moment of the offer
    kindergarten: str
    language: str
    window: Window


@dataclass(frozen=True)
class PassedOver:
    reason: Reason
    rank: int | None  # the kindergarten's 1-based place in the parent's list; None if not listed


def rank_of(choices: tuple[str, ...], kindergarten: str) -> int | None:
    return choices.index(kindergarten) + 1 if kindergarten in choices else None


def why_not(me: Applicant, offer: OfferSeen) -> PassedOver:
    """Why `offer` went to the other child and not to `me`."""
    rank = rank_of(me.choices, offer.kindergarten)

    def because(reason: Reason) -> PassedOver:
        return PassedOver(reason, rank)

    if offer.language != me.language:
        return because(Reason.OTHER_LANGUAGE)
    if offer.window is Window.CHOSEN and rank is None and not me.any_kindergarten:
        return because(Reason.NOT_LISTED)
    if me.standing is Standing.NOT_REGISTERED:
        return because(Reason.NOT_REGISTERED)
    if me.number is not None and offer.number < me.number:
        return because(Reason.AHEAD if offer.window is Window.CHOSEN else Reason.OPEN_WINDOW_AHEAD)
    if me.standing is Standing.OFFERED:
        return because(Reason.HAD_OFFER)
    if me.standing is Standing.SUSPENDED:
        return because(Reason.NOT_WAITING)
    if me.twins:
        return because(Reason.TWINS)
    return because(Reason.UNEXPLAINED)
