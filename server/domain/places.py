"""Seats, offers and the two regimes of a department (R25–R28): the value sets.

A department runs the *referral* regime today: a seat is offered to a child, and the
offer is a referral. The *voucher* regime (a voucher first, the kindergarten picked
after) is a second kind of offer on the same seats and deadlines; it is not built yet,
but the model carries the regime and the offer's kind so it needs no rewrite.
"""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    REFERRAL = "referral"
    VOUCHER = "voucher"  # not offered yet: a department setting reserved for it


class OfferKind(StrEnum):
    REFERRAL = "referral"


class SeatState(StrEnum):
    OPEN = "open"  # published and vacant: the allocation offers it
    OFFERED = "offered"  # held by one open referral
    FILLED = "filled"  # a child was enrolled on it
    WITHDRAWN = "withdrawn"  # taken back by the kindergarten before anyone was offered it
