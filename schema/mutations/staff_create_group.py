from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffGroupPayload, check_code, errors_of, group_checks, group_type, staff_of
from server.errors import DomainError, FieldErrors, ValidationErrors
from server.services import places


async def staff_create_group(
    info: Info[Context, None],
    kindergarten_code: str,
    name: str,
    cohort: int,
    language: str,
    capacity: int,
    enrolled: int = 0,
    active: bool = True,
    reason: str = "",
) -> StaffGroupPayload:
    """Department admins: a new age group of a kindergarten — the cohort (birth year) it
    takes, its language (kk, ru, other), its capacity and current enrolment. Audited."""
    try:
        found = FieldErrors()
        group_checks(name, language, reason)(found)
        check_code(found, kindergarten_code, "kindergarten")
        found.raise_if_any()
        model = await places.create_group(
            staff_of(info, reason),
            kindergarten_code,
            places.GroupInput(name, cohort, language, capacity, enrolled, active),
        )
    except (DomainError, ValidationErrors) as exc:
        return StaffGroupPayload(errors=errors_of(exc, info.context.language))
    return StaffGroupPayload(group=await group_type(model))
