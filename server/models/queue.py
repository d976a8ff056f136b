from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from server.models.application import Application
    from server.models.department import Department


class QueueEntry(Model):
    """An active application's stored place in its cohort (R23), written only by a
    cohort refresh, so that reading a queue number is one indexed read. Applications
    that are suspended or no longer in the queue have no entry."""

    id = fields.IntField(primary_key=True)
    application: fields.OneToOneRelation[Application] = fields.OneToOneField(
        "kezek.Application", related_name="queue_entry"
    )
    application_id: int
    department_id = fields.IntField()
    cohort = fields.SmallIntField()
    number = fields.IntField()
    ahead_extraordinary = fields.IntField(default=0)
    ahead_priority = fields.IntField(default=0)
    ahead_general = fields.IntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "queue_entry"
        indexes = (("department_id", "cohort", "number"),)


class QueueCohort(Model):
    """One department's cohort (R19): the row a refresh locks, and what it counted."""

    id = fields.IntField(primary_key=True)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "kezek.Department", related_name="cohorts"
    )
    department_id: int
    cohort = fields.SmallIntField()
    extraordinary = fields.IntField(default=0)
    priority = fields.IntField(default=0)
    general = fields.IntField(default=0)
    suspended = fields.IntField(default=0)
    refreshes = fields.IntField(default=0)
    refreshed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "queue_cohort"
        unique_together = (("department", "cohort"),)


class CohortChange(Model):
    """Something that moves a cohort's order and is not yet reflected in its stored
    numbers: written in the transaction of the change, deleted by the refresh that
    reflects it. A cohort with rows here is due a refresh."""

    id = fields.IntField(primary_key=True)
    department_id = fields.IntField()
    cohort = fields.SmallIntField()
    application: fields.ForeignKeyNullableRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="cohort_changes", null=True
    )
    application_id: int | None
    kind = fields.CharField(max_length=24)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "cohort_change"
        indexes = (("department_id", "cohort"),)


class QueueChange(Model):
    """R24: one change of one application's queue number, with its reasons counted by
    kind ({"registered_priority": 2, "offered": 5})."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "kezek.Application", related_name="queue_changes"
    )
    application_id: int
    old_number = fields.IntField()
    new_number = fields.IntField()
    reasons: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "queue_change"
        indexes = (("application_id", "id"),)
