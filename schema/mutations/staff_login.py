import time

import strawberry
from strawberry.types import Info

from schema.mutations._common import field_errors
from schema.types import FieldError
from schema.types.staff import Viewer
from server.auth import staff
from server.errors import DomainError


@strawberry.type
class StaffLoginPayload:
    viewer: Viewer | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


async def staff_login(info: Info, username: str, password: str) -> StaffLoginPayload:
    """Staff log in to the web session (integrators use staff-scoped tokens instead).
    Attempts are limited per account and per IP address."""
    try:
        account = await staff.authenticate(username, password, info.context.ip)
    except DomainError as exc:
        return StaffLoginPayload(errors=field_errors(exc, info.context.language))
    session = info.context.session
    if session is not None:
        now = int(time.time())
        for key in ("draft", "apps", "cabinet", "ch1", "ch2", "idem", "csrf"):
            session.pop(key)  # a new session: nothing of a parent's, a new form token
        session["staff"] = {"id": account.id, "at": now, "seen": now}
    department = await account.department
    return StaffLoginPayload(
        viewer=Viewer(kind="staff", name=account.username, role=account.role, department_code=department.code)
    )
