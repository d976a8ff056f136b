from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import applications


async def finish_benefits(info: Info) -> ApplicationPayload:
    """Marks the benefits step done (claims are optional)."""
    return await run(info, lambda: applications.finish_benefits(info.context.principal))
