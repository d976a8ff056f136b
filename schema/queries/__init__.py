"""Queries."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.types import Info

from schema.permissions import can_read_application
from schema.types import (
    Application,
    BenefitCategory,
    Department,
    Kindergarten,
    QueuePosition,
    application_of,
)
from server.domain import iin as iin_rules
from server.models import Application as ApplicationModel
from server.models import BenefitCategory as BenefitCategoryModel
from server.models import Department as DepartmentModel
from server.models import Kindergarten as KindergartenModel
from server.services import registry


@strawberry.type
class Query:
    @strawberry.field(description="Education departments that run a queue.")
    async def departments(self, info: Info) -> list[Department]:
        return [Department.of(d, info.context.language) for d in await DepartmentModel.all().order_by("code")]

    @strawberry.field(description="Kindergartens of one department.")
    async def kindergartens(self, info: Info, department_code: str) -> list[Kindergarten]:
        rows = await KindergartenModel.filter(department__code=department_code.upper()).order_by("code")
        return [Kindergarten.of(k, info.context.language) for k in rows]

    @strawberry.field(description="The benefit categories, their classes and evidence rules (R18).")
    async def benefit_categories(self, info: Info) -> list[BenefitCategory]:
        return [BenefitCategory.of(c, info.context.language) for c in await BenefitCategoryModel.all()]

    @strawberry.field(description="An application by registration number: its applicant or an authorised integrator only.")
    async def application(self, info: Info, registration_number: str) -> Optional[Application]:
        model = await ApplicationModel.get_or_none(registration_number=registration_number.strip().upper())
        if model is None or not can_read_application(info.context.principal, model):
            return None
        return await application_of(model, info)

    @strawberry.field(description="The parent's own application in progress in this session (draft or just submitted).")
    async def my_draft(self, info: Info) -> Optional[Application]:
        principal = info.context.principal
        if principal.draft_id is None:
            return None
        model = await ApplicationModel.get_or_none(public_id=principal.draft_id)
        if model is None:
            return None
        return await application_of(model, info)

    @strawberry.field(description="Public: a child's place in the queue by the child's IIN, names masked (R23).")
    async def queue_position(self, info: Info, child_iin: str) -> list[QueuePosition]:
        value = iin_rules.normalize(child_iin)
        if not iin_rules.is_valid(value):
            return []
        rows = await ApplicationModel.filter(
            child_iin=value, registration_number__not_isnull=True, state__in=("queued", "suspended", "offered")
        ).prefetch_related("department")
        data = await registry.cached(value)
        return [
            QueuePosition(
                initials=registry.initials(data),
                department=Department.of(row.department, info.context.language),
                cohort=row.cohort or 0,
                registration_number=row.registration_number or "",
                queue_number=row.queue_number,
                status=row.state,
            )
            for row in rows
        ]
