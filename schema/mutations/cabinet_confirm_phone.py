from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import cabinet


async def cabinet_confirm_phone(
    info: Info, registration_number: str, challenge_id: str, code: str
) -> ApplicationPayload:
    """Cabinet: confirms the new phone with its code."""
    return await run(
        info, lambda: cabinet.confirm_phone(info.context.principal, registration_number, challenge_id, code)
    )
