"""What the staff mutations share: the payload, and turning refusals into it. A
refused change (stale, invalid, not allowed) changes nothing and still returns the
application as it is now, so the caller can show the current values."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from schema.mutations._common import field_errors
from schema.types import FieldError
from schema.types.staff import StaffApplication
from server.errors import DomainError, ValidationErrors
from server.models import Application as ApplicationModel
from server.services import backoffice


@strawberry.type(description="The result of a staff change: the application as it is now, and why nothing changed.")
class StaffPayload:
    application: StaffApplication | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


def edit(info: Info, registration_number: str, version: int, reason: str = "") -> backoffice.Edit:
    return backoffice.Edit(
        principal=info.context.principal,
        registration_number=registration_number,
        version=version,
        ip=info.context.ip,
        reason=reason or "",
    )


async def run_staff(
    info: Info, registration_number: str, action: Callable[[], Awaitable[ApplicationModel]]
) -> StaffPayload:
    try:
        model = await action()
    except (DomainError, ValidationErrors) as exc:
        errors = field_errors(exc, info.context.language)
        try:
            current = await backoffice.application_for(info.context.principal, registration_number)
        except DomainError:
            return StaffPayload(errors=errors)
        return StaffPayload(application=await StaffApplication.of(current, info), errors=errors)
    return StaffPayload(application=await StaffApplication.of(model, info))
