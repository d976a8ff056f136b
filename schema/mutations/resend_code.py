from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def resend_code(info: Info, rank: int) -> ApplicationPayload:
    """Sends a new one-time password to phone 1 or 2 (rate-limited)."""
    result: dict = {}

    async def action():
        result["challenge"] = await journey.resend_code(info.context.principal, rank, info.context.ip)
        return await journey.load_draft(info.context.principal)

    return await run(info, action, challenge=lambda: result.get("challenge"))
