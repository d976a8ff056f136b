import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations.cabinet_accept_offer import ReferralPayload, referral_payload
from server.services import cabinet


async def cabinet_extend_referral(info: Info[Context, None], referral_id: strawberry.ID, days: int) -> ReferralPayload:
    """Cabinet: moves the accepted referral's presentation deadline once, by 1 to the
    department's [30] calendar days, before it passes (R28)."""
    return await referral_payload(info, lambda: cabinet.extend_referral(info.context.principal, referral_id, days))
