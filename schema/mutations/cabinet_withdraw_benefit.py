import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, claim_number, run
from server.services import cabinet


async def cabinet_withdraw_benefit(info: Info, registration_number: str, claim_id: strawberry.ID) -> ApplicationPayload:
    """Cabinet: withdraws a benefit; the application keeps its registration time (R16)."""
    return await run(
        info, lambda: cabinet.withdraw_benefit(info.context.principal, registration_number, claim_number(claim_id))
    )
