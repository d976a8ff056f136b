from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.exceptions import OperationalError
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.application import Application
    from server.models.department import Department, Kindergarten


class StaffAccount(Model):
    """A member of an education department's staff (issue 4): one department, one role,
    an Argon2 password hash. Created and managed with `kezek staff …`."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    full_name = fields.CharField(max_length=200)
    role = fields.CharField(max_length=16)  # server.domain.roles.Role
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField("kezek.Department", related_name="staff")
    department_id: int
    # The kindergarten a `kindergarten` account acts for (None for department staff).
    kindergarten: fields.ForeignKeyNullableRelation[Kindergarten] = fields.ForeignKeyField(
        "kezek.Kindergarten", related_name="staff", null=True
    )
    kindergarten_id: int | None
    password_hash = fields.CharField(max_length=200)
    active = fields.BooleanField(default=True)
    failed_logins = fields.SmallIntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_account"


class AuditEntry(Model):
    """One changed field of one staff change: who, when, from where, before, after, why.
    Append-only: the application never updates or deletes a row (the model refuses, and
    database triggers refuse whatever gets past it)."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True)
    actor = fields.CharField(max_length=100)
    ip = fields.CharField(max_length=64, default="")
    department_id = fields.IntField()
    application: fields.ForeignKeyNullableRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="audit", null=True
    )
    application_id: int | None
    entity = fields.CharField(max_length=32)  # application | contact | benefit_claim | preference
    entity_id = fields.CharField(max_length=64, default="")
    field = fields.CharField(max_length=64)
    before = fields.TextField(null=True)
    after = fields.TextField(null=True)
    reason = fields.TextField(default="")

    class Meta:
        table = "audit_log"
        indexes = (("application_id", "id"),)

    async def save(self, *args: Any, **kwargs: Any) -> None:
        if self._saved_in_db:
            raise OperationalError("audit_log is append-only")
        await super().save(*args, **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> None:
        raise OperationalError("audit_log is append-only")
