import time

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.mutations._common import field_errors
from schema.types import FieldError
from schema.types.staff import Viewer
from server.auth import staff
from server.errors import DomainError


@strawberry.type
class StaffLoginPayload:
    viewer: Viewer | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


async def staff_login(info: Info[Context, None], username: str, password: str) -> StaffLoginPayload:
    """Staff log in to the web session (integrators use staff-scoped tokens instead).
    Attempts are limited per account and per IP address."""
    try:
        account = await staff.authenticate(username, password, info.context.ip)
    except DomainError as exc:
        return StaffLoginPayload(errors=field_errors(exc, info.context.language))
    session = info.context.session
    if session is not None:
        session.sign_staff_in(account.id, int(time.time()))
    department = await account.department
    return StaffLoginPayload(
        viewer=Viewer(kind="staff", name=account.username, role=account.role, department_code=department.code)
    )
