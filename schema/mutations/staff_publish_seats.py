import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffGroupPayload, check_reason, run_group, staff_of
from server.models import Group as GroupModel
from server.services import places


async def staff_publish_seats(
    info: Info[Context, None], group_id: strawberry.ID, count: int, reason: str = ""
) -> StaffGroupPayload:
    """Kindergarten staff (their own groups) and department admins: `count` vacant seats
    published in a group (R25), offered down the queue by the next allocation run (R26).
    At most the group's free places: capacity less enrolment less the seats published."""

    async def action(number: int) -> tuple[GroupModel | None, int]:
        return None, len(await places.publish(staff_of(info, reason), number, count))

    return await run_group(info, group_id, action, lambda errors: check_reason(errors, reason))
