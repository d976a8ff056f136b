from strawberry.types import Info

from schema.mutations._staff import StaffPayload, edit, run_staff
from server.services import backoffice


async def staff_set_preferences(
    info: Info,
    registration_number: str,
    version: int,
    kindergarten_codes: list[str],
    any_kindergarten: bool,
    group_language: str,
    desired_start: str,
    reason: str = "",
) -> StaffPayload:
    """Staff: kindergartens, group language and start date (R7); one audit row per changed field."""
    return await run_staff(
        info,
        registration_number,
        lambda: backoffice.set_preferences(
            edit(info, registration_number, version, reason),
            kindergarten_codes,
            any_kindergarten,
            group_language,
            desired_start,
        ),
    )
