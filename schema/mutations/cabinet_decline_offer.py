import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations.cabinet_accept_offer import ReferralPayload, referral_payload
from server.services import cabinet


async def cabinet_decline_offer(info: Info[Context, None], referral_id: strawberry.ID) -> ReferralPayload:
    """Cabinet: declines the offered place. For a kindergarten the parent chose (listed, or any
    kindergarten in the priority window) the application is stop-listed (R30); for one offered
    after the priority window that the parent did not list, it keeps its place (R27)."""
    return await referral_payload(info, lambda: cabinet.decline_offer(info.context.principal, referral_id))
