import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffReferralPayload, check_reason, run_referral
from server.services import referrals


async def staff_cancel_referral(
    info: Info[Context, None], referral_id: strawberry.ID, reason: str
) -> StaffReferralPayload:
    """Operators and department admins cancel an open referral with a reason: the seat
    is offered again and the child goes back to its place in the queue."""
    context = info.context
    return await run_referral(
        info,
        referral_id,
        lambda public_id: referrals.cancel(context.principal, public_id, reason, context.ip),
        lambda errors: check_reason(errors, reason),
    )
