from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def set_contacts(info: Info, phone2: str, email: str | None = None) -> ApplicationPayload:
    """The second phone (confirmed by its own code) and an optional email (R2)."""
    result: dict = {}

    async def action():
        draft, challenge = await journey.set_contacts(info.context.principal, phone2, email or "", info.context.ip)
        result["challenge"] = challenge
        return draft

    return await run(info, action, challenge=lambda: result.get("challenge"))
