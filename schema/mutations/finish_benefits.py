from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def finish_benefits(info: Info) -> ApplicationPayload:
    """Marks the benefits step done (claims are optional)."""
    return await run(info, lambda: journey.finish_benefits(info.context.principal))
