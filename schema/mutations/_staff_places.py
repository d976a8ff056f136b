"""What the mutations of kindergartens, groups, seats and referrals share: their
payloads, the checks of raw input made before a service sees it, and turning refusals
into errors. A refused change changes nothing and still returns the record as it is now
(when the caller may see it), so a page can show the current values and version."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.types import FieldError
from schema.types.places import Group
from schema.types.staff_places import StaffKindergarten, StaffReferral
from server.auth.principal import Principal
from server.errors import DomainError, FieldErrors, ValidationErrors
from server.i18n import N_, gettext
from server.models import Department as DepartmentModel
from server.models import Group as GroupModel
from server.models import Kindergarten as KindergartenModel
from server.models import Referral as ReferralModel
from server.services import backoffice, places

NAME_MAX = 200  # a kindergarten's name in each language
GROUP_NAME_MAX = 100
ADDRESS_MAX = 300
REASON_MAX = 500
CODE_MAX = 32
INT_MAX = 2**31 - 1
# The message of `edit.stale` names an application; here the record is a kindergarten or a group.
STALE = N_(
    "Someone changed this while you were editing. The current values are shown: check them and save again if needed."
)


@strawberry.type(description="The result of a change of a kindergarten: it as it is now, and why nothing changed.")
class StaffKindergartenPayload:
    kindergarten: StaffKindergarten | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


@strawberry.type(description="The result of a change of a group or its seats: the group as it is now, and errors.")
class StaffGroupPayload:
    group: Group | None = None
    seats: int = strawberry.field(default=0, description="How many seats were published or withdrawn.")
    errors: list[FieldError] = strawberry.field(default_factory=list)


@strawberry.type(description="The result of a staff move of a referral: the referral as it is now, and errors.")
class StaffReferralPayload:
    referral: StaffReferral | None = None
    errors: list[FieldError] = strawberry.field(default_factory=list)


def errors_of(exc: DomainError | ValidationErrors, language: str) -> list[FieldError]:
    items = exc.errors if isinstance(exc, ValidationErrors) else [exc]
    return [
        FieldError(
            field=e.field,
            code=e.code,
            message=gettext(STALE, language) if e.code == "edit.stale" else e.message(language),
        )
        for e in items
    ]


def staff_of(info: Info[Context, None], reason: str = "") -> places.Staff:
    return places.Staff(principal=info.context.principal, ip=info.context.ip, reason=reason.strip())


# --- raw input ------------------------------------------------------------------------


def has_controls(value: str) -> bool:
    """NUL and the other invisible control characters (a database refuses NUL)."""
    return any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value)


def check_text(errors: FieldErrors, value: str, field: str, limit: int, too_long: str) -> None:
    """A free text: no control characters, at most `limit` characters once its spaces
    are tidied (as the services tidy them)."""
    if has_controls(value):
        errors.add(DomainError("text.control", field))
    elif len(" ".join(value.split())) > limit:
        errors.add(DomainError(too_long, field, max=limit))


def check_reason(errors: FieldErrors, reason: str) -> None:
    if has_controls(reason):
        errors.add(DomainError("text.control", "reason"))
    elif len(reason.strip()) > REASON_MAX:
        errors.add(DomainError("reason.too_long", "reason", max=REASON_MAX))


def check_code(errors: FieldErrors, code: str, field: str, unknown: str = "kindergarten.unknown") -> None:
    """A kindergarten code used to look one up (the format is checked by the service)."""
    if has_controls(code) or len(code.strip()) > CODE_MAX:
        errors.add(DomainError(unknown, field))


def row_id(value: object, code: str, field: str) -> int:
    """A row id from the API (an ID string): a DomainError `code` when no row can have it."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= INT_MAX:
        raise DomainError(code, field)
    return int(text)


def kindergarten_checks(
    code: str, names: dict[str, str], address: str, languages: list[str], reason: str, *, existing: bool = False
) -> Callable[[FieldErrors], None]:
    """The raw checks of a kindergarten's fields; `existing`: the code names one to change."""

    def checks(errors: FieldErrors) -> None:
        if has_controls(code):
            errors.add(DomainError("text.control", "code"))
        elif existing and len(code.strip()) > CODE_MAX:
            errors.add(DomainError("kindergarten.unknown", "code"))
        for field, value in names.items():
            check_text(errors, value, field, NAME_MAX, "name.too_long")
        check_text(errors, address, "address", ADDRESS_MAX, "address.too_long")
        if any(has_controls(x) or "," in x or len(x) > 8 for x in languages):
            errors.add(DomainError("language.invalid", "languages"))
        check_reason(errors, reason)

    return checks


def group_checks(name: str, language: str, reason: str) -> Callable[[FieldErrors], None]:
    def checks(errors: FieldErrors) -> None:
        check_text(errors, name, "name", GROUP_NAME_MAX, "name.too_long")
        if has_controls(language):
            errors.add(DomainError("language.invalid", "language"))
        check_reason(errors, reason)

    return checks


def referral_uuid(value: object) -> str:
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise DomainError("referral.unknown", "referral") from None


# --- the records as they are now ------------------------------------------------------


async def visible_kindergarten(principal: Principal, code: str) -> KindergartenModel | None:
    scope = backoffice.staff_role(principal)
    if scope is None or has_controls(code) or len(code) > CODE_MAX:
        return None
    query = KindergartenModel.filter(code=code.strip().upper(), department_id=scope[1])
    if principal.kindergarten_id is not None:
        query = query.filter(id=principal.kindergarten_id)
    return await query.first()


async def visible_group(principal: Principal, group_id: int) -> GroupModel | None:
    scope = backoffice.staff_role(principal)
    if scope is None:
        return None
    query = GroupModel.filter(id=group_id, department_id=scope[1])
    if principal.kindergarten_id is not None:
        query = query.filter(kindergarten_id=principal.kindergarten_id)
    return await query.prefetch_related("kindergarten").first()


async def group_type(model: GroupModel) -> Group:
    await model.fetch_related("kindergarten")
    counts = await places.seat_counts([model.id])
    return Group.of(model, model.kindergarten.code, counts[model.id])


async def staff_referral(info: Info[Context, None], referral_id: str) -> StaffReferral | None:
    """The referral as the caller may see it now, or None."""
    principal = info.context.principal
    model = await ReferralModel.get_or_none(public_id=referral_id).prefetch_related(
        "kindergarten", "group", "application"
    )
    if model is None or not backoffice.may(principal, "referral.read", model.department_id):
        return None
    if principal.kindergarten_id is not None and principal.kindergarten_id != model.kindergarten_id:
        return None
    department = await DepartmentModel.get(id=model.department_id)
    return await StaffReferral.of(model, principal, department, info.context.language)


# --- running a change -------------------------------------------------------------------


async def run_kindergarten(
    info: Info[Context, None],
    code: str,
    action: Callable[[], Awaitable[KindergartenModel]],
    checks: Callable[[FieldErrors], None] = lambda errors: None,
) -> StaffKindergartenPayload:
    language = info.context.language
    try:
        found = FieldErrors()
        checks(found)
        found.raise_if_any()
        model = await action()
    except (DomainError, ValidationErrors) as exc:
        current = await visible_kindergarten(info.context.principal, code)
        return StaffKindergartenPayload(
            kindergarten=StaffKindergarten.of(current, language) if current else None, errors=errors_of(exc, language)
        )
    return StaffKindergartenPayload(kindergarten=StaffKindergarten.of(model, language))


async def run_group(
    info: Info[Context, None],
    group_id: object,
    action: Callable[[int], Awaitable[tuple[GroupModel | None, int]]],
    checks: Callable[[FieldErrors], None] = lambda errors: None,
) -> StaffGroupPayload:
    """`action` takes the group's id (checked) and returns the group changed (None: read
    it again) and how many seats it published or withdrew."""
    number: int | None = None
    try:
        found = FieldErrors()
        checks(found)
        try:
            number = row_id(group_id, "group.unknown", "group")
        except DomainError as exc:
            found.add(exc)
        found.raise_if_any()
        assert number is not None
        model, seats = await action(number)
    except (DomainError, ValidationErrors) as exc:
        current = await visible_group(info.context.principal, number) if number is not None else None
        return StaffGroupPayload(
            group=await group_type(current) if current else None, errors=errors_of(exc, info.context.language)
        )
    if model is None:
        model = await GroupModel.get(id=number)
    return StaffGroupPayload(group=await group_type(model), seats=seats)


async def run_referral(
    info: Info[Context, None],
    referral_id: object,
    action: Callable[[str], Awaitable[object]],
    checks: Callable[[FieldErrors], None] = lambda errors: None,
) -> StaffReferralPayload:
    public_id: str | None = None
    try:
        found = FieldErrors()
        checks(found)
        try:
            public_id = referral_uuid(referral_id)
        except DomainError as exc:
            found.add(exc)
        found.raise_if_any()
        assert public_id is not None
        await action(public_id)
    except (DomainError, ValidationErrors) as exc:
        current = await staff_referral(info, public_id) if public_id else None
        return StaffReferralPayload(referral=current, errors=errors_of(exc, info.context.language))
    return StaffReferralPayload(referral=await staff_referral(info, public_id))
