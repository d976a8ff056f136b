from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_set_email(
    info: Info, registration_number: str, version: int, email: str, reason: str = ""
) -> StaffPayload:
    """Staff: corrects or removes the email address."""
    return await run_staff(
        info, registration_number, lambda: backoffice.set_email(edit(info, registration_number, version, reason), email)
    )
