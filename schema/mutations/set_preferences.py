import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


@strawberry.input
class PreferencesInput:
    kindergarten_codes: list[str]
    any_kindergarten: bool
    group_language: str
    desired_start: str = strawberry.field(description="ISO date, e.g. 2027-09-01")


async def set_preferences(info: Info, input: PreferencesInput) -> ApplicationPayload:
    """Kindergartens in order (or any), group language, desired start (R7)."""
    return await run(
        info,
        lambda: journey.set_preferences(
            info.context.principal,
            input.kindergarten_codes,
            input.any_kindergarten,
            input.group_language,
            input.desired_start,
        ),
    )
