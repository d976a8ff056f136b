"""The department's kindergartens, their groups and their vacant seats (R25).

Department admins manage kindergartens and groups; a kindergarten's staff (or an admin)
publish vacant seats in its groups and withdraw a published seat nobody was offered yet.
Every change is audited in its transaction (who, when, from where, before, after), as
the back-office's changes of applications are; a change made on a stale version is
refused (`edit.stale`). Publishing asks for the cohort's allocation run after commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.auth.principal import Principal
from server.db import flat_ints
from server.domain.deadlines import local_date, working_deadline
from server.domain.languages import GroupLanguage
from server.domain.places import SeatState
from server.errors import DomainError, FieldErrors
from server.models import Department, Group, Kindergarten, Seat
from server.services import allocation, backoffice

MAX_SEATS = 200  # seats published at once
MAX_CAPACITY = 60
KINDERGARTEN_CODE = re.compile(r"^[A-Z]{2,8}-[A-Z0-9]{1,20}$")


@dataclass(frozen=True)
class Staff:
    """Who changes what, from where (as `backoffice.Edit`, without an application)."""

    principal: Principal
    ip: str = ""
    reason: str = ""


def _department_of(staff: Staff, operation: str) -> int:
    scope = backoffice.staff_role(staff.principal)
    if scope is None or not backoffice.may(staff.principal, operation, scope[1]):
        raise DomainError("auth.required")
    return scope[1]


async def _audit(
    staff: Staff, department_id: int, entity: str, entity_id: object, field: str, before: object, after: object
) -> bool:
    # Kindergartens and groups record values as str() writes them (True, not "true").
    before, after = (None if v is None else str(v) for v in (before, after))
    return await backoffice.audit_row(
        staff.principal.actor, staff.ip, department_id, None, entity, entity_id, field, before, after, staff.reason
    )


# --- reading -------------------------------------------------------------------------


async def kindergartens_of(principal: Principal) -> list[Kindergarten]:
    """The kindergartens the caller manages: the department's for its staff, its own for
    a kindergarten account."""
    scope = backoffice.staff_role(principal)
    if scope is None:
        raise DomainError("auth.required")
    query = Kindergarten.filter(department_id=scope[1])
    if principal.kindergarten_id is not None:
        query = query.filter(id=principal.kindergarten_id)
    return await query.order_by("code")


async def groups_of(principal: Principal, kindergarten_code: str | None = None) -> list[Group]:
    scope = backoffice.staff_role(principal)
    if scope is None:
        raise DomainError("auth.required")
    query = Group.filter(department_id=scope[1])
    if principal.kindergarten_id is not None:
        query = query.filter(kindergarten_id=principal.kindergarten_id)
    if kindergarten_code:
        query = query.filter(kindergarten__code=kindergarten_code.strip().upper())
    return await query.order_by("kindergarten__code", "cohort", "name").prefetch_related("kindergarten")


async def seat_counts(group_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per group: how many seats are open and offered."""
    counts: dict[int, dict[str, int]] = {g: {s.value: 0 for s in SeatState} for g in group_ids}
    rows = await Seat.filter(group_id__in=group_ids, state__in=[SeatState.OPEN.value, SeatState.OFFERED.value]).values(
        "group_id", "state"
    )
    for row in rows:
        counts[row["group_id"]][row["state"]] += 1
    return counts


async def _group_for(staff: Staff, group_id: int, operation: str, *, lock: bool = False) -> Group:
    department_id = _department_of(staff, operation)
    query = Group.select_for_update() if lock else Group
    group = await query.get_or_none(id=group_id, department_id=department_id)
    if group is None or (
        staff.principal.kindergarten_id is not None and group.kindergarten_id != staff.principal.kindergarten_id
    ):
        raise DomainError("group.unknown", "group")
    return group


def free_seats(group: Group, published: int) -> int:
    """Seats a group may still publish: capacity less enrolment less those published."""
    return max(0, group.capacity - group.enrolled - published)


# --- seats (the kindergarten) ----------------------------------------------------------


async def publish(staff: Staff, group_id: int, count: int) -> list[Seat]:
    """R25: `count` vacant seats in one group, offered by the next allocation run."""
    async with in_transaction():
        group = await _group_for(staff, group_id, "seat.publish", lock=True)
        if not group.active:
            raise DomainError("group.unknown", "group")
        published = await Seat.filter(
            group_id=group.id, state__in=[SeatState.OPEN.value, SeatState.OFFERED.value]
        ).count()
        limit = min(MAX_SEATS, free_seats(group, published))
        if not 1 <= count <= limit:
            raise DomainError("seats.count", "count", max=limit)
        department = await Department.get(id=group.department_id)
        now = datetime.now(UTC)
        chosen_until = working_deadline(local_date(now, department.timezone), department.offer_working_days)
        seats = [
            Seat(
                group_id=group.id,
                department_id=group.department_id,
                cohort=group.cohort,
                published_at=now,
                published_by=staff.principal.actor,
                chosen_until=chosen_until,
            )
            for _ in range(count)
        ]
        await Seat.bulk_create(seats)
        await _audit(staff, group.department_id, "group", group.id, "seats_published", published, published + count)
        await allocation.note_due(group.department_id, group.cohort)
    await allocation.request_run(group.department_id, group.cohort)
    return seats


async def withdraw(staff: Staff, seat_id: int) -> Seat:
    """A published seat taken back before anyone was offered it."""
    async with in_transaction():
        seat = await Seat.select_for_update().get_or_none(id=seat_id)
        if seat is None:
            raise DomainError("seat.unknown", "seat")
        await _group_for(staff, seat.group_id, "seat.publish")
        if seat.state != SeatState.OPEN.value:
            raise DomainError("seat.unknown", "seat")
        seat.state, seat.closed_at, seat.closed_by = SeatState.WITHDRAWN.value, datetime.now(UTC), staff.principal.actor
        await seat.save()
        await _audit(staff, seat.department_id, "seat", seat.id, "state", SeatState.OPEN.value, seat.state)
    return seat


async def withdraw_open(staff: Staff, group_id: int, count: int) -> int:
    """`count` of a group's open seats withdrawn, the newest first; returns how many."""
    group = await _group_for(staff, group_id, "seat.publish")
    ids = await flat_ints(
        Seat.filter(group_id=group.id, state=SeatState.OPEN.value)
        .order_by("-published_at", "-id")
        .limit(max(0, count))
        .values_list("id", flat=True)
    )
    done = 0
    for seat_id in ids:
        try:
            await withdraw(staff, seat_id)
        except DomainError:
            continue
        done += 1
    return done


# --- kindergartens and groups (the department admin) ----------------------------------


@dataclass(frozen=True)
class KindergartenInput:
    code: str
    name_kk: str
    name_ru: str
    name_en: str
    address: str = ""
    languages: str = "kk,ru"


@dataclass(frozen=True)
class GroupInput:
    name: str
    cohort: int
    language: str
    capacity: int
    enrolled: int = 0
    active: bool = True


def _check_kindergarten(data: KindergartenInput, department: Department) -> KindergartenInput:
    errors = FieldErrors()
    code = data.code.strip().upper()
    if not KINDERGARTEN_CODE.match(code) or not code.startswith(f"{department.code}-"):
        errors.add(DomainError("kindergarten.code", "code"))
    names = {}
    for language in ("kk", "ru", "en"):
        value = " ".join(getattr(data, f"name_{language}").split())
        if not value or len(value) > 200:
            errors.add(DomainError("name.required", f"name_{language}"))
        names[f"name_{language}"] = value
    languages = [x.strip() for x in data.languages.split(",") if x.strip()]
    if not languages or any(x not in GroupLanguage.__members__.values() for x in languages):
        errors.add(DomainError("language.invalid", "languages"))
    errors.raise_if_any()
    return KindergartenInput(code, address=" ".join(data.address.split())[:300], languages=",".join(languages), **names)


def _check_group(data: GroupInput, today: date, department: Department) -> GroupInput:
    errors = FieldErrors()
    name = " ".join(data.name.split())
    if not name or len(name) > 100:
        errors.add(DomainError("name.required", "name"))
    lowest, highest = today.year - department.max_age_years, today.year
    if not lowest <= data.cohort <= highest:
        errors.add(DomainError("group.cohort", "cohort", min=lowest, max=highest))
    if data.language not in GroupLanguage.__members__.values():
        errors.add(DomainError("language.invalid", "language"))
    if not 1 <= data.capacity <= MAX_CAPACITY:
        errors.add(DomainError("group.capacity", "capacity", max=MAX_CAPACITY))
    if not 0 <= data.enrolled <= max(0, data.capacity):
        errors.add(DomainError("group.enrolled", "enrolled"))
    errors.raise_if_any()
    return GroupInput(name, data.cohort, data.language, data.capacity, data.enrolled, data.active)


async def create_kindergarten(staff: Staff, data: KindergartenInput) -> Kindergarten:
    department = await Department.get(id=_department_of(staff, "kindergarten.manage"))
    clean = _check_kindergarten(data, department)
    try:
        async with in_transaction():
            kindergarten = await Kindergarten.create(department=department, **vars(clean))
            for field, value in vars(clean).items():
                await _audit(staff, department.id, "kindergarten", kindergarten.code, field, None, value)
    except IntegrityError:
        raise DomainError("kindergarten.exists", "code") from None
    return kindergarten


async def update_kindergarten(
    staff: Staff, code: str, version: int, data: KindergartenInput, active: bool = True
) -> Kindergarten:
    department_id = _department_of(staff, "kindergarten.manage")
    async with in_transaction():
        kindergarten = await Kindergarten.select_for_update().get_or_none(
            code=code.strip().upper(), department_id=department_id
        )
        if kindergarten is None:
            raise DomainError("kindergarten.unknown", "code")
        if kindergarten.version != version:
            raise DomainError("edit.stale")
        department = await Department.get(id=department_id)
        clean = _check_kindergarten(
            KindergartenInput(
                kindergarten.code, data.name_kk, data.name_ru, data.name_en, data.address, data.languages
            ),
            department,
        )
        changed = False
        for field, value in [*vars(clean).items(), ("active", active)]:
            if field == "code":
                continue
            changed |= await _audit(
                staff, department_id, "kindergarten", kindergarten.code, field, getattr(kindergarten, field), value
            )
            setattr(kindergarten, field, value)
        if changed:
            kindergarten.version += 1
            await kindergarten.save()
    return kindergarten


async def create_group(staff: Staff, kindergarten_code: str, data: GroupInput) -> Group:
    department_id = _department_of(staff, "kindergarten.manage")
    department = await Department.get(id=department_id)
    kindergarten = await Kindergarten.get_or_none(code=kindergarten_code.strip().upper(), department_id=department_id)
    if kindergarten is None:
        raise DomainError("kindergarten.unknown", "kindergarten")
    clean = _check_group(data, local_date(datetime.now(UTC), department.timezone), department)
    try:
        async with in_transaction():
            group = await Group.create(kindergarten=kindergarten, department_id=department_id, **vars(clean))
            for field, value in vars(clean).items():
                await _audit(staff, department_id, "group", group.id, field, None, value)
    except IntegrityError:
        raise DomainError("group.exists", "name") from None
    return group


async def update_group(staff: Staff, group_id: int, version: int, data: GroupInput) -> Group:
    """Changes a group; capacity and enrolment may not fall below the seats published."""
    try:
        async with in_transaction():
            group = await _group_for(staff, group_id, "kindergarten.manage", lock=True)
            if group.version != version:
                raise DomainError("edit.stale")
            department = await Department.get(id=group.department_id)
            clean = _check_group(data, local_date(datetime.now(UTC), department.timezone), department)
            published = await Seat.filter(
                group_id=group.id, state__in=[SeatState.OPEN.value, SeatState.OFFERED.value]
            ).count()
            if clean.capacity - clean.enrolled < published:
                raise DomainError("group.published", "capacity", count=published)
            if clean.cohort != group.cohort and published:
                raise DomainError("group.cohort", "cohort", min=group.cohort, max=group.cohort)
            changed = False
            for field, value in vars(clean).items():
                changed |= await _audit(
                    staff, group.department_id, "group", group.id, field, getattr(group, field), value
                )
                setattr(group, field, value)
            if changed:
                group.version += 1
                await group.save()
    except IntegrityError:
        raise DomainError("group.exists", "name") from None
    return group
