from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_transition(
    info: Info, registration_number: str, version: int, transition: str, reason: str = ""
) -> StaffPayload:
    """Staff: suspend, restore, withdraw or close, with a reason (R33)."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.transition(edit(info, registration_number, version, reason), transition),
    )
