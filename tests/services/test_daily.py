"""The daily jobs beside the referral deadlines: the age-out (R31) and the registry
re-check of benefits (R17), with time moved forward; and the "queue number changed by
more than [10] places" message of the queue refresh (R34)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from server.domain.explain import ChangeKind
from server.domain.states import State, Transition
from server.gateways import GatewayError
from server.models import (
    Application,
    ApplicationEvent,
    BenefitClaim,
    CohortChange,
    Contact,
    Department,
    Notification,
)
from server.services import daily, events, jobs, notifications, queue, registration, submission
from tests.helpers import iin
from tests.helpers.services import INTEGRATOR, submit_input

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


async def registered(parent: str, child: str, n: int, **overrides) -> Application:
    """An application submitted by an integrator and registered, numbered in its cohort."""
    data = submit_input(parent, child, phones=[f"+7701300{n:04d}", f"+7707300{n:04d}"], **overrides)
    application = await submission.submit(INTEGRATOR, data, f"daily-{n}")
    application = await registration.register(application.id)
    assert application is not None and application.cohort is not None
    await queue.refresh_until_settled(application.department_id, application.cohort)
    return application


async def kinds(application: Application, kind: str) -> list[Notification]:
    return list(await Notification.filter(application_id=application.id, kind=kind))


@pytest.fixture
async def ast(reference) -> Department:
    return await Department.get(code="AST")


# --- R31: the age-out ---------------------------------------------------------------------


def test_born_by_counts_whole_years_and_29_february():
    assert daily.born_by(date(2028, 3, 15), 6) == date(2022, 3, 15)
    assert daily.born_by(date(2028, 2, 29), 6) == date(2022, 2, 28)
    # A child born on 29 February 2020 is six on 1 March 2026, not on 28 February.
    assert daily.born_by(date(2026, 2, 28), 6) < date(2020, 2, 29) <= daily.born_by(date(2026, 3, 1), 6)


async def test_age_out_closes_queued_and_suspended_once_and_catches_up(ast):
    dana = await registered("aigerim", "dana", 1)  # born 2022-03-15
    adil = await registered("asel", "adil", 2)  # born 2022-01-30
    q1c = await registered("q1p", "q1c", 3)  # born 2022-06-03
    await events.move(adil.id, Transition.SUSPEND, "staff:test", "stop-list")
    await Application.filter(id=q1c.id).update(state=State.OFFERED.value)  # left to its referral
    await CohortChange.all().delete()

    assert (await daily.age_out(date(2028, 1, 29))).closed == 0  # nobody is six yet
    # The worker was off from 30 January to 20 March: both birthdays are caught up at once.
    assert (await daily.age_out(date(2028, 3, 20))).closed == 2
    assert (await daily.age_out(date(2028, 3, 20))).closed == 0  # run twice = once
    assert (await daily.age_out(date(2028, 7, 1))).closed == 0  # the offered one waits

    for app in (dana, adil):
        fresh = await Application.get(id=app.id)
        assert fresh.state == State.CLOSED.value and fresh.active_key is None  # R5: may apply again
        event = await ApplicationEvent.get(application_id=app.id, kind=Transition.CLOSE.value)
        assert (event.actor, event.reason) == ("system:daily", daily.AGE_OUT_REASON)
        closed = await kinds(app, "closed")
        assert len(closed) == 1 and fresh.registration_number in closed[0].body  # told once, by SMS
    assert (await Application.get(id=q1c.id)).state == State.OFFERED.value
    # The cohort is marked for its refresh, and the refresh takes them out of the queue.
    assert await CohortChange.filter(kind=ChangeKind.CLOSED.value).count() == 2
    await queue.refresh_until_settled(ast.id, 2022)
    assert not await Application.filter(id=dana.id, queue_entry__isnull=False).exists()


async def test_age_out_checks_today_in_the_department_time_zone(ast):
    from server.domain.deadlines import local_date

    today = local_date(datetime.now(UTC), ast.timezone)  # not the UTC day near midnight
    dana = await registered("aigerim", "dana", 1)
    adil = await registered("asel", "adil", 2)
    await Application.filter(id=dana.id).update(child_birth_date=daily.born_by(today, 6))  # six today
    await Application.filter(id=adil.id).update(child_birth_date=daily.born_by(today, 6) + timedelta(days=1))
    assert (await daily.age_out()).closed == 1
    assert (await Application.get(id=dana.id)).state == State.CLOSED.value
    assert (await Application.get(id=adil.id)).state == State.QUEUED.value


async def test_the_daily_run_says_what_it_did(ast):
    await registered("aigerim", "dana", 1)
    report = await daily.run(date(2028, 3, 16))
    assert report.aged_out.closed == 1
    summary = report.summary()
    assert "as of ALA 2028-03-16, AST 2028-03-16" in summary
    assert "1 closed at the maximum age (R31)" in summary
    assert "registry re-check (R17): 0 applications" in summary  # registered today: checked today


# --- R17: the registry re-check -------------------------------------------------------------


def registry_shows(rt, key: str, benefits: list[str]) -> None:
    """The embedded registry now shows these benefits for the person (a copy: the demo
    records stay as they were for the other tests)."""
    records = dict(rt.gateways.registry.records)
    records[iin(key)] = {**records[iin(key)], "benefits": list(benefits)}
    rt.gateways.registry.records = records


class DownRegistry:
    name = "down"

    async def person(self, iin: str):
        raise GatewayError("registry unreachable: ConnectError")


async def test_recheck_records_a_benefit_found_in_the_registry_once(ast, rt):
    dana = await registered("aigerim", "dana", 1)
    adil = await registered("asel", "adil", 2)
    assert dana.benefit_class == "general"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await CohortChange.all().delete()

    registry_shows(rt, "dana", ["LARGE_FAMILY"])
    report = await daily.recheck_benefits(tomorrow)
    assert (report.checked, report.gained, report.lost, report.unavailable) == (2, 1, 0, [])

    claim = await BenefitClaim.get(application_id=dana.id).prefetch_related("category")
    assert (claim.category.code, claim.source, claim.status, claim.reason) == (
        "LARGE_FAMILY",
        "registry",
        "confirmed",
        daily.GAINED_REASON,
    )
    fresh = await Application.get(id=dana.id)
    assert fresh.benefit_class == "priority" and fresh.version == dana.version + 1
    assert await CohortChange.filter(application_id=dana.id, kind=ChangeKind.BENEFIT_GAINED.value).exists()
    told = await kinds(dana, "benefit_confirmed")
    assert len(told) == 1 and dana.registration_number in told[0].body
    assert await ApplicationEvent.filter(
        application_id=dana.id, kind="benefit_confirmed", actor="system:daily"
    ).exists()
    assert not await BenefitClaim.filter(application_id=adil.id).exists()

    # Run again the same day: nothing asked, nothing written.
    assert (await daily.recheck_benefits(tomorrow + timedelta(hours=3))).checked == 0
    # The next day: asked again, nothing new.
    again = await daily.recheck_benefits(tomorrow + timedelta(days=1))
    assert (again.checked, again.gained, again.lost) == (2, 0, 0)
    assert await BenefitClaim.filter(application_id=dana.id).count() == 1
    assert len(await kinds(dana, "benefit_confirmed")) == 1
    # One marker per application, the last re-check's.
    marker = await ApplicationEvent.get(application_id=dana.id, kind=daily.RECHECK)
    assert marker.data == {"registry": ["LARGE_FAMILY"]}


async def test_recheck_withdraws_a_benefit_the_registry_no_longer_shows(ast, rt):
    yerasyl = await registered("gulnara", "yerasyl", 1)  # LARGE_FAMILY, child and mother
    assert yerasyl.benefit_class == "priority"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await CohortChange.all().delete()

    registry_shows(rt, "yerasyl", [])
    still = await daily.recheck_benefits(tomorrow)  # the mother's record still shows it
    assert (still.checked, still.lost) == (1, 0)

    registry_shows(rt, "gulnara", [])
    report = await daily.recheck_benefits(tomorrow + timedelta(days=1))
    assert (report.checked, report.gained, report.lost) == (1, 0, 1)
    claim = await BenefitClaim.get(application_id=yerasyl.id)
    assert (claim.status, claim.reason, claim.decided_by) == ("withdrawn", daily.LOST_REASON, "system:daily")
    fresh = await Application.get(id=yerasyl.id)
    assert fresh.benefit_class == "general" and fresh.registration_number == yerasyl.registration_number  # R16
    assert await CohortChange.filter(application_id=yerasyl.id, kind=ChangeKind.BENEFIT_LOST.value).exists()
    lost = await kinds(yerasyl, "benefit_lost")
    assert len(lost) == 1 and yerasyl.registration_number in lost[0].body and len(lost[0].body) <= 70

    # Shown again later: found again (the re-check withdrew it, no person did).
    registry_shows(rt, "gulnara", ["LARGE_FAMILY"])
    back = await daily.recheck_benefits(tomorrow + timedelta(days=2))
    assert back.gained == 1
    assert (await Application.get(id=yerasyl.id)).benefit_class == "priority"


async def test_recheck_leaves_a_benefit_the_parent_withdrew(ast, rt):
    yerasyl = await registered("gulnara", "yerasyl", 1)
    await BenefitClaim.filter(application_id=yerasyl.id).update(status="withdrawn", decided_by="applicant")
    report = await daily.recheck_benefits(datetime.now(UTC) + timedelta(days=1))
    assert (report.checked, report.gained) == (1, 0)
    assert await BenefitClaim.filter(application_id=yerasyl.id).count() == 1


async def test_recheck_waits_every_benefit_recheck_days(ast, rt):
    await Department.filter(id=ast.id).update(benefit_recheck_days=7)
    await registered("aigerim", "dana", 1)
    now = datetime.now(UTC)
    assert (await daily.recheck_benefits(now + timedelta(days=6))).checked == 0  # registered 6 days before
    assert (await daily.recheck_benefits(now + timedelta(days=7))).checked == 1
    assert (await daily.recheck_benefits(now + timedelta(days=13))).checked == 0
    assert (await daily.recheck_benefits(now + timedelta(days=14))).checked == 1


async def test_recheck_is_bounded_per_run_and_goes_on_next_run(ast, rt):
    for n, (parent, child) in enumerate([("aigerim", "dana"), ("asel", "adil"), ("q1p", "q1c")]):
        await registered(parent, child, n)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert (await daily.recheck_benefits(tomorrow, limit=2)).checked == 2
    assert (await daily.recheck_benefits(tomorrow, limit=2)).checked == 1
    assert (await daily.recheck_benefits(tomorrow, limit=2)).checked == 0


async def test_an_unavailable_registry_is_skipped_and_retried(ast, rt):
    dana = await registered("aigerim", "dana", 1)
    await Application.filter(id=dana.id).update(registered_at=datetime.now(UTC) - timedelta(days=2))
    registry_shows(rt, "dana", ["LARGE_FAMILY"])
    working = rt.gateways.registry
    rt.gateways.registry = DownRegistry()

    report = await daily.run()  # the daily job does not fail
    assert (report.rechecked.checked, report.rechecked.unavailable) == (0, ["AST"])
    assert "registry unavailable for AST: next run" in report.summary()
    assert not await ApplicationEvent.filter(kind=daily.RECHECK).exists()  # nothing marked: retried
    assert (await Application.get(id=dana.id)).benefit_class == "general"

    rt.gateways.registry = working
    back = await daily.recheck_benefits()
    assert (back.checked, back.gained, back.unavailable) == (1, 1, [])
    assert (await Application.get(id=dana.id)).benefit_class == "priority"


# --- R34: "queue number changed by more than [10] places" ----------------------------------


async def waiting(department: Department, name: str, klass: str = "general", *, minutes: int = 0, phone: bool = True):
    """A registered application written directly, with a confirmed phone when asked."""
    n = await Application.all().count() + 1
    app = await Application.create(
        public_id=uuid.uuid4(),
        department=department,
        state="queued",
        step="notifications",
        applicant_iin=f"9{n:011d}",
        child_iin=f"2{n:011d}",
        child_birth_date=date(2022, 5, 1),
        cohort=2022,
        benefit_class=klass,
        active_key=f"{department.id}:{n}",
        registration_number=f"{department.code}-{name}",
        notify_language="en",
        confirmed_at=T0 + timedelta(minutes=minutes),
        registered_at=T0 + timedelta(minutes=minutes),
    )
    if phone:
        await Contact.create(application=app, kind="phone", value=f"+7701{n:07d}", rank=1, confirmed_at=T0)
    await queue.note_change(app, ChangeKind.REGISTERED)
    return app


async def test_queue_moved_is_sent_once_for_a_move_of_more_than_ten(ast, rt):
    general = [await waiting(ast, f"G{n}", minutes=n) for n in range(1, 4)]
    await queue.refresh(ast.id, 2022)
    await Notification.all().delete()

    for n in range(10):  # ten extraordinary registrations: every number moves by 10
        await waiting(ast, f"E{n}", "extraordinary", minutes=100 + n, phone=False)
    await queue.refresh(ast.id, 2022)
    assert not await Notification.filter(kind="queue_moved").exists()

    for n in range(10, 21):  # eleven more at once: by 11
        await waiting(ast, f"E{n}", "extraordinary", minutes=100 + n, phone=False)
    await rt.redis.flushdb()
    await queue.refresh(ast.id, 2022)
    moved = await Notification.filter(kind="queue_moved").order_by("application_id")
    assert [m.application_id for m in moved] == [g.id for g in general]
    assert moved[0].body == notifications.render("queue_moved", "en", number="AST-G1", queue=22)[1]
    assert all(len(m.body) <= 70 for m in moved)
    queued_jobs = {j.job_id for j in await rt.redis.queued_jobs()}
    assert {jobs.deliver_job_id(m.id) for m in moved} <= queued_jobs  # delivered after commit

    again = await queue.refresh(ast.id, 2022)  # nothing changed: nothing more
    assert again.explained == 0
    assert await Notification.filter(kind="queue_moved").count() == 3


async def test_queue_moved_follows_the_department_setting(ast):
    await Department.filter(id=ast.id).update(notify_queue_change_over=2)
    g1 = await waiting(ast, "G1", minutes=1)
    await queue.refresh(ast.id, 2022)
    for n in range(3):
        await waiting(ast, f"E{n}", "extraordinary", minutes=100 + n, phone=False)
    await queue.refresh(ast.id, 2022)
    assert [m.application_id for m in await Notification.filter(kind="queue_moved")] == [g1.id]
