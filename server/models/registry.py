from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class RegistryRecord(Model):
    """What the state registry said of one person, cached with when it was asked."""

    id = fields.IntField(primary_key=True)
    iin = fields.CharField(max_length=12, unique=True)
    data: fields.JSONField[dict[str, Any]] = fields.JSONField()
    fetched_at = fields.DatetimeField()

    class Meta:
        table = "registry_record"
