from strawberry.types import Info

from schema.mutations._common import ApplicationPayload, field_errors
from schema.types import application_of
from server.errors import DomainError, ValidationErrors
from server.models import Application as ApplicationModel
from server.services import cabinet


async def cabinet_add_phone(info: Info, registration_number: str, phone: str) -> ApplicationPayload:
    """Cabinet: adds a phone: sends it a one-time password (confirm with cabinetConfirmPhone)."""
    try:
        challenge = await cabinet.add_phone(info.context.principal, registration_number, phone, info.context.ip)
    except (DomainError, ValidationErrors) as exc:
        return ApplicationPayload(errors=field_errors(exc, info.context.language))
    model = await ApplicationModel.get(registration_number=registration_number.strip().upper())
    return ApplicationPayload(application=await application_of(model, info), challenge_id=challenge)
