import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffGroupPayload, group_checks, run_group, staff_of
from server.models import Group as GroupModel
from server.services import places


async def staff_update_group(
    info: Info[Context, None],
    group_id: strawberry.ID,
    version: int,
    name: str,
    cohort: int,
    language: str,
    capacity: int,
    enrolled: int,
    active: bool,
    reason: str = "",
) -> StaffGroupPayload:
    """Department admins: a group's name, cohort, language, capacity, enrolment and
    whether it is open, on the `version` read (`edit.stale` otherwise, with the current
    values). Capacity less enrolment may not fall below the seats published. Audited."""

    async def action(number: int) -> tuple[GroupModel | None, int]:
        data = places.GroupInput(name, cohort, language, capacity, enrolled, active)
        return await places.update_group(staff_of(info, reason), number, version, data), 0

    return await run_group(info, group_id, action, group_checks(name, language, reason))
