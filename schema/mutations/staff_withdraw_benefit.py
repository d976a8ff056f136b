import strawberry
from strawberry.types import Info

from schema.mutations._common import claim_number
from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_withdraw_benefit(
    info: Info, registration_number: str, version: int, claim_id: strawberry.ID, reason: str = ""
) -> StaffPayload:
    """Staff: withdraws a benefit with a reason (R15, R16)."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.withdraw_benefit(edit(info, registration_number, version, reason), claim_number(claim_id)),
    )
