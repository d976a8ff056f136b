from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import applications


async def resend_code(info: Info, rank: int) -> ApplicationPayload:
    """Sends a new one-time password to phone 1 or 2 (rate-limited)."""
    result: dict = {}

    async def action():
        result["challenge"] = await applications.resend_code(info.context.principal, rank, info.context.ip)
        return await applications.load_draft(info.context.principal)

    return await run(info, action, challenge=lambda: result.get("challenge"))
