"""What every mutation shares: the payload shape and turning domain errors into it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.types import Application, FieldError, application_of
from server.errors import DomainError, ValidationErrors
from server.models import Application as ApplicationModel

T = TypeVar("T")


@strawberry.type(description="The result of a journey step: the application, or why nothing changed.")
class ApplicationPayload:
    application: Application | None = None
    challenge_id: str | None = strawberry.field(
        default=None, description="Set when a one-time password was sent: pass it back with the code."
    )
    errors: list[FieldError] = strawberry.field(default_factory=list)


def field_errors(exc: DomainError | ValidationErrors, language: str) -> list[FieldError]:
    items = exc.errors if isinstance(exc, ValidationErrors) else [exc]
    return [FieldError(field=e.field, code=e.code, message=e.message(language)) for e in items]


async def run(
    info: Info[Context, None],
    action: Callable[[], Awaitable[ApplicationModel]],
    *,
    challenge: Callable[[], str | None] = lambda: None,
) -> ApplicationPayload:
    try:
        model = await action()
    except (DomainError, ValidationErrors) as exc:
        return ApplicationPayload(errors=field_errors(exc, info.context.language))
    return ApplicationPayload(application=await application_of(model, info), challenge_id=challenge())


def remember_draft(info: Info[Context, None], model: ApplicationModel) -> None:
    session = info.context.session
    if session is not None:
        session.start_draft(str(model.public_id))


def remember_submitted(info: Info[Context, None], model: ApplicationModel) -> None:
    session = info.context.session
    if session is not None:
        session.remember_submitted(model.id)


def claim_number(value: object) -> int:
    """A claim id from the API (an ID string); -1 when it is not a number (no claim has it)."""
    try:
        return int(str(value))
    except ValueError:
        return -1
