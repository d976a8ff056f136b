import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._common import field_errors
from schema.types import Application, FieldError, application_of
from server.errors import DomainError
from server.models import Application as ApplicationModel
from server.services import cabinet


@strawberry.type
class CabinetPayload:
    applications: list[Application] = strawberry.field(default_factory=list)
    errors: list[FieldError] = strawberry.field(default_factory=list)


async def cabinet_confirm_login(info: Info[Context, None], challenge_id: str, code: str) -> CabinetPayload:
    """The parent's cabinet, step 2: the code from the SMS. Opens the applicant's
    applications in this web session."""
    try:
        ids = await cabinet.confirm_login(challenge_id, code)
    except DomainError as exc:
        return CabinetPayload(errors=field_errors(exc, info.context.language))
    session = info.context.session
    if session is not None:
        session.sign_parent_in(ids)
    models = await ApplicationModel.filter(id__in=ids).order_by("id")
    return CabinetPayload(applications=[await application_of(m, info) for m in models])
