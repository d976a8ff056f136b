"""Messages to parents (R8, R34–R36): the channel a parent chooses, and where a message
stands in its delivery."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """The parent's choice (R8). A message itself goes by SMS or EMAIL, one row each."""

    SMS = "sms"
    EMAIL = "email"
    BOTH = "both"


_SENT_BY: dict[str, tuple[Channel, ...]] = {
    Channel.SMS: (Channel.SMS,),
    Channel.EMAIL: (Channel.EMAIL,),
    Channel.BOTH: (Channel.SMS, Channel.EMAIL),
}


def sent_by(channel: str) -> tuple[Channel, ...]:
    """The channels a message goes by, for the parent's choice."""
    return _SENT_BY[Channel(channel)]


def needs_email(channel: str) -> bool:
    """Whether the choice sends email: it then needs an email address."""
    return Channel.EMAIL in _SENT_BY.get(channel, ())


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # for good: an error not worth retrying, or out of tries
