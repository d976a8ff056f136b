from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import cabinet


async def cabinet_set_notifications(
    info: Info, registration_number: str, channel: str, language: str
) -> ApplicationPayload:
    """Cabinet: notification channel and language (R8)."""
    return await run(
        info, lambda: cabinet.set_notifications(info.context.principal, registration_number, channel, language)
    )
