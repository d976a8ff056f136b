from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffKindergartenPayload, kindergarten_checks, run_kindergarten, staff_of
from server.services import places


async def staff_create_kindergarten(
    info: Info[Context, None],
    code: str,
    name_kk: str,
    name_ru: str,
    name_en: str,
    languages: list[str],
    address: str = "",
    reason: str = "",
) -> StaffKindergartenPayload:
    """Department admins: a new kindergarten of the department, its code starting with the
    department's (AST-KG13); languages among kk, ru, other. Audited."""
    names = {"name_kk": name_kk, "name_ru": name_ru, "name_en": name_en}
    data = places.KindergartenInput(code, name_kk, name_ru, name_en, address, ",".join(x.strip() for x in languages))
    return await run_kindergarten(
        info,
        code,
        lambda: places.create_kindergarten(staff_of(info, reason), data),
        kindergarten_checks(code, names, address, languages, reason),
    )
