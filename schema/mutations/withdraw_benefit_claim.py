import strawberry
from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, run
from server.services import applications


async def withdraw_benefit_claim(info: Info, claim_id: strawberry.ID) -> ApplicationPayload:
    """Withdraws a document-backed claim of the draft."""

    async def action():
        try:
            claim = int(claim_id)
        except ValueError:
            claim = -1
        return await applications.withdraw_claim(info.context.principal, claim)

    return await run(info, action)
