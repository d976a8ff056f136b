import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffReferralPayload, run_referral
from server.services import referrals


async def staff_confirm_referral_benefit(info: Info[Context, None], referral_id: strawberry.ID) -> StaffReferralPayload:
    """Benefit verifiers and department admins confirm the extraordinary benefit of a
    referral within its [5] working days (R29); otherwise the referral is cancelled."""
    context = info.context
    return await run_referral(
        info, referral_id, lambda public_id: referrals.confirm_benefit(context.principal, public_id, context.ip)
    )
