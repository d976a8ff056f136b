"""Staff queries of kindergartens, groups, referrals and the allocation's dry run
(issue 9). A kindergarten account sees its own kindergarten only; everyone else on the
staff sees their department's. Refusals are GraphQL errors with a stable code, except
the dry run's, which come back as field errors next to its rows."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import errors_of, has_controls, row_id
from schema.types import PageInfo
from schema.types.places import Group
from schema.types.staff_places import (
    AllocationDryRun,
    DryRunRow,
    SeatsInput,
    StaffKindergarten,
    StaffReferral,
    StaffReferralConnection,
    StaffReferralEdge,
)
from server.domain import referrals as referral_rules
from server.domain import roles
from server.domain.deadlines import local_date
from server.domain.places import SeatState
from server.domain.referrals import ReferralState
from server.errors import DomainError, FieldErrors, ValidationErrors
from server.models import Application as ApplicationModel
from server.models import Department as DepartmentModel
from server.models import Group as GroupModel
from server.models import Referral as ReferralModel
from server.services import allocation, backoffice, places

MAX_PAGE = 100
MAX_DRY_RUN_GROUPS = 50
OPEN = "open"  # the state filter for every open referral: offered, accepted, extended


def _refuse(error: DomainError, info: Info[Context, None]) -> GraphQLError:
    return GraphQLError(error.message(info.context.language), extensions={"code": error.code})


def _scope(info: Info[Context, None], operation: str) -> int:
    """The caller's department, if its role allows `operation`."""
    principal = info.context.principal
    scope = backoffice.staff_role(principal)
    if scope is None or not roles.allowed(scope[0], operation):
        raise _refuse(DomainError("auth.required"), info)
    return scope[1]


def _code(info: Info[Context, None], value: str | None) -> str:
    """A kindergarten code to filter by: "" for none; refused when no kindergarten can have it."""
    code = (value or "").strip().upper()
    if code and (has_controls(code) or not places.KINDERGARTEN_CODE.match(code)):
        raise _refuse(DomainError("kindergarten.unknown", "kindergartenCode"), info)
    return code


@strawberry.type
class StaffPlacesQueries:
    @strawberry.field(
        description="Staff: the department's kindergartens (a kindergarten account: its own), with their versions."
    )
    async def staff_kindergartens(self, info: Info[Context, None]) -> list[StaffKindergarten]:
        try:
            rows = await places.kindergartens_of(info.context.principal)
        except DomainError as exc:
            raise _refuse(exc, info) from None
        return [StaffKindergarten.of(k, info.context.language) for k in rows]

    @strawberry.field(
        description="Staff: the department's groups (a kindergarten account: its own), or one kindergarten's, with "
        "their open and offered seats."
    )
    async def staff_groups(self, info: Info[Context, None], kindergarten_code: str | None = None) -> list[Group]:
        code = _code(info, kindergarten_code)
        try:
            rows = await places.groups_of(info.context.principal, code or None)
        except DomainError as exc:
            raise _refuse(exc, info) from None
        counts = await places.seat_counts([g.id for g in rows])
        return [Group.of(g, g.kindergarten.code, counts[g.id]) for g in rows]

    @strawberry.field(
        description="Staff: the department's referrals, newest first (a kindergarten account: its own), with the "
        "child's name and registration number. `state` is one referral state, `open` (offered, accepted or "
        "extended) or empty for all. Keyset pages: `after` takes `endCursor`."
    )
    async def staff_referrals(
        self,
        info: Info[Context, None],
        state: str = "",
        kindergarten_code: str = "",
        first: int = 50,
        after: str | None = None,
    ) -> StaffReferralConnection:
        department_id = _scope(info, "referral.read")
        principal = info.context.principal
        if not 1 <= first <= MAX_PAGE:
            raise _refuse(DomainError("page.size", "first", max=MAX_PAGE), info)
        query = ReferralModel.filter(department_id=department_id)
        if principal.kindergarten_id is not None:
            query = query.filter(kindergarten_id=principal.kindergarten_id)
        state = state.strip().lower()
        if state == OPEN:
            query = query.filter(state__in=[s.value for s in referral_rules.OPEN])
        elif state:
            if state not in {s.value for s in ReferralState}:
                raise _refuse(DomainError("filter.state", "state"), info)
            query = query.filter(state=state)
        code = _code(info, kindergarten_code)
        if code:
            query = query.filter(kindergarten__code=code)
        if after:
            try:
                query = query.filter(id__lt=row_id(after, "cursor.invalid", "after"))
            except DomainError as exc:
                raise _refuse(exc, info) from None
        rows = await query.order_by("-id").limit(first + 1).prefetch_related("kindergarten", "group", "application")
        department = await DepartmentModel.get(id=department_id)
        language = info.context.language
        edges = [
            StaffReferralEdge(cursor=str(r.id), node=await StaffReferral.of(r, principal, department, language))
            for r in rows[:first]
        ]
        return StaffReferralConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(
        description="Staff: who would be offered the cohort's open seats, and `seats` more as if published now, if "
        "the allocation ran now (R26, R27): the same rules as the runs, nothing written. A kindergarten account "
        "asks about its own groups."
    )
    async def allocation_dry_run(
        self, info: Info[Context, None], cohort: int, seats: list[SeatsInput] | None = None
    ) -> AllocationDryRun:
        department_id = _scope(info, "allocation.dry_run")
        try:
            department, extra = await _dry_run_input(info, department_id, cohort, seats or [])
        except (DomainError, ValidationErrors) as exc:
            return AllocationDryRun(cohort=cohort, errors=errors_of(exc, info.context.language))
        planned = await allocation.plan(department.id, cohort, extra)
        numbers = dict(
            await ApplicationModel.filter(id__in=[p.application_id for p in planned]).values_list(
                "id", "registration_number"
            )
        )
        rows = [
            DryRunRow(
                registration_number=numbers.get(p.application_id) or "",
                queue_number=p.queue_number,
                kindergarten_code=p.group.kindergarten.code,
                group_id=strawberry.ID(str(p.group.id)),
                group_name=p.group.name,
                group_language=p.group.language,
                rank=p.offer.rank,
                window=p.offer.window,
                hypothetical=p.seat_id is None,
            )
            for p in planned
        ]
        return AllocationDryRun(cohort=cohort, rows=rows)


async def _dry_run_input(
    info: Info[Context, None], department_id: int, cohort: int, seats: list[SeatsInput]
) -> tuple[DepartmentModel, list[tuple[GroupModel, int]]]:
    """The cohort and the groups asked about, checked as publishing them would be."""
    principal = info.context.principal
    department = await DepartmentModel.get(id=department_id)
    today = local_date(datetime.now(UTC), department.timezone)
    lowest, highest = today.year - department.max_age_years, today.year
    if not lowest <= cohort <= highest:
        raise DomainError("group.cohort", "cohort", min=lowest, max=highest)
    if len(seats) > MAX_DRY_RUN_GROUPS:
        raise DomainError("dry_run.too_many", "seats", max=MAX_DRY_RUN_GROUPS)
    errors = FieldErrors()
    wanted: dict[int, int] = {}
    fields: dict[int, str] = {}
    for index, item in enumerate(seats):
        field = f"seats.{index}"
        try:
            group_id = row_id(item.group_id, "group.unknown", field)
        except DomainError as exc:
            errors.add(exc)
            continue
        wanted[group_id] = wanted.get(group_id, 0) + item.count
        fields.setdefault(group_id, field)
    query = GroupModel.filter(id__in=list(wanted), department_id=department_id, active=True, kindergarten__active=True)
    if principal.kindergarten_id is not None:
        query = query.filter(kindergarten_id=principal.kindergarten_id)
    groups = {g.id: g for g in await query.prefetch_related("kindergarten")}
    published = await places.seat_counts(list(groups))
    extra: list[tuple[GroupModel, int]] = []
    for group_id, count in wanted.items():
        group = groups.get(group_id)
        if group is None:
            errors.add(DomainError("group.unknown", fields[group_id]))
            continue
        if group.cohort != cohort:
            errors.add(DomainError("dry_run.cohort", fields[group_id], group=group.name, cohort=group.cohort))
            continue
        taken = published[group_id][SeatState.OPEN.value] + published[group_id][SeatState.OFFERED.value]
        limit = min(places.MAX_SEATS, places.free_seats(group, taken))
        if not 1 <= count <= limit:
            errors.add(DomainError("seats.count", fields[group_id], max=limit))
            continue
        extra.append((group, count))
    errors.raise_if_any()
    return department, extra
