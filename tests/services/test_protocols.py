"""The public protocols (R25, R32) through the service, on both databases: vacant seats
by group, issued referrals newest first, keyset pages, and refusals of bad filters."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest

from server.auth.principal import Principal
from server.domain.explain import ChangeKind
from server.errors import DomainError
from server.models import (
    Application,
    BenefitCategory,
    BenefitClaim,
    Department,
    Group,
    Kindergarten,
    Preference,
    Referral,
    Seat,
)
from server.services import allocation, places, protocols, queue, referrals

COHORT = 2022
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def kindergarten_staff(department: Department, kindergarten: Kindergarten) -> places.Staff:
    return places.Staff(
        Principal(
            kind="staff",
            name="kg",
            department_id=department.id,
            role="kindergarten",
            staff_id=1,
            kindergarten_id=kindergarten.id,
        )
    )


async def child(department: Department, n: int, choices: list[str], *, language: str = "ru") -> Application:
    """A registered, queued application with its preferences (written directly: the
    queue engine and the allocation only read these columns)."""
    app = await Application.create(
        public_id=uuid.uuid4(),
        department=department,
        state="queued",
        step="notifications",
        applicant_iin=f"9{n:011d}",
        child_iin=f"2{n:011d}",
        child_birth_date=date(COHORT, 5, 1),
        cohort=COHORT,
        group_language=language,
        benefit_class="general",
        active_key=f"{department.id}:{n}",
        registration_number=f"{department.code}-2026-{n:06d}",
        search_names="ерлан абенов | дана абенова",
        confirmed_at=T0 + timedelta(minutes=n),
        registered_at=T0 + timedelta(minutes=n),
    )
    for rank, code in enumerate(choices, start=1):
        await Preference.create(application=app, kindergarten=await Kindergarten.get(code=code), rank=rank)
    await queue.note_change(app, ChangeKind.REGISTERED)
    return app


async def group(department: Department, code: str, name: str, cohort: int = COHORT, language: str = "ru") -> Group:
    return await Group.create(
        kindergarten=await Kindergarten.get(code=code),
        department_id=department.id,
        name=name,
        cohort=cohort,
        language=language,
        capacity=25,
        enrolled=10,
    )


async def publish(department: Department, g: Group, count: int) -> list[Seat]:
    kindergarten = await Kindergarten.get(id=g.kindergarten_id)
    return await places.publish(kindergarten_staff(department, kindergarten), g.id, count)


@pytest.fixture
async def ast(reference) -> Department:
    return await Department.get(code="AST")


async def test_vacancies_are_the_open_seats_by_group_with_filters(ast):
    kg1_ru = await group(ast, "AST-KG01", "Ru 2022")
    kg1_kk = await group(ast, "AST-KG01", "Kk 2023", cohort=2023, language="kk")
    kg3_ru = await group(ast, "AST-KG03", "Ru 2022")
    hidden = await group(ast, "AST-KG02", "Closed 2022")
    await publish(ast, kg3_ru, 2)
    await publish(ast, kg1_ru, 1)
    await publish(ast, kg3_ru, 1)
    await publish(ast, kg1_kk, 3)
    await publish(ast, hidden, 1)
    hidden.active = False
    await hidden.save()
    # A withdrawn seat is not vacant; an offered one is not either.
    staff = kindergarten_staff(ast, await Kindergarten.get(code="AST-KG01"))
    assert await places.withdraw_open(staff, kg1_kk.id, 1) == 1
    first = await Seat.filter(group_id=kg3_ru.id).order_by("id").values_list("id", flat=True)
    await Seat.filter(id=first[0]).update(state="offered")
    await Seat.filter(id=first[1]).update(published_at=T0)

    page = await protocols.vacancies("ast", reader="en")
    assert (page.groups, page.seats) == (3, 5)
    assert [(r.kindergarten_code, r.group_name, r.cohort, r.language, r.seats) for r in page.rows] == [
        ("AST-KG01", "Ru 2022", 2022, "ru", 1),
        ("AST-KG01", "Kk 2023", 2023, "kk", 2),
        ("AST-KG03", "Ru 2022", 2022, "ru", 2),
    ]
    kg3 = page.rows[-1]
    assert kg3.since == T0  # the earliest publication among the open seats
    assert kg3.kindergarten_name.startswith("Kindergarten No. 3")
    assert not page.has_next

    only_2022 = await protocols.vacancies("AST", 2022, reader="ru")
    assert [(r.kindergarten_code, r.seats) for r in only_2022.rows] == [("AST-KG01", 1), ("AST-KG03", 2)]
    assert only_2022.rows[0].kindergarten_name.startswith("Детский сад")
    kazakh = await protocols.vacancies("AST", language="kk")
    assert [(r.group_name, r.seats) for r in kazakh.rows] == [("Kk 2023", 2)] and kazakh.seats == 2
    assert (await protocols.vacancies("AST", 2021)).rows == []
    assert (await protocols.vacancies("ALA")).groups == 0


async def test_vacancies_come_in_keyset_pages(ast):
    made = []
    for n, code in enumerate(["AST-KG05", "AST-KG02", "AST-KG04", "AST-KG01", "AST-KG03"]):
        g = await group(ast, code, f"G{n}")
        await publish(ast, g, n + 1)
        made.append(code)
    seen, after = [], None
    while True:
        page = await protocols.vacancies("AST", first=2, after=after)
        assert page.groups == 5 and page.seats == 15  # the totals are of every page
        seen += [r.kindergarten_code for r in page.rows]
        if not page.has_next:
            break
        after = protocols.vacancy_cursor(page.rows[-1])
    assert seen == sorted(made)
    _, chunks = await protocols.all_vacancies("AST")
    assert [r.kindergarten_code async for rows in chunks for r in rows] == sorted(made)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: protocols.vacancies("NOPE"), "department.unknown"),
        (lambda: protocols.vacancies("AST\x00"), "department.unknown"),
        (lambda: protocols.vacancies("A" * 10_000), "department.unknown"),
        (lambda: protocols.vacancies(""), "department.unknown"),
        (lambda: protocols.vacancies("AST", 99_999), "cohort.invalid"),
        (lambda: protocols.vacancies("AST", -1), "cohort.invalid"),
        (lambda: protocols.vacancies("AST", language="xx"), "language.invalid"),
        (lambda: protocols.vacancies("AST", language="kk\x00"), "language.invalid"),
        (lambda: protocols.vacancies("AST", first=0), "page.size"),
        (lambda: protocols.vacancies("AST", first=101), "page.size"),
        (lambda: protocols.vacancies("AST", after="g1; drop table seat"), "cursor.invalid"),
        (lambda: protocols.referrals("AST", after="r" + "9" * 20), "cursor.invalid"),
        (lambda: protocols.referrals("AST\x00"), "department.unknown"),
        (lambda: protocols.referrals("AST", 12), "cohort.invalid"),
        (lambda: protocols.referrals("AST", first=500), "page.size"),
        (lambda: protocols.all_referrals("ZZZ"), "department.unknown"),
        (lambda: protocols.all_vacancies("AST", 3000), "cohort.invalid"),
    ],
)
async def test_bad_filters_are_refused_with_a_code(ast, call, code):
    with pytest.raises(DomainError) as refused:
        await call()
    assert refused.value.code == code
    assert refused.value.message("ru") != refused.value.code  # a sentence, not the code


async def test_an_unknown_cursor_gives_an_empty_page(ast):
    g = await group(ast, "AST-KG01", "Ru 2022")
    await publish(ast, g, 1)
    page = await protocols.vacancies("AST", after="g999999")
    assert page.rows == [] and page.groups == 1 and page.seats == 1
    assert (await protocols.referrals("AST", after="r999999")).rows == []


async def test_issued_referrals_newest_first_without_names(ast):
    kg1_ru = await group(ast, "AST-KG01", "Ru 2022")
    kg3_ru = await group(ast, "AST-KG03", "Ru 2022")
    a = await child(ast, 1, ["AST-KG03", "AST-KG01"])
    b = await child(ast, 2, ["AST-KG01"])
    c = await child(ast, 3, ["AST-KG01"])
    await child(ast, 4, ["AST-KG02"])
    # c's parent works at a kindergarten: a confirmed claim of a marking category (R32).
    category = await BenefitCategory.create(
        code="kg_staff",
        benefit_class="general",
        evidence="document",
        marks_referral=True,
        name_kk="kk",
        name_ru="ru",
        name_en="Kindergarten staff",
    )
    await BenefitClaim.create(application=c, category=category, source="document", status="confirmed")
    await queue.refresh(ast.id, COHORT)
    await publish(ast, kg3_ru, 1)
    await publish(ast, kg1_ru, 1)
    await allocation.run(ast.id, COHORT)  # a → KG03 (choice 1), b → KG01
    await queue.refresh_until_settled(ast.id, COHORT)
    await publish(ast, kg1_ru, 1)
    await allocation.run(ast.id, COHORT)  # c → KG01, later
    await Referral.filter(application_id=c.id).update(offered_at=datetime(2026, 3, 10, 20, 30, tzinfo=UTC))
    await Referral.filter(application_id__in=[a.id, b.id]).update(offered_at=datetime(2026, 3, 9, 6, 0, tzinfo=UTC))
    declined = await Referral.get(application_id=b.id)
    await referrals.decline(Principal(kind="applicant", cabinet_ids=frozenset({b.id})), str(declined.public_id))

    page = await protocols.referrals("AST", reader="en")
    rows = page.rows
    assert [r.registration_number for r in rows[:1]] == [c.registration_number]  # the newest first
    assert {r.registration_number for r in rows[1:3]} == {a.registration_number, b.registration_number}
    newest = rows[0]
    # 20:30 UTC is the next morning in Astana: the date is the department's.
    assert newest.offered_on == date(2026, 3, 11) and newest.staff_child
    assert newest.state == "offered" and newest.rank == 1 and newest.window == "chosen"
    by_number = {r.registration_number: r for r in rows}
    first = by_number[a.registration_number]
    assert (first.kindergarten_code, first.group_name, first.queue_number, first.cohort) == (
        "AST-KG03",
        "Ru 2022",
        1,
        2022,
    )
    assert not first.staff_child and first.kindergarten_name.startswith("Kindergarten No. 3")
    assert by_number[b.registration_number].state == "declined"
    # Nothing personal in any field of any row.
    for row in rows:
        text = " ".join(str(v) for v in asdict(row).values())
        for app in (a, b, c):
            assert app.child_iin not in text and app.applicant_iin not in text
        assert "абенов" not in text.lower()

    # Keyset pages of one, newest first, ties of one run broken by id.
    seen, after = [], None
    while True:
        one = await protocols.referrals("AST", first=1, after=after)
        seen += [r.registration_number for r in one.rows]
        if not one.has_next:
            break
        after = protocols.referral_cursor(one.rows[-1])
    assert seen == [r.registration_number for r in rows] and len(seen) == 3
    _, chunks = await protocols.all_referrals("AST")
    assert [r.registration_number async for chunk in chunks for r in chunk] == seen
    assert (await protocols.referrals("AST", 2023)).rows == []
    assert (await protocols.referrals("ALA")).rows == []
