import strawberry
from strawberry.types import Info

from schema.mutations._common import claim_number
from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_decide_benefit(
    info: Info, registration_number: str, version: int, claim_id: strawberry.ID, confirm: bool, reason: str = ""
) -> StaffPayload:
    """Staff: confirms or rejects (with a reason) a pending document claim (R14); the parent is told."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.decide_claim(
            edit(info, registration_number, version, reason), claim_number(claim_id), confirm
        ),
    )
