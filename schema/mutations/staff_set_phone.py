from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_set_phone(
    info: Info, registration_number: str, version: int, rank: int, phone: str, reason: str = ""
) -> StaffPayload:
    """Staff: corrects phone 1 or 2 (one audit row)."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.set_phone(edit(info, registration_number, version, reason), rank, phone),
    )
