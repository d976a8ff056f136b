from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import cabinet


async def cabinet_withdraw_application(info: Info, registration_number: str, reason: str = "") -> ApplicationPayload:
    """Cabinet: withdraws the application (R31): it leaves the queue."""
    return await run(info, lambda: cabinet.withdraw_application(info.context.principal, registration_number, reason))
