"""Queries."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from schema.permissions import can_read_application
from schema.queries.protocols import ProtocolQueries
from schema.queries.staff_places import StaffPlacesQueries
from schema.types import (
    Application,
    BenefitCategory,
    Department,
    Kindergarten,
    PageInfo,
    QueueConnection,
    QueueEdge,
    QueuePosition,
    QueueRow,
    application_of,
)
from schema.types.staff import (
    StaffApplication,
    StaffApplicationConnection,
    StaffApplicationEdge,
    StaffApplicationRow,
    VerificationItem,
    Viewer,
)
from server.domain import iin as iin_rules
from server.errors import DomainError
from server.models import Application as ApplicationModel
from server.models import BenefitCategory as BenefitCategoryModel
from server.models import Department as DepartmentModel
from server.models import Kindergarten as KindergartenModel
from server.services import backoffice, cabinet, lookup


@strawberry.type
class Query(ProtocolQueries, StaffPlacesQueries):
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

    @strawberry.field(
        description="An application by registration number: its applicant or an authorised integrator only."
    )
    async def application(self, info: Info, registration_number: str) -> Application | None:
        model = await ApplicationModel.get_or_none(registration_number=registration_number.strip().upper())
        if model is None or not can_read_application(info.context.principal, model):
            return None
        return await application_of(model, info)

    @strawberry.field(description="The parent's own application in progress in this session (draft or just submitted).")
    async def my_draft(self, info: Info) -> Application | None:
        principal = info.context.principal
        if principal.draft_id is None:
            return None
        model = await ApplicationModel.get_or_none(public_id=principal.draft_id)
        if model is None:
            return None
        return await application_of(model, info)

    @strawberry.field(description="Who is calling: anonymous, a parent, a member of staff or an integrator.")
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        code = None
        if principal.department_id is not None:
            department = await DepartmentModel.get_or_none(id=principal.department_id)
            code = department.code if department else None
        role = backoffice.staff_role(principal)
        return Viewer(kind=principal.kind, name=principal.name, role=role[0] if role else None, department_code=code)

    @strawberry.field(
        description="The cabinet: the applications of the applicant who logged in with a one-time password."
    )
    async def my_applications(self, info: Info) -> list[Application]:
        return [await application_of(m, info) for m in await cabinet.my_applications(info.context.principal)]

    @strawberry.field(
        description="Staff: the department's applications, newest first; `query` finds a registration number, an "
        "IIN, a phone or part of a name. Keyset pages: `after` takes `endCursor`."
    )
    async def staff_applications(
        self,
        info: Info,
        query: str = "",
        status: str = "",
        cohort: int | None = None,
        benefit_class: str = "",
        pending_verification: bool = False,
        first: int = 25,
        after: str | None = None,
    ) -> StaffApplicationConnection:
        try:
            start = int(after) if after else None
        except ValueError:
            start = -1
        try:
            if start == -1:
                raise DomainError("cursor.invalid", "after")
            page = await backoffice.find(
                info.context.principal,
                backoffice.Filters(query, status, cohort, benefit_class, pending_verification),
                first,
                start,
            )
        except DomainError as exc:
            raise GraphQLError(exc.message(info.context.language), extensions={"code": exc.code}) from None
        edges = [StaffApplicationEdge(cursor=str(m.id), node=await StaffApplicationRow.of(m)) for m in page.rows]
        return StaffApplicationConnection(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None)
        )

    @strawberry.field(description="Staff: one application of the department, IINs shown, with its audit history.")
    async def staff_application(self, info: Info, registration_number: str) -> StaffApplication | None:
        try:
            model = await backoffice.application_for(info.context.principal, registration_number)
        except DomainError:
            return None
        return await StaffApplication.of(model, info)

    @strawberry.field(description="Staff (benefit verifiers, admins): pending document claims, oldest first.")
    async def verification_queue(self, info: Info, first: int = 50) -> list[VerificationItem]:
        try:
            claims = await backoffice.verification_queue(info.context.principal, first)
        except DomainError as exc:
            raise GraphQLError(exc.message(info.context.language), extensions={"code": exc.code}) from None
        return [VerificationItem.of(c, info.context.language) for c in claims]

    @strawberry.field(
        description="Public: a child's place in each department's queue by the child's IIN, names masked "
        "(R23), with the latest changes and their reasons (R24). Limited per IP address without a token."
    )
    async def queue_position(self, info: Info, child_iin: str) -> list[QueuePosition]:
        principal = info.context.principal
        if principal.kind != "integrator":
            try:
                await lookup.check_rate(info.context.ip)
            except DomainError as exc:
                raise GraphQLError(exc.message(info.context.language), extensions={"code": exc.code}) from None
        value = iin_rules.normalize(child_iin)
        if not iin_rules.is_valid(value):
            error = DomainError("iin.invalid", "childIin")
            raise GraphQLError(error.message(info.context.language), extensions={"code": error.code})
        return [QueuePosition.of(p, info.context.language) for p in await lookup.positions(value)]

    @strawberry.field(
        description="Public: one cohort's queue in order (registration number, class, queue number; no names, "
        "no IINs), a page at a time: `first` (1–100) after the `endCursor` of the page before."
    )
    async def queue(
        self, info: Info, department_code: str, birth_year: int, first: int = 50, after: str | None = None
    ) -> QueueConnection:
        try:
            page = await lookup.cohort_page(department_code, birth_year, first, after)
        except DomainError as exc:
            raise GraphQLError(exc.message(info.context.language), extensions={"code": exc.code}) from None
        edges = [
            QueueEdge(
                cursor=lookup.cursor_of(row.number),
                node=QueueRow(
                    queue_number=row.number,
                    registration_number=row.registration_number,
                    benefit_class=row.benefit_class,
                ),
            )
            for row in page.rows
        ]
        return QueueConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
            total_count=page.total,
        )
