from strawberry.types import Info

from schema.context import Context
from schema.mutations._staff_places import StaffKindergartenPayload, kindergarten_checks, run_kindergarten, staff_of
from server.services import places


async def staff_update_kindergarten(
    info: Info[Context, None],
    code: str,
    version: int,
    name_kk: str,
    name_ru: str,
    name_en: str,
    languages: list[str],
    active: bool,
    address: str = "",
    reason: str = "",
) -> StaffKindergartenPayload:
    """Department admins: a kindergarten's names, address, languages and whether it takes
    children, on the `version` read; a stale change is refused with `edit.stale` and the
    current values returned. Each changed field is audited."""
    names = {"name_kk": name_kk, "name_ru": name_ru, "name_en": name_en}
    data = places.KindergartenInput(code, name_kk, name_ru, name_en, address, ",".join(x.strip() for x in languages))
    return await run_kindergarten(
        info,
        code,
        lambda: places.update_kindergarten(staff_of(info, reason), code, version, data, active),
        kindergarten_checks(code, names, address, languages, reason, existing=True),
    )
