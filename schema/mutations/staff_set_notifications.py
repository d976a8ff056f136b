from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_set_notifications(
    info: Info, registration_number: str, version: int, channel: str, language: str, reason: str = ""
) -> StaffPayload:
    """Staff: sets the notification channel and language (R8)."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.set_notifications(edit(info, registration_number, version, reason), channel, language),
    )
