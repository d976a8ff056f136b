from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import cabinet


async def cabinet_remove_phone(info: Info, registration_number: str, phone: str) -> ApplicationPayload:
    """Cabinet: removes a phone; two confirmed phones always remain (R2)."""
    return await run(info, lambda: cabinet.remove_phone(info.context.principal, registration_number, phone))
