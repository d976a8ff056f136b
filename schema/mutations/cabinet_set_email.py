from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import cabinet


async def cabinet_set_email(info: Info, registration_number: str, email: str) -> ApplicationPayload:
    """Cabinet: sets or removes the email address."""
    return await run(info, lambda: cabinet.set_email(info.context.principal, registration_number, email))
