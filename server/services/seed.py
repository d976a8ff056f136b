"""Seeding, idempotent: the benefit categories every installation needs (R18), and the
demo's departments, kindergartens with their groups, back-office accounts and a few
applications already in the queue."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from tortoise.exceptions import IntegrityError

from server import demo_data, runtime
from server.auth.principal import Principal
from server.domain.languages import GroupLanguage, Language
from server.domain.messages import Channel
from server.models import Application, BenefitCategory, Department, Group, Kindergarten, StaffAccount
from server.services import queue, registration, submission

log = logging.getLogger("kezek.seed")
SEEDER = Principal(kind="system", name="seed", scopes=frozenset({"applications:submit"}))


async def seed_reference_data() -> None:
    """The benefit categories (R18), needed by every installation. Departments and their
    kindergartens are each installation's own; the demo's come with `seed_demo`."""
    for sort_order, (code, klass, evidence, max_age, kk, ru, en) in enumerate(demo_data.BENEFIT_CATEGORIES):
        await BenefitCategory.update_or_create(
            code=code,
            defaults={
                "benefit_class": klass,
                "evidence": evidence,
                "document_max_age_days": max_age,
                "sort_order": sort_order,
                "name_kk": kk,
                "name_ru": ru,
                "name_en": en,
            },
        )


@functools.cache
def _demo_password_hash() -> str:
    """The demo password's Argon2 hash, made once per process (a hash costs a tenth of
    a second, and the tests seed the demo again and again)."""
    return PasswordHasher().hash(demo_data.DEMO_PASSWORD)


async def seed_demo_staff() -> int:
    """The demo back-office accounts (`demo_data.DEMO_STAFF`, password
    `demo_data.DEMO_PASSWORD`); never in production, where the password would be a
    public one. An account that exists is left as it is. Returns how many it made."""
    if runtime.get().settings.production:
        log.warning("production: no demo staff accounts")
        return 0
    made = 0
    for username, full_name, role, department_code, kindergarten_code in demo_data.DEMO_STAFF:
        if await StaffAccount.filter(username=username).exists():
            continue
        department = await Department.get(code=department_code)
        kindergarten = await Kindergarten.get(code=kindergarten_code) if kindergarten_code else None
        try:
            await StaffAccount.create(
                username=username,
                full_name=full_name,
                role=role,
                department=department,
                kindergarten=kindergarten,
                password_hash=_demo_password_hash(),
            )
        except IntegrityError:
            continue  # made by a parallel seed
        made += 1
    return made


async def seed_demo() -> int:
    """Demo departments, kindergartens with their groups, back-office accounts and queued
    applications; returns how many applications it registered (0 when the demo was
    seeded before)."""
    await seed_reference_data()
    for code, kk, ru, en in demo_data.DEPARTMENTS:
        department, _ = await Department.get_or_create(
            code=code, defaults={"name_kk": kk, "name_ru": ru, "name_en": en}
        )
        for row in demo_data.kindergartens(code):
            kindergarten, _ = await Kindergarten.get_or_create(
                code=row["code"], defaults=dict(department=department, **row)
            )
            for group in demo_data.groups(kindergarten.code, kindergarten.languages):
                await Group.get_or_create(
                    kindergarten=kindergarten,
                    name=group["name"],
                    defaults={"department_id": department.id, **{k: v for k, v in group.items() if k != "name"}},
                )
    await seed_demo_staff()
    if await Application.filter(created_via=SEEDER.actor).exists():
        return 0
    count = 0
    start = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    for n, (department_code, parent_key, child_key) in enumerate(demo_data.QUEUED):
        parent, child = demo_data.BY_KEY[parent_key], demo_data.BY_KEY[child_key]
        data = submission.SubmitInput(
            department_code=department_code,
            applicant_iin=parent.iin,
            child_iin=child.iin,
            phones=[f"+7701{5550000 + 2 * n:07d}", f"+7707{5550000 + 2 * n + 1:07d}"],
            email=None,
            kindergarten_codes=_choices(department_code, n, child),
            any_kindergarten=False,
            group_language=(GroupLanguage.KK if n % 2 else GroupLanguage.RU).value,
            desired_start=start,
            notify_channel=Channel.SMS.value,
            notify_language=(Language.KK if n % 2 else Language.RU).value,
        )
        application = await submission.submit(SEEDER, data, f"demo-{n}")
        await registration.register(application.id)
        # Numbered now, one registration at a time as the worker would, so later
        # priority registrations leave explained changes (R24) for the lookup to show.
        assert application.cohort is not None  # a submitted application's child is known
        await queue.refresh_until_settled(application.department_id, application.cohort)
        count += 1
    log.info("seeded %s demo applications", count)
    return count


def _choices(department_code: str, n: int, child: demo_data.Person) -> list[str]:
    """The kindergartens a seeded application lists: one of the twelve in turn, and for
    a 2022 child also KG01, whose 2022 group the demo publishes seats in."""
    own, first = f"{department_code}-KG{1 + n % 12:02d}", f"{department_code}-KG01"
    return [own] if child.born.year != 2022 or own == first else [own, first]
