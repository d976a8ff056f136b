"""The demo seed (`kezek seed`, `make run`): groups, back-office accounts and queued
applications, idempotent; and the README's walk from two published seats to offers."""

from __future__ import annotations

from datetime import timedelta

from server import demo_data
from server.auth import staff
from server.auth.principal import Principal
from server.domain.states import State
from server.models import Application, Group, Kindergarten, Notification, Preference, Referral, StaffAccount
from server.services import allocation, daily, places, referrals
from server.services.seed import seed_demo
from tests.helpers import iin


async def test_every_demo_kindergarten_has_groups_with_free_seats(demo):
    kindergartens = await Kindergarten.all().prefetch_related("groups")
    assert len(kindergartens) == 24
    cohorts, languages = set(), set()
    for kindergarten in kindergartens:
        groups = list(kindergarten.groups)
        assert 2 <= len(groups) <= 3, kindergarten.code
        for group in groups:
            assert 20 <= group.capacity <= 25 and 0 < group.enrolled < group.capacity
            assert group.language in kindergarten.languages.split(",")
            assert group.department_id == kindergarten.department_id
            cohorts.add(group.cohort)
            languages.add(group.language)
        assert any(g.cohort == 2022 for g in groups)
    assert cohorts == {2021, 2022, 2023, 2024} and languages == {"kk", "ru"}
    kg01 = await Group.get(kindergarten__code="AST-KG01", cohort=2022)
    assert kg01.language == "ru" and kg01.capacity - kg01.enrolled >= 2


async def test_demo_accounts_log_in_with_the_documented_password(demo):
    kg = await staff.authenticate("ast-kg01", demo_data.DEMO_PASSWORD, "10.9.9.1")
    await kg.fetch_related("kindergarten", "department")
    assert (kg.role, kg.kindergarten.code, kg.department.code) == ("kindergarten", "AST-KG01", "AST")
    admin = await staff.authenticate("ast-admin", demo_data.DEMO_PASSWORD, "10.9.9.2")
    await admin.fetch_related("department")
    assert (admin.role, admin.kindergarten_id, admin.department.code) == ("admin", None, "AST")
    assert admin.password_hash.startswith("$argon2id$")


async def test_seeding_again_changes_nothing(demo):
    counts = (await Group.all().count(), await StaffAccount.all().count(), await Application.all().count())
    await StaffAccount.filter(username="ast-admin").update(full_name="Renamed")  # left as it is
    assert await seed_demo() == 0
    assert (await Group.all().count(), await StaffAccount.all().count(), await Application.all().count()) == counts
    assert (await StaffAccount.get(username="ast-admin")).full_name == "Renamed"


async def test_no_demo_accounts_in_production(rt, monkeypatch):
    monkeypatch.setattr(rt, "settings", rt.settings.model_copy(update={"env": "production"}))
    await seed_demo()
    assert await Group.all().count() > 0
    assert not await StaffAccount.exists()


async def test_two_seats_in_the_2022_group_go_to_the_first_who_listed_kg01(demo):
    """The README's walk-through: the demo's 2022 Astana children all list AST-KG01."""
    seeded = await Application.filter(department__code="AST", cohort=2022).values_list("id", flat=True)
    assert len(seeded) == 3
    for application_id in seeded:
        assert await Preference.filter(application_id=application_id, kindergarten__code="AST-KG01").exists()

    account = await StaffAccount.get(username="ast-kg01")
    principal = staff.principal_of(account)
    group = await Group.get(kindergarten__code="AST-KG01", cohort=2022)
    await places.publish(places.Staff(principal), group.id, 2)
    await allocation.run_until_settled(group.department_id, 2022)

    offered = {r.application.child_iin: r for r in await Referral.all().prefetch_related("application")}
    # The large family's child (priority) first, then Adil (first choice KG01).
    assert set(offered) == {iin("q5c"), iin("adil")}
    assert await Notification.filter(kind="offered").count() == 2

    # Adil's mother accepts, the kindergarten enrols him.
    adil = offered[iin("adil")]
    await referrals.accept(
        Principal(kind="applicant", cabinet_ids=frozenset({adil.application_id})), str(adil.public_id)
    )
    await referrals.enrol(principal, str(adil.public_id))
    assert (await Application.get(id=adil.application_id)).state == State.ENROLLED.value

    # The other lets the deadline pass: stop-listed, and the seat goes to q1c.
    other = offered[iin("q5c")]
    expire = other.accept_by + timedelta(days=1)
    assert (await daily.run(expire)).deadlines.expired == 1
    assert (await Application.get(id=other.application_id)).state == State.SUSPENDED.value
    await allocation.run_until_settled(group.department_id, 2022)
    assert await Referral.filter(application__child_iin=iin("q1c"), state="offered").exists()

    # Restored at its place eleven days later.
    assert (await daily.run(expire + timedelta(days=11))).deadlines.restored == 1
    assert (await Application.get(id=other.application_id)).state == State.QUEUED.value
