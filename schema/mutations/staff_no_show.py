import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffReferralPayload, check_reason, run_referral
from server.services import referrals


async def staff_no_show(info: Info[Context, None], referral_id: strawberry.ID, reason: str) -> StaffReferralPayload:
    """The kindergarten records that the child of an accepted referral did not come, with
    a reason: the referral expires and the application is stop-listed (R30)."""
    context = info.context
    return await run_referral(
        info,
        referral_id,
        lambda public_id: referrals.no_show(context.principal, public_id, reason, context.ip),
        lambda errors: check_reason(errors, reason),
    )
