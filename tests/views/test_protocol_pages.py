"""The public protocols as pages and CSV downloads (R25, R32), JavaScript off: filters in
a GET form, the seats a kindergarten published and the referrals an allocation run
issued, no names or IINs anywhere, and a clear 400 for filters that cannot be right."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.auth.principal import Principal
from server.domain.explain import ChangeKind
from server.i18n import gettext
from server.models import Application, Department, Group, Kindergarten, Preference, Referral, Seat
from server.services import allocation, places, queue
from tests.helpers.graphql import gql

COHORT = 2022
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture
async def public(reference, settings):
    """The app over HTTP with the departments and kindergartens only (no demo queue)."""
    import httpx
    from asgi_lifespan import LifespanManager

    from server.app import create_app

    app = create_app(settings, manage_runtime=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def staff_of(department: Department, kindergarten: Kindergarten) -> places.Staff:
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


async def child(department: Department, n: int, choices: list[str]) -> Application:
    app = await Application.create(
        public_id=uuid.uuid4(),
        department=department,
        state="queued",
        step="notifications",
        applicant_iin=f"9{n:011d}",
        child_iin=f"2{n:011d}",
        child_birth_date=date(COHORT, 5, 1),
        cohort=COHORT,
        group_language="ru",
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


@pytest.fixture
async def protocol(public):
    """Seats published in three groups of AST, two of them offered by an allocation run."""
    ast = await Department.get(code="AST")
    groups = {}
    for code, name, cohort, language in [
        ("AST-KG01", "=Ru 2022", 2022, "ru"),
        ("AST-KG03", "Ru 2022", 2022, "ru"),
        ("AST-KG02", "Kk 2023", 2023, "kk"),
    ]:
        kindergarten = await Kindergarten.get(code=code)
        groups[code] = await Group.create(
            kindergarten=kindergarten,
            department_id=ast.id,
            name=name,
            cohort=cohort,
            language=language,
            capacity=25,
            enrolled=5,
        )
    a = await child(ast, 1, ["AST-KG03", "AST-KG01"])
    b = await child(ast, 2, ["AST-KG01"])
    await queue.refresh(ast.id, COHORT)
    for code, count in [("AST-KG01", 3), ("AST-KG03", 1), ("AST-KG02", 4)]:
        await places.publish(staff_of(ast, await Kindergarten.get(code=code)), groups[code].id, count)
    await allocation.run(ast.id, COHORT)
    return {"ast": ast, "a": a, "b": b}


def rows_of(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in re.findall(r"<tr>(.*?)</tr>", html)]


async def test_the_vacancy_page_lists_open_seats_by_group(public, protocol):
    await public.get("/lang/en")
    home = await public.get("/")
    assert 'href="/vacancies"' in home.text and 'href="/referrals"' in home.text
    empty = await public.get("/vacancies")
    assert empty.status_code == 200 and '<form method="get" action="/vacancies"' in empty.text
    assert '<option value="AST">' in empty.text

    r = await public.get("/vacancies", params={"department": "ast"})
    assert r.status_code == 200
    assert "6 vacant places, in 2 groups." in r.text  # AST-KG03's one seat was offered
    body = rows_of(r.text)[1:]
    assert len(body) == 2
    assert body[0].startswith("Kindergarten No. 1") and "=Ru 2022 2022, Russian 2 " in body[0]
    assert "Kk 2023 2023, Kazakh 4" in body[1]
    assert '<option value="AST" selected>' in r.text
    csv_link = re.search(r'<a href="(/vacancies\.csv\?[^"]+)" download hx-boost="false">', r.text)
    assert csv_link and "department=AST" in csv_link.group(1)

    only = await public.get("/vacancies", params={"department": "AST", "cohort": "2023", "language": "kk"})
    assert only.status_code == 200 and len(rows_of(only.text)) == 2
    assert '<option value="2023" selected>' in only.text and '<option value="kk" selected>' in only.text
    none = await public.get("/vacancies", params={"department": "AST", "cohort": "2021"})
    assert none.status_code == 200 and "No vacant places match these filters right now." in none.text

    await public.get("/lang/ru")
    ru = await public.get("/vacancies", params={"department": "AST"})
    assert "Детский сад №1" in ru.text and 'lang="ru"' in ru.text


async def test_the_referrals_page_shows_who_got_which_seat_and_why(public, protocol):
    a, b = protocol["a"], protocol["b"]
    await public.get("/lang/en")
    r = await public.get("/referrals", params={"department": "AST"})
    assert r.status_code == 200
    assert a.registration_number in r.text and b.registration_number in r.text
    assert "first in the 2022 queue who chose AST-KG03 (choice 1)" in r.text
    assert "at queue number 1" in r.text and "offered, waiting for the parent&#39;s answer" in r.text
    for app in (a, b):
        assert app.child_iin not in r.text and app.applicant_iin not in r.text
    assert "абенов" not in r.text.lower()
    later = await public.get("/referrals", params={"department": "AST", "cohort": "2023"})
    assert later.status_code == 200 and "No referrals have been issued here yet." in later.text


async def test_pages_follow_keyset_cursors(public, protocol, monkeypatch):
    from views import protocols as views

    monkeypatch.setattr(views, "REFERRAL_PAGE", 1)
    monkeypatch.setattr(views, "VACANCY_PAGE", 1)
    await public.get("/lang/en")
    first = await public.get("/referrals", params={"department": "AST"})
    link = re.search(r'<a href="(/referrals\?[^"]+)" rel="next">', first.text)
    assert link, first.text
    second = await public.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and 'rel="next"' not in second.text
    numbers = [protocol["a"].registration_number, protocol["b"].registration_number]
    assert sum(n in first.text for n in numbers) == 1 and sum(n in second.text for n in numbers) == 1
    page1 = await public.get("/vacancies", params={"department": "AST"})
    link = re.search(r'<a href="(/vacancies\?[^"]+)" rel="next">', page1.text)
    assert link and len(rows_of(page1.text)) == 2  # the header and one group
    page2 = await public.get(link.group(1).replace("&amp;", "&"))
    assert len(rows_of(page2.text)) == 2 and "First page" in page2.text
    assert rows_of(page1.text)[1] != rows_of(page2.text)[1] and 'rel="next"' not in page2.text


def parse_csv(response) -> tuple[list[str], list[list[str]]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]  # the BOM that makes Excel read UTF-8
    text = raw.decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], rows[1:]


async def test_the_vacancy_csv(public, protocol):
    await public.get("/lang/ru")
    r = await public.get("/vacancies.csv", params={"department": "AST"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="vacancies-AST.csv"'
    header, rows = parse_csv(r)
    assert len(header) == 7 and b";" in r.content.splitlines()[0]  # Excel's separator for ru/kk
    assert [(row[0], row[3], row[5]) for row in rows] == [("AST-KG01", "2022", "2"), ("AST-KG02", "2023", "4")]
    assert rows[0][2] == "'=Ru 2022"  # not a formula for Excel
    assert rows[0][1].startswith("Детский сад №1")
    # The oldest open seat's publication, as a minute of Astana (PostgreSQL writes the
    # rows itself with COPY, SQLite's are written in Python: the same file).
    oldest = await Seat.filter(group__kindergarten__code="AST-KG01", state="open").order_by("published_at").first()
    assert rows[0][6] == oldest.published_at.astimezone(ZoneInfo("Asia/Almaty")).strftime("%Y-%m-%d %H:%M")
    assert rows[0][4] == gettext("Russian", "ru") and rows[1][4] == gettext("Kazakh", "ru")

    await public.get("/lang/en")
    one = await public.get("/vacancies.csv", params={"department": "AST", "cohort": "2023", "language": "kk"})
    assert one.headers["content-disposition"] == 'attachment; filename="vacancies-AST-2023-kk.csv"'
    header, rows = parse_csv(one)
    assert header[0] == "Kindergarten code" and [row[0] for row in rows] == ["AST-KG02"]
    assert rows[0][4] == "Kazakh"


async def test_the_referrals_csv(public, protocol):
    a, b = protocol["a"], protocol["b"]
    await public.get("/lang/en")
    r = await public.get("/referrals.csv", params={"department": "AST", "cohort": "2022"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="referrals-AST-2022.csv"'
    header, rows = parse_csv(r)
    assert header[0] == "Registration number" and len(header) == 11
    assert {row[0] for row in rows} == {a.registration_number, b.registration_number}
    by_number = {row[0]: row for row in rows}
    first = by_number[a.registration_number]
    assert first[1] == "AST-KG03" and first[6] == "1" and first[9] == "no"
    offered = await Referral.get(application_id=a.id)
    assert first[7] == offered.offered_at.astimezone(ZoneInfo("Asia/Almaty")).date().isoformat()
    assert "first in the 2022 queue who chose AST-KG03" in first[10]
    text = r.content.decode("utf-8-sig")
    for app in (a, b):
        assert app.child_iin not in text and app.applicant_iin not in text
    assert "абенов" not in text.lower()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/vacancies", {"department": "NOPE"}, "department"),
        ("/vacancies", {"department": "AST", "cohort": "abc"}, "cohort"),
        ("/vacancies", {"department": "AST", "cohort": "20222"}, "cohort"),
        ("/vacancies", {"department": "AST", "cohort": "1800"}, "cohort"),
        ("/vacancies", {"department": "AST", "language": "xx"}, "language"),
        ("/vacancies", {"department": "AST\x00"}, "department"),
        ("/vacancies", {"department": "A" * 5000}, "department"),
        ("/vacancies", {"department": "AST", "cohort": "٢٠٢٢"}, "cohort"),
        ("/vacancies", {"department": "AST", "after": "nonsense"}, None),
        ("/referrals", {"department": "ZZZ"}, "department"),
        ("/referrals", {"department": "AST", "cohort": "abc\x00"}, "cohort"),
        ("/referrals", {"department": "AST", "after": "r" + "1" * 5000}, None),
    ],
)
async def test_bad_filters_give_a_clear_400(public, path, params, field):
    await public.get("/lang/en")
    r = await public.get(path, params=params)
    assert r.status_code == 400, r.text
    assert 'class="error-summary"' in r.text and "Error:" in r.text
    if field:
        assert f'<a href="#{field}">' in r.text and f'id="{field}" name="{field}" aria-invalid="true"' in r.text
    # The downloads take the same filters (a page's cursor means nothing to them).
    csv_response = await public.get(path + ".csv", params=params)
    if field:
        assert csv_response.status_code == 400 and csv_response.headers["content-type"].startswith("text/plain")
        assert csv_response.text.strip() and "Traceback" not in csv_response.text
    else:
        assert csv_response.status_code == 200


async def test_a_refusal_is_in_the_readers_language(public):
    await public.get("/lang/ru")
    r = await public.get("/vacancies", params={"department": "AST", "cohort": "abc"})
    assert r.status_code == 400 and "Ошибка" in r.text
    csv_response = await public.get("/referrals.csv")
    assert csv_response.status_code == 400


async def test_the_graphql_queries_need_no_login(public, protocol):
    data = await gql(
        public,
        "query($d:String!){vacancies(departmentCode:$d, cohort:2022){totalCount totalSeats "
        "edges{node{kindergartenCode groupName seats since}}} "
        "issuedReferrals(departmentCode:$d, first:10){pageInfo{hasNextPage} edges{cursor node{registrationNumber "
        "queueNumber state staffChild offeredOn explanation{text window rank}}}}}",
        {"d": "AST"},
    )
    assert "errors" not in data, data
    assert data["data"]["vacancies"]["totalSeats"] == 2
    referrals = data["data"]["issuedReferrals"]["edges"]
    assert {e["node"]["registrationNumber"] for e in referrals} == {
        protocol["a"].registration_number,
        protocol["b"].registration_number,
    }
    assert all(e["node"]["state"] == "OFFERED" and e["node"]["staffChild"] is False for e in referrals)
    bad = await gql(public, '{vacancies(departmentCode:"AST", cohort:99999){totalCount}}')
    assert bad["data"]["vacancies"] is None and bad["errors"][0]["extensions"]["code"] == "cohort.invalid"
