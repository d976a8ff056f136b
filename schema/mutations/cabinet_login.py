from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, field_errors
from server.errors import DomainError, ValidationErrors
from server.services import cabinet


async def cabinet_login(info: Info, applicant_iin: str, phone: str) -> ApplicationPayload:
    """The parent's cabinet, step 1: the applicant's IIN and one of the application's
    confirmed phones. A code is sent when they match; the answer is the same either way."""
    try:
        challenge = await cabinet.start_login(applicant_iin, phone, info.context.ip)
    except (DomainError, ValidationErrors) as exc:
        return ApplicationPayload(errors=field_errors(exc, info.context.language))
    return ApplicationPayload(challenge_id=challenge)
