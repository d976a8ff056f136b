import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffGroupPayload, check_reason, run_group, staff_of, visible_group
from server.domain.places import SeatState
from server.errors import DomainError
from server.models import Group as GroupModel
from server.models import Seat
from server.services import backoffice, places


async def staff_withdraw_seats(
    info: Info[Context, None], group_id: strawberry.ID, count: int, reason: str = ""
) -> StaffGroupPayload:
    """Kindergarten staff (their own groups) and department admins: `count` of a group's
    open seats taken back, the newest first. A seat already offered stays: its referral
    is cancelled instead."""
    principal = info.context.principal

    async def action(number: int) -> tuple[GroupModel | None, int]:
        scope = backoffice.staff_role(principal)
        if scope is None or not backoffice.may(principal, "seat.publish", scope[1]):
            raise DomainError("auth.required")
        group = await visible_group(principal, number)
        if group is None:
            raise DomainError("group.unknown", "group")
        vacant = await Seat.filter(group_id=group.id, state=SeatState.OPEN.value).count()
        if vacant == 0:
            raise DomainError("seats.none_open", "count")
        if not 1 <= count <= vacant:
            raise DomainError("seats.withdraw_count", "count", max=vacant)
        return group, await places.withdraw_open(staff_of(info, reason), group.id, count)

    return await run_group(info, group_id, action, lambda errors: check_reason(errors, reason))
