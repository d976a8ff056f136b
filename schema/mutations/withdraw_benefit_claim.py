import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, claim_number, run
from server.services import journey


async def withdraw_benefit_claim(info: Info, claim_id: strawberry.ID) -> ApplicationPayload:
    """Withdraws a document-backed claim of the draft."""

    async def action():
        return await journey.withdraw_claim(info.context.principal, claim_number(claim_id))

    return await run(info, action)
