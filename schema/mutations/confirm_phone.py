from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def confirm_phone(info: Info, rank: int, challenge_id: str, code: str) -> ApplicationPayload:
    """Confirms phone 1 or 2 with the one-time password sent to it."""
    return await run(info, lambda: journey.confirm_phone(info.context.principal, rank, challenge_id, code))
