import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffReferralPayload, run_referral
from server.services import referrals


async def staff_enrol(info: Info[Context, None], referral_id: strawberry.ID) -> StaffReferralPayload:
    """The kindergarten (or a department admin) enrols the child who presented an
    accepted referral (R31): the application leaves the queue, the seat is filled."""
    context = info.context
    return await run_referral(
        info, referral_id, lambda public_id: referrals.enrol(context.principal, public_id, context.ip)
    )
