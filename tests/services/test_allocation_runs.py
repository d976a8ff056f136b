"""Allocation runs, referrals and their deadlines (R25–R31) through the services, on
both databases: seats published, offered down the queue, accepted, enrolled, expired,
stop-listed and restored."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from server.auth.principal import Principal
from server.domain.places import SeatState
from server.domain.referrals import ReferralState
from server.domain.states import State
from server.errors import DomainError
from server.models import (
    Application,
    ApplicationEvent,
    AuditEntry,
    Contact,
    Department,
    Group,
    Kindergarten,
    Notification,
    Preference,
    Referral,
    Seat,
)
from server.services import allocation, places, queue, referrals
from tests.services.test_queue import COHORT, queued


def kindergarten_staff(department: Department, kindergarten: Kindergarten) -> Principal:
    return Principal(
        kind="staff",
        name="kg",
        department_id=department.id,
        role="kindergarten",
        staff_id=1,
        kindergarten_id=kindergarten.id,
    )


def admin(department: Department) -> Principal:
    return Principal(kind="staff", name="boss", department_id=department.id, role="admin", staff_id=2)


async def waiting_child(department: Department, name: str, choices: list[str], *, language="ru", minutes=0, any_=False):
    app = await queued(department, name, minutes=minutes)
    app.group_language, app.any_kindergarten = language, any_
    await app.save()
    for rank, code in enumerate(choices, start=1):
        await Preference.create(application=app, kindergarten=await Kindergarten.get(code=code), rank=rank)
    await Contact.create(
        application=app, kind="phone", value=f"+7701{app.id:07d}", rank=1, confirmed_at=app.registered_at
    )
    return app


@pytest.fixture
async def ast(reference) -> Department:
    return await Department.get(code="AST")


@pytest.fixture
async def groups(ast):
    kg1, kg3 = await Kindergarten.get(code="AST-KG01"), await Kindergarten.get(code="AST-KG03")
    return {
        "kg1-ru": await Group.create(
            kindergarten=kg1,
            department_id=ast.id,
            name="Ru 2022",
            cohort=COHORT,
            language="ru",
            capacity=25,
            enrolled=20,
        ),
        "kg3-ru": await Group.create(
            kindergarten=kg3,
            department_id=ast.id,
            name="Ru 2022",
            cohort=COHORT,
            language="ru",
            capacity=25,
            enrolled=24,
        ),
    }


async def test_published_seats_go_down_the_queue_by_serial_choice(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG03", "AST-KG01"], minutes=1)
    b = await waiting_child(ast, "B", ["AST-KG03"], minutes=2)
    c = await waiting_child(ast, "C", ["AST-KG01"], minutes=3, language="kk")
    d = await waiting_child(ast, "D", ["AST-KG02", "AST-KG01"], minutes=4)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    await places.publish(places.Staff(kindergarten_staff(ast, kg)), groups["kg1-ru"].id, 2)
    kg3 = await Kindergarten.get(code="AST-KG03")
    await places.publish(places.Staff(kindergarten_staff(ast, kg3)), groups["kg3-ru"].id, 1)

    run = await allocation.run(ast.id, COHORT)
    got = {p.application_id: p.group.kindergarten.code for p in run.offered}
    assert got == {a.id: "AST-KG03", d.id: "AST-KG01"}  # B listed only KG03, C wants a Kazakh group
    for app in (a, d):
        assert (await Application.get(id=app.id)).state == State.OFFERED
    referral = await Referral.get(application_id=a.id)
    assert referral.rank == 1 and referral.queue_number == 1 and referral.open_seat == referral.seat_id
    assert referral.explanation["kindergarten"] == "AST-KG03"
    assert await Notification.filter(application_id=a.id, kind="offered").count() == 1
    # A second run has nothing to offer: the third seat has no chooser left.
    assert (await allocation.run(ast.id, COHORT)).offered == []
    assert await Seat.filter(state=SeatState.OPEN.value).count() == 1
    # The queue refresh takes the offered ones out of the numbers.
    await queue.refresh_until_settled(ast.id, COHORT)
    assert [w.application_id for w in await queue.waiting(ast.id, COHORT)] == [b.id, c.id]


async def test_accept_enrol_and_the_group_fills(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    staff = kindergarten_staff(ast, kg)
    await places.publish(places.Staff(staff), groups["kg1-ru"].id, 1)
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    parent = Principal(kind="applicant", cabinet_ids=frozenset({a.id}))
    stranger = Principal(kind="applicant", cabinet_ids=frozenset({999}))
    with pytest.raises(DomainError):
        await referrals.accept(stranger, str(referral.public_id))
    await referrals.accept(parent, str(referral.public_id))
    referral = await Referral.get(id=referral.id)
    assert referral.state == ReferralState.ACCEPTED and referral.present_by is not None
    await referrals.extend(parent, str(referral.public_id), 10)
    with pytest.raises(DomainError):
        await referrals.extend(parent, str(referral.public_id), 10)  # once only (R28)
    other_kg = kindergarten_staff(ast, await Kindergarten.get(code="AST-KG02"))
    with pytest.raises(DomainError):
        await referrals.enrol(other_kg, str(referral.public_id))
    await referrals.enrol(staff, str(referral.public_id), "127.0.0.1")
    assert (await Application.get(id=a.id)).state == State.ENROLLED
    assert (await Application.get(id=a.id)).active_key is None
    assert (await Seat.get(id=referral.seat_id)).state == SeatState.FILLED
    assert (await Group.get(id=groups["kg1-ru"].id)).enrolled == 21
    assert await AuditEntry.filter(entity="referral", entity_id=str(referral.public_id)).count() == 1
    kinds = await ApplicationEvent.filter(application_id=a.id).values_list("kind", flat=True)
    assert {"offer", "referral_accept", "referral_extend", "referral_enrol", "enrol"} <= set(kinds)
    assert await Notification.filter(application_id=a.id, kind="enrolled").count() == 1


async def test_a_lapsed_offer_stop_lists_frees_the_seat_and_is_restored_later(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    b = await waiting_child(ast, "B", ["AST-KG01"], minutes=2)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    await places.publish(places.Staff(kindergarten_staff(ast, kg)), groups["kg1-ru"].id, 1)
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    late = referral.accept_by + timedelta(days=1)
    first = await referrals.run_deadlines(late)
    again = await referrals.run_deadlines(late)  # idempotent
    assert (first.expired, again.expired) == (1, 0)
    app = await Application.get(id=a.id)
    assert app.state == State.SUSPENDED and app.suspended_until == late + timedelta(days=ast.stoplist_days)
    assert (await Referral.get(id=referral.id)).state == ReferralState.EXPIRED
    assert await Notification.filter(application_id=a.id, kind="referral_expired").count() == 1
    # The freed seat goes to the next child who chose it.
    await allocation.run_until_settled(ast.id, COHORT)
    assert (await Referral.get(application_id=b.id)).seat_id == referral.seat_id
    # Ten days on, the stop-list ends by itself, once.
    done = await referrals.run_deadlines(app.suspended_until + timedelta(days=1))
    assert done.restored == 1 and (await Application.get(id=a.id)).state == State.QUEUED
    assert (await referrals.run_deadlines(app.suspended_until + timedelta(days=2))).restored == 0


async def test_declining_an_offer_the_parent_did_not_choose_costs_nothing(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG02"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    await Seat.create(
        group=groups["kg1-ru"],
        department_id=ast.id,
        cohort=COHORT,
        published_at=a.registered_at,
        published_by="t",
        chosen_until=a.registered_at.date() - timedelta(days=1),
    )
    run = await allocation.run(ast.id, COHORT)
    assert [p.offer.window.value for p in run.offered] == ["open"]
    referral = await Referral.get(application_id=a.id)
    await referrals.decline(Principal(kind="applicant", cabinet_ids=frozenset({a.id})), str(referral.public_id))
    assert (await Application.get(id=a.id)).state == State.QUEUED


async def test_withdrawing_an_offered_application_gives_the_seat_back(ast, groups):
    from server.domain.states import Transition
    from server.services import events

    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    await places.publish(places.Staff(kindergarten_staff(ast, kg)), groups["kg1-ru"].id, 1)
    await allocation.run(ast.id, COHORT)
    await events.move(a.id, Transition.WITHDRAW, "applicant")
    referral = await Referral.get(application_id=a.id)
    assert referral.state == ReferralState.CANCELLED and referral.open_application is None
    assert (await Seat.get(id=referral.seat_id)).state == SeatState.OPEN


async def test_publishing_is_limited_to_free_places_and_ones_own_kindergarten(ast, groups):
    kg = await Kindergarten.get(code="AST-KG01")
    staff = places.Staff(kindergarten_staff(ast, kg))
    with pytest.raises(DomainError) as refused:
        await places.publish(staff, groups["kg1-ru"].id, 6)  # 25 places, 20 enrolled
    assert refused.value.code == "seats.count"
    with pytest.raises(DomainError):
        await places.publish(staff, groups["kg3-ru"].id, 1)  # another kindergarten's group
    seats = await places.publish(staff, groups["kg1-ru"].id, 5)
    assert len(seats) == 5
    assert await places.withdraw_open(staff, groups["kg1-ru"].id, 2) == 2
    assert await Seat.filter(state=SeatState.WITHDRAWN.value).count() == 2


async def test_concurrent_runs_never_offer_a_seat_twice(ast, groups, on_postgres):
    if not on_postgres:
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    for n in range(30):
        await waiting_child(ast, f"C{n}", ["AST-KG01"], minutes=n)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    await places.publish(places.Staff(kindergarten_staff(ast, kg)), groups["kg1-ru"].id, 5)
    results = await asyncio.gather(
        *(allocation.run_until_settled(ast.id, COHORT) for _ in range(4)), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    rows = await Referral.all().values_list("seat_id", "application_id")
    assert len(rows) == 5
    assert len({s for s, _ in rows}) == 5 and len({a for _, a in rows}) == 5


async def test_the_database_refuses_a_second_open_offer_of_a_seat_or_to_a_child(ast, groups):
    from uuid import uuid4

    from tortoise.exceptions import IntegrityError

    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    b = await waiting_child(ast, "B", ["AST-KG01"], minutes=2)
    await queue.refresh(ast.id, COHORT)
    kg = await Kindergarten.get(code="AST-KG01")
    await places.publish(places.Staff(kindergarten_staff(ast, kg)), groups["kg1-ru"].id, 2)
    await allocation.run(ast.id, COHORT)
    first = await Referral.get(application_id=a.id)
    other_seat = (await Referral.get(application_id=b.id)).seat_id

    def copy(**changes):
        fields = {
            "public_id": uuid4(),
            "application_id": first.application_id,
            "seat_id": first.seat_id,
            "group_id": first.group_id,
            "kindergarten_id": first.kindergarten_id,
            "department_id": ast.id,
            "cohort": COHORT,
            "window": "chosen",
            "queue_number": 1,
            "benefit_class": "general",
            "offered_at": first.offered_at,
            "accept_by": first.accept_by,
            "open_application": first.application_id,
            "open_seat": first.seat_id,
        }
        return Referral.create(**{**fields, **changes})

    with pytest.raises(IntegrityError):  # the same seat, another child
        await copy(application_id=b.id, open_application=None)
    with pytest.raises(IntegrityError):  # the same child, another seat
        await copy(seat_id=other_seat, open_seat=None)
    assert await Referral.all().count() == 2


async def test_twins_are_offered_together_when_the_group_has_room_for_both(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    b = await waiting_child(ast, "B", ["AST-KG01"], minutes=1)
    c = await waiting_child(ast, "C", ["AST-KG01"], minutes=5)
    for twin in (a, b):
        twin.batch_id = a.id
        await twin.save()
    await queue.refresh(ast.id, COHORT)
    kg = places.Staff(kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01")))
    await places.publish(kg, groups["kg1-ru"].id, 1)
    run = await allocation.run(ast.id, COHORT)
    assert [p.application_id for p in run.offered] == [c.id]  # one seat: the twins wait together
    await places.publish(kg, groups["kg1-ru"].id, 2)
    run = await allocation.run(ast.id, COHORT)
    assert sorted(p.application_id for p in run.offered) == sorted([a.id, b.id])


async def test_an_unconfirmed_extraordinary_offer_is_cancelled_and_the_benefit_removed(ast, groups):
    from server.models import BenefitCategory, BenefitClaim

    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    category = await BenefitCategory.filter(benefit_class="extraordinary").first()
    await BenefitClaim.create(application=a, category=category, source="registry", status="confirmed")
    a.benefit_class = "extraordinary"
    await a.save()
    await queue.refresh(ast.id, COHORT)
    await places.publish(
        places.Staff(kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))), groups["kg1-ru"].id, 1
    )
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    assert referral.confirm_by is not None
    parent = Principal(kind="applicant", cabinet_ids=frozenset({a.id}))
    await referrals.accept(parent, str(referral.public_id))
    staff = kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))
    with pytest.raises(DomainError) as refused:
        await referrals.enrol(staff, str(referral.public_id))
    assert refused.value.code == "referral.benefit_unconfirmed"
    report = await referrals.run_deadlines(referral.confirm_by + timedelta(days=1))
    assert report.cancelled == 1
    app = await Application.get(id=a.id)
    assert app.state == State.QUEUED and app.benefit_class == "general"
    assert (await Referral.get(id=referral.id)).state == ReferralState.CANCELLED
    assert await BenefitClaim.filter(application=a, status="confirmed").count() == 0
    assert await Notification.filter(application_id=a.id, kind="referral_cancelled").count() == 1


async def test_a_confirmed_extraordinary_offer_may_be_enrolled(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    a.benefit_class = "extraordinary"
    await a.save()
    await queue.refresh(ast.id, COHORT)
    staff = kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))
    await places.publish(places.Staff(staff), groups["kg1-ru"].id, 1)
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    with pytest.raises(DomainError):  # a kindergarten does not confirm benefits
        await referrals.confirm_benefit(staff, str(referral.public_id))
    await referrals.confirm_benefit(admin(ast), str(referral.public_id))
    await referrals.accept(Principal(kind="applicant", cabinet_ids=frozenset({a.id})), str(referral.public_id))
    await referrals.enrol(staff, str(referral.public_id))
    assert (await Application.get(id=a.id)).state == State.ENROLLED
    assert (await referrals.run_deadlines(referral.confirm_by + timedelta(days=1))).cancelled == 0


async def test_a_reminder_goes_out_once_a_working_day_before_the_deadline(ast, groups):
    from server.domain.deadlines import previous_working_day

    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    await places.publish(
        places.Staff(kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))), groups["kg1-ru"].id, 1
    )
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    day = previous_working_day(referral.accept_by)
    assert (await referrals.run_deadlines(day - timedelta(days=1))).reminded in (0, 1)
    await referrals.run_deadlines(day)
    await referrals.run_deadlines(day)
    assert await Notification.filter(application_id=a.id, kind="offer_expiring").count() == 1


async def test_staff_cancel_with_a_reason_returns_the_child_to_its_place(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    await places.publish(
        places.Staff(kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))), groups["kg1-ru"].id, 1
    )
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    with pytest.raises(DomainError) as refused:
        await referrals.cancel(admin(ast), str(referral.public_id), "  ")
    assert refused.value.code == "reason.required"
    await referrals.cancel(admin(ast), str(referral.public_id), "the group closes for repairs")
    app = await Application.get(id=a.id)
    assert app.state == State.QUEUED and app.suspended_until is None
    assert (await AuditEntry.get(entity="referral")).reason == "the group closes for repairs"


async def test_a_no_show_stop_lists_the_child(ast, groups):
    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    await queue.refresh(ast.id, COHORT)
    staff = kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))
    await places.publish(places.Staff(staff), groups["kg1-ru"].id, 1)
    await allocation.run(ast.id, COHORT)
    referral = await Referral.get(application_id=a.id)
    with pytest.raises(DomainError):  # not accepted yet: nothing to present
        await referrals.no_show(staff, str(referral.public_id), "did not come")
    await referrals.accept(Principal(kind="applicant", cabinet_ids=frozenset({a.id})), str(referral.public_id))
    await referrals.no_show(staff, str(referral.public_id), "did not come")
    assert (await Application.get(id=a.id)).state == State.SUSPENDED
    assert (await Seat.get(id=referral.seat_id)).state == SeatState.OPEN


async def test_an_offer_after_departures_records_the_current_queue_number_without_a_refresh(ast, groups):
    from server.domain.states import Transition
    from server.models import CohortChange
    from server.services import events

    a = await waiting_child(ast, "A", ["AST-KG01"], minutes=1)
    b = await waiting_child(ast, "B", ["AST-KG01"], minutes=2)
    c = await waiting_child(ast, "C", ["AST-KG01"], minutes=3)
    await queue.refresh(ast.id, COHORT)
    await events.move(a.id, Transition.WITHDRAW, "applicant")  # a departure, not refreshed yet
    assert await CohortChange.filter(kind="withdrawn").exists()
    kg = places.Staff(kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01")))
    await places.publish(kg, groups["kg1-ru"].id, 1)
    run = await allocation.run(ast.id, COHORT)
    assert [(p.application_id, p.queue_number) for p in run.offered] == [(b.id, 1)]
    assert await CohortChange.filter(kind="withdrawn").exists()  # left for the refresh job
    # A registration ahead is not a departure: the run refreshes first.
    d = await waiting_child(ast, "D", ["AST-KG01"], minutes=0)
    await places.publish(kg, groups["kg1-ru"].id, 1)
    run = await allocation.run(ast.id, COHORT)
    assert [(p.application_id, p.queue_number) for p in run.offered] == [(d.id, 1)]
    assert not await CohortChange.filter(kind="registered").exists()
    assert c.id not in [p.application_id for p in run.offered]
