from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def set_notifications(info: Info, channel: str, language: str) -> ApplicationPayload:
    """Channel (sms, email, both) and language (kk, ru, en) of messages (R8)."""
    return await run(info, lambda: journey.set_notifications(info.context.principal, channel, language))
