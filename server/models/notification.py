from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from server.domain.messages import DeliveryState

if TYPE_CHECKING:
    from server.models.application import Application


class Notification(Model):
    """The outbox: one row per message, with its delivery state (R34–R36).

    `event_key` is unique: one message per event and channel, whatever retries do.
    """

    id = fields.IntField(primary_key=True)
    event_key = fields.CharField(max_length=160, unique=True)
    application: fields.ForeignKeyNullableRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="notifications", null=True
    )
    application_id: int | None
    kind = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=8)  # sms | email
    recipient = fields.CharField(max_length=254)
    language = fields.CharField(max_length=2)
    subject = fields.CharField(max_length=200, default="")
    body = fields.TextField()
    state = fields.CharField(max_length=12, default=DeliveryState.PENDING.value)  # pending | sent | failed
    attempts = fields.SmallIntField(default=0)
    last_error = fields.TextField(default="")
    provider_id = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("state", "created_at"),)
