from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._common import field_errors
from schema.types import Application, FieldError, application_of
from schema.types.places import Referral, referral_of
from server.errors import DomainError, ValidationErrors
from server.services import cabinet
from server.services.referrals import Moved


@strawberry.type(
    description="The result of the parent's answer to an offer: the referral and its application as they are now, "
    "or why nothing changed."
)
class ReferralPayload:
    referral: Referral | None = None
    application: Application | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


async def referral_payload(info: Info[Context, None], action: Callable[[], Awaitable[Moved]]) -> ReferralPayload:
    """Runs the parent's move; a refusal is the payload's errors, in the caller's language."""
    try:
        moved = await action()
    except (DomainError, ValidationErrors) as exc:
        return ReferralPayload(errors=field_errors(exc, info.context.language))
    return ReferralPayload(
        referral=await referral_of(moved.referral, info.context.language),
        application=await application_of(moved.application, info),
    )


async def cabinet_accept_offer(info: Info[Context, None], referral_id: strawberry.ID) -> ReferralPayload:
    """Cabinet: accepts the offered place before its deadline (R27); the referral is then to be
    presented at the kindergarten within the department's working days (R28)."""
    return await referral_payload(info, lambda: cabinet.accept_offer(info.context.principal, referral_id))
