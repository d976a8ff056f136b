from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import journey


async def set_child(info: Info, child_iin: str) -> ApplicationPayload:
    """The child's IIN: registry data, R4–R6, registry-backed benefits (R13)."""
    return await run(info, lambda: journey.set_child(info.context.principal, child_iin))
