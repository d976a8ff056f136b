"""The queue engine (R19–R24): stored numbers, coalesced refreshes, explanations,
and the public reads."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from jobs import worker
from server.auth.principal import SYSTEM
from server.domain.explain import ChangeKind
from server.domain.ordering import BenefitClass, Entry, Rule, standings
from server.domain.states import Transition
from server.errors import DomainError
from server.models import (
    Application,
    ApplicationEvent,
    BenefitCategory,
    BenefitClaim,
    CohortChange,
    Department,
    Notification,
    QueueChange,
    QueueCohort,
    QueueEntry,
)
from server.services import benefits, events, jobs, lookup, queue, registration, submission
from tests.helpers import drain_jobs, iin
from tests.helpers.services import INTEGRATOR, submit_input

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
COHORT = 2022


async def queued(
    department: Department,
    name: str,
    klass: str = "general",
    *,
    minutes: int = 0,
    cohort: int = COHORT,
    state: str = "queued",
) -> Application:
    """A registered application written directly (the engine only reads these columns),
    with the cohort change a registration records."""
    n = await Application.all().count() + 1
    app = await Application.create(
        public_id=uuid.uuid4(),
        department=department,
        state=state,
        step="notifications",
        applicant_iin=f"9{n:011d}",
        child_iin=f"2{n:011d}",
        child_birth_date=date(cohort, 5, 1),
        cohort=cohort,
        benefit_class=klass,
        active_key=f"{department.id}:{n}",
        registration_number=f"{department.code}-{name}",
        confirmed_at=T0 + timedelta(minutes=minutes),
        registered_at=T0 + timedelta(minutes=minutes),
    )
    await queue.note_change(app, ChangeKind.REGISTERED)
    return app


async def numbers(department: Department, cohort: int = COHORT) -> dict[str, int]:
    rows = await QueueEntry.filter(department_id=department.id, cohort=cohort).values(
        "number", "application__registration_number"
    )
    return {r["application__registration_number"].split("-", 1)[1]: r["number"] for r in rows}


def in_order(found: dict[str, int]) -> list[str]:
    return [name for name, _ in sorted(found.items(), key=lambda item: item[1])]


@pytest.fixture
async def ast(reference) -> Department:
    return await Department.get(code="AST")


async def test_refresh_stores_the_worked_example_of_r20(ast):
    for n in range(1, 6):
        await queued(ast, f"G{n}", minutes=n)
    for n in range(1, 4):
        await queued(ast, f"P{n}", "priority", minutes=10 + n)
    await queued(ast, "E1", "extraordinary", minutes=20)
    await queued(ast, "X1", cohort=2023, minutes=1)  # another cohort is left alone

    done = await queue.refresh(ast.id, COHORT)

    assert in_order(await numbers(ast)) == ["E1", "P1", "G1", "G2", "G3", "P2", "G4", "G5", "P3"]
    assert done.counted == 9 and done.written == 9 and done.changes == 9
    assert await numbers(ast, 2023) == {}
    g4 = await QueueEntry.get(application__registration_number="AST-G4")
    assert (g4.number, g4.ahead_extraordinary, g4.ahead_priority, g4.ahead_general) == (7, 1, 2, 3)
    summary = await QueueCohort.get(department_id=ast.id, cohort=COHORT)
    assert (summary.extraordinary, summary.priority, summary.general, summary.suspended) == (1, 3, 5, 0)
    assert not await CohortChange.filter(department_id=ast.id, cohort=COHORT).exists()
    # The first numbers are assignments, not changes: nothing to explain yet.
    assert await QueueChange.all().count() == 0

    again = await queue.refresh(ast.id, COHORT)
    assert (again.written, again.removed, again.explained) == (0, 0, 0)


async def test_every_change_of_a_number_is_explained(ast):
    for n in range(1, 7):
        await queued(ast, f"G{n}", minutes=n)
    await queue.refresh(ast.id, COHORT)
    assert in_order(await numbers(ast)) == ["G1", "G2", "G3", "G4", "G5", "G6"]

    await queued(ast, "P1", "priority", minutes=30)
    await queued(ast, "P2", "priority", minutes=31)
    await queue.refresh(ast.id, COHORT)

    assert in_order(await numbers(ast)) == ["P1", "G1", "G2", "G3", "P2", "G4", "G5", "G6"]
    g1 = await QueueChange.get(application__registration_number="AST-G1")
    assert (g1.old_number, g1.new_number, g1.reasons) == (1, 2, {"registered_priority": 1})
    g6 = await QueueChange.get(application__registration_number="AST-G6")
    assert (g6.old_number, g6.new_number, g6.reasons) == (6, 8, {"registered_priority": 2})
    # One row per application whose number changed, none for the newcomers.
    assert await QueueChange.all().count() == 6


async def test_withdrawal_suspension_and_restore_move_the_others(ast):
    apps = {f"G{n}": await queued(ast, f"G{n}", minutes=n) for n in range(1, 6)}
    await queue.refresh(ast.id, COHORT)

    await events.move(apps["G2"].id, Transition.WITHDRAW, "staff:test", "the parent asked")
    await queue.refresh(ast.id, COHORT)
    assert await numbers(ast) == {"G1": 1, "G3": 2, "G4": 3, "G5": 4}
    withdrawn = await Application.get(id=apps["G2"].id)
    assert withdrawn.state == "withdrawn" and withdrawn.active_key is None  # R5: may apply again
    g5 = await QueueChange.filter(application_id=apps["G5"].id).order_by("-id").first()
    assert g5.reasons == {"withdrawn": 1}

    await events.move(apps["G3"].id, Transition.SUSPEND, SYSTEM.actor, "referral expired")
    await queue.refresh(ast.id, COHORT)
    assert await numbers(ast) == {"G1": 1, "G4": 2, "G5": 3}
    assert (await QueueCohort.get(department_id=ast.id, cohort=COHORT)).suspended == 1
    g5 = await QueueChange.filter(application_id=apps["G5"].id).order_by("-id").first()
    assert (g5.old_number, g5.new_number, g5.reasons) == (4, 3, {"suspended": 1})

    await events.move(apps["G3"].id, Transition.RESTORE, SYSTEM.actor, "stop-list over")
    await queue.refresh(ast.id, COHORT)
    assert await numbers(ast) == {"G1": 1, "G3": 2, "G4": 3, "G5": 4}  # R22: back at its place
    g5 = await QueueChange.filter(application_id=apps["G5"].id).order_by("-id").first()
    assert g5.reasons == {"restored": 1}
    kinds = await ApplicationEvent.filter(application_id=apps["G3"].id).values_list("kind", flat=True)
    assert list(kinds) == ["suspend", "restore"]


async def test_a_transition_the_state_machine_forbids_changes_nothing(ast):
    app = await queued(ast, "G1")
    await queue.refresh(ast.id, COHORT)
    with pytest.raises(DomainError) as err:
        await events.move(app.id, Transition.RESTORE, "staff:test")
    assert err.value.code == "application.transition"
    assert (await Application.get(id=app.id)).state == "queued"
    assert not await CohortChange.exists()
    assert not await ApplicationEvent.filter(application_id=app.id).exists()


async def confirm_benefit(app: Application, code: str, status: str = "confirmed") -> None:
    category = await BenefitCategory.get(code=code)
    await BenefitClaim.create(application=app, category=category, source="document", status=status)


async def test_a_confirmed_benefit_moves_ahead_and_losing_it_returns_to_the_original_place(ast):
    apps = {f"G{n}": await queued(ast, f"G{n}", minutes=n) for n in range(1, 7)}
    await queue.refresh(ast.id, COHORT)

    await confirm_benefit(apps["G5"], "TEACHER_PARENT")
    await benefits.refresh_benefit_class(apps["G5"].id, "staff:verifier", "certificate checked")
    await queue.refresh(ast.id, COHORT)
    assert in_order(await numbers(ast)) == ["G5", "G1", "G2", "G3", "G4", "G6"]
    own = await QueueChange.get(application_id=apps["G5"].id)
    assert (own.old_number, own.new_number, own.reasons) == (5, 1, {"own_benefit_gained": 1})
    g2 = await QueueChange.get(application_id=apps["G2"].id)
    assert (g2.old_number, g2.new_number, g2.reasons) == (2, 3, {"benefit_gained": 1})
    assert await QueueChange.filter(application_id=apps["G6"].id).count() == 0  # not moved

    await BenefitClaim.filter(application_id=apps["G5"].id).update(status="withdrawn")
    await benefits.refresh_benefit_class(apps["G5"].id, "parent", "withdrawn by the parent")
    await queue.refresh(ast.id, COHORT)
    assert in_order(await numbers(ast)) == ["G1", "G2", "G3", "G4", "G5", "G6"]  # R16
    latest = await QueueChange.filter(application_id=apps["G2"].id).order_by("-id").first()
    assert latest.reasons == {"benefit_lost": 1}
    event = await ApplicationEvent.filter(application_id=apps["G5"].id, kind="benefit_class").order_by("-id").first()
    assert event.data == {"from": "priority", "to": "general"} and event.actor == "parent"


async def test_an_unchanged_class_records_nothing(ast):
    app = await queued(ast, "G1")
    await queue.refresh(ast.id, COHORT)
    await confirm_benefit(app, "TEACHER_PARENT", status="pending")  # pending never counts (R14)
    await benefits.refresh_benefit_class(app.id, "staff:verifier")
    assert not await CohortChange.exists()
    assert not await ApplicationEvent.filter(application_id=app.id).exists()


async def test_refreshes_are_coalesced_into_one_job_per_cohort(ast, rt):
    await queued(ast, "G1")
    for _ in range(5):
        await queue.request_refresh(ast.id, COHORT)
    await queue.request_refresh(ast.id, 2023)
    jobs_queued = await rt.redis.queued_jobs()
    assert sorted(j.job_id for j in jobs_queued) == sorted(
        [jobs.queue_job_id(ast.id, COHORT), jobs.queue_job_id(ast.id, 2023)]
    )
    await drain_jobs(rt.redis)
    assert await numbers(ast) == {"G1": 1}
    # A finished refresh keeps no result: the cohort's next change can queue the next one.
    await queue.request_refresh(ast.id, COHORT)
    assert [j.job_id for j in await rt.redis.queued_jobs()] == [jobs.queue_job_id(ast.id, COHORT)]


@pytest.fixture
def families(rt) -> list[tuple[str, str]]:
    """Thirty fictitious families (applicant, child) added to the demo registry."""
    from server.demo_data import _iin

    records = dict(rt.gateways.registry.records)
    pairs = []
    for n in range(30):
        parent, child = (
            _iin(date(1990, 1, 1), False, 7000 + 3 * n),
            _iin(date(2022, 2, 1) + timedelta(days=n), n % 2 == 0, 7000 + 3 * n),
        )
        records[parent] = {
            "iin": parent,
            "surname": "Сериков",
            "given_name": "Айгүл",
            "patronymic": "",
            "birth_date": "1990-01-01",
            "benefits": [],
            "children": [{"iin": child, "relation": "parent"}],
        }
        records[child] = {
            "iin": child,
            "surname": "Сериков",
            "given_name": f"Бала {n}",
            "patronymic": "",
            "birth_date": (date(2022, 2, 1) + timedelta(days=n)).isoformat(),
            "benefits": [],
            "children": [],
        }
        pairs.append((parent, child))
    rt.gateways.registry.records = records
    return pairs


async def test_a_burst_of_registrations_is_numbered_by_few_refreshes(reference, rt, families):
    for n, (parent, child) in enumerate(families):
        data = submit_input(
            "aigerim", "dana", applicant_iin=parent, child_iin=child, phones=[f"+7701{n:07d}", f"+7707{n:07d}"]
        )
        await submission.submit(INTEGRATOR, data, f"burst-{n}")
    await drain_jobs(rt.redis)

    count = len(families)
    rows = await Application.filter(state="queued").prefetch_related("queue_entry")
    assert len(rows) == count
    assert sorted(r.queue_entry.number for r in rows) == list(range(1, count + 1))
    refreshes = sum(await QueueCohort.all().values_list("refreshes", flat=True))
    assert refreshes < count / 2, refreshes
    assert not await CohortChange.exists()
    # R12: every parent told both numbers, once: the number first given (a parallel
    # registration confirmed earlier may have moved it since, which is explained).
    assert await Notification.filter(kind="registered").count() == count
    for row in rows:
        message = await Notification.get(kind="registered", application_id=row.id)
        first = await QueueChange.filter(application_id=row.id).order_by("id").first()
        told = first.old_number if first else row.queue_entry.number
        assert row.registration_number in message.body and message.body.endswith(f" {told}.")


async def test_twins_are_a_batch_and_stand_together(reference, rt):
    # Somebody else registers between the twins: the twins still stand side by side.
    first = await submission.submit(INTEGRATOR, submit_input("marat", "alikhan"), "t1")
    await registration.register(first.id)
    other = await submission.submit(
        INTEGRATOR, submit_input("q2p", "q2c", phones=["+77011110001", "+77071110002"]), "o"
    )
    await registration.register(other.id)
    second = await submission.submit(INTEGRATOR, submit_input("marat", "aruzhan"), "t2")
    await registration.register(second.id)
    await drain_jobs(rt.redis)

    twins = await Application.filter(id__in=[first.id, second.id]).prefetch_related("queue_entry")
    assert {t.batch_id for t in twins} == {first.id}
    assert sorted(t.queue_entry.number for t in twins) == [1, 2]
    adil = await QueueEntry.get(application_id=other.id)
    assert adil.number == 3


async def test_sweeper_refreshes_a_cohort_whose_job_was_lost(ast, rt):
    await queued(ast, "G1")
    await CohortChange.all().update(created_at=datetime.now(UTC) - timedelta(minutes=1))
    counts = await worker.sweep({})
    assert counts["cohorts"] == 1
    assert [j.function for j in await rt.redis.queued_jobs()] == ["refresh_queue"]
    await drain_jobs(rt.redis)
    assert await numbers(ast) == {"G1": 1}


async def test_refresh_all_numbers_every_cohort(ast):
    await queued(ast, "A", cohort=2021)
    await queued(ast, "B", cohort=2022)
    await queued(ast, "C", cohort=2022, minutes=1)
    done = await queue.refresh_all()
    assert sorted((r.cohort, r.counted) for r in done) == [(2021, 1), (2022, 2)]
    assert await numbers(ast, 2022) == {"B": 1, "C": 2}


async def test_refresh_matches_the_domain_on_a_mixed_cohort(ast):
    """The stored numbers and ahead counts are exactly the pure engine's."""
    import random

    rnd = random.Random(7)
    apps = []
    for n in range(60):
        klass = rnd.choice(["general"] * 7 + ["priority"] * 2 + ["extraordinary"])
        state = "suspended" if rnd.random() < 0.1 else "queued"
        apps.append(await queued(ast, f"A{n}", klass, minutes=rnd.randint(0, 500), state=state))
    await queue.refresh(ast.id, COHORT)
    expected = standings(
        [Entry(a.id, BenefitClass(a.benefit_class), a.registered_at, a.state == "suspended") for a in apps],
        Rule(ast.priority_ratio, ast.priority_slot),
    )
    stored = {
        e.application_id: (e.number, e.ahead_extraordinary, e.ahead_priority, e.ahead_general)
        for e in await QueueEntry.filter(department_id=ast.id)
    }
    assert stored == {
        k: (s.number, s.ahead_extraordinary, s.ahead_priority, s.ahead_general) for k, s in expected.items()
    }


async def test_parallel_refreshes_of_one_cohort_agree(ast, on_postgres):
    if not on_postgres:
        pytest.skip("row locks and parallel transactions: PostgreSQL")
    for n in range(40):
        await queued(ast, f"G{n}", "priority" if n % 4 == 0 else "general", minutes=n)
    await asyncio.gather(*(queue.refresh(ast.id, COHORT) for _ in range(6)))
    assert sorted((await numbers(ast)).values()) == list(range(1, 41))
    assert (await QueueCohort.get(department_id=ast.id, cohort=COHORT)).refreshes >= 1
    assert not await CohortChange.exists()


# --- public reads -------------------------------------------------------------------


async def test_lookup_reads_the_stored_position_with_initials_and_reasons(reference, rt):
    app = await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "a")
    await registration.register(app.id)
    await drain_jobs(rt.redis)

    [position] = await lookup.positions(iin("dana"))
    from server.demo_data import REGISTRY

    dana = REGISTRY[iin("dana")]
    assert position.number == 1 and position.initials == f"{dana['surname'][0]}. {dana['given_name'][0]}."
    assert position.department.code == "AST" and position.cohort == 2022 and position.cohort_size == 1
    assert (position.ahead_extraordinary, position.ahead_priority, position.ahead_general) == (0, 0, 0)
    assert await lookup.recent_changes(position.application_id) == []
    assert await lookup.positions(iin("adil")) == []  # not in any queue


async def test_cohort_pages_with_keyset_cursors(ast):
    for n in range(1, 8):
        await queued(ast, f"G{n}", minutes=n)
    await queue.refresh(ast.id, COHORT)
    seen, after = [], None
    while True:
        page = await lookup.cohort_page("ast", COHORT, 3, after)
        seen += [(r.number, r.registration_number) for r in page.rows]
        assert page.total == 7
        if not page.has_next:
            break
        after = lookup.cursor_of(page.rows[-1].number)
    assert seen == [(n, f"AST-G{n}") for n in range(1, 8)]

    for bad_first in (0, 101):
        with pytest.raises(DomainError) as err:
            await lookup.cohort_page("AST", COHORT, bad_first, None)
        assert err.value.code == "page.size"
    with pytest.raises(DomainError) as err:
        await lookup.cohort_page("AST", COHORT, 3, "not-a-cursor")
    assert err.value.code == "cursor.invalid"
    with pytest.raises(DomainError) as err:
        await lookup.cohort_page("NOPE", COHORT, 3, None)
    assert err.value.code == "department.unknown"


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_every_reason_reads_in_every_language(language):
    from server.i18n import translations

    for kind, (singular, plural) in lookup.REASONS.items():
        for count in (1, 2, 5, 21):
            text = lookup.reason_text(kind, count, language)
            assert text and "%(" not in text
            if language != "en":
                assert translations(language).ngettext(singular, plural, count) != (
                    singular if count == 1 else plural
                ), (kind, count)
