from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.department import Department


class OtpChallenge(Model):
    """A one-time password sent to a phone. Only a keyed hash of the code is kept."""

    id = fields.UUIDField(primary_key=True)
    phone = fields.CharField(max_length=16, db_index=True)
    purpose = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=64, default="")  # e.g. the draft's public id
    code_hash = fields.CharField(max_length=64)
    attempts = fields.SmallIntField(default=0)
    expires_at = fields.DatetimeField()
    consumed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "otp_challenge"


class IntegratorToken(Model):
    """A token an integrator sends as `Authorization: Bearer …`, stored as a hash."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    scopes = fields.CharField(max_length=300)  # space-separated
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "kezek.Department", related_name="tokens", null=True
    )
    department_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "integrator_token"
