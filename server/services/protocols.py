"""The two public protocols (R25, R32): a department's vacant seats and the referrals it
issued. Reads only, no login, no personal data: a referral is shown by the application's
registration number, never by a name or an IIN.

Each read is the department's row and one indexed query: vacancies aggregate the open
seats of the department (`seat (department_id, cohort, state)`) by group, with the page
and the totals in one statement; referrals walk `referral (department_id, offered_at)`
newest first. Both are keyset pages (`first` rows after a cursor, opaque to callers);
the CSV downloads read the same statements in bigger chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise import connections

from server.db import as_datetime, raw_sql
from server.domain.deadlines import local_date
from server.domain.languages import GroupLanguage
from server.domain.places import OfferKind, SeatState
from server.errors import DomainError
from server.i18n import LANGUAGES
from server.models import Department

MAX_PAGE = 100  # rows of one API page
CHUNK = 1000  # rows read (or encoded) at a time for a CSV download
MAX_GROUPS = 50_000  # groups with open seats read by one statement of a download
DEPARTMENT_CODE = re.compile(r"^[A-Z]{2,8}$")
VACANCY_CURSOR = re.compile(r"^g(\d{1,10})$")
REFERRAL_CURSOR = re.compile(r"^r(\d{1,10})$")
# Birth years a filter may name: anything else is a mistake, not an empty protocol.
FIRST_COHORT, LAST_COHORT = 1900, 2200


@dataclass(slots=True)  # not frozen: a download builds thousands, and frozen ones cost 3x
class Vacancy:
    """Open seats of one group."""

    group_id: int
    kindergarten_code: str
    kindergarten_name: str
    group_name: str
    cohort: int
    language: str
    seats: int
    since: datetime  # the earliest publication among its open seats


@dataclass(frozen=True)
class VacancyPage:
    department: Department
    rows: list[Vacancy]
    has_next: bool
    groups: int  # groups with open seats under the filters, all pages
    seats: int  # their open seats


@dataclass(slots=True)
class IssuedReferral:
    """One referral as the public sees it (R32)."""

    id: int
    registration_number: str
    kindergarten_code: str
    kindergarten_name: str
    group_name: str
    group_language: str
    cohort: int
    queue_number: int  # at the moment of the offer
    offered_at: datetime
    offered_on: date  # in the department's time zone
    state: str
    staff_child: bool  # R32: the child of a kindergarten's staff
    window: str
    rank: int | None


@dataclass(frozen=True)
class ReferralPage:
    department: Department
    rows: list[IssuedReferral]
    has_next: bool


# --- checking what the public asks ----------------------------------------------------


async def department_of(code: str) -> Department:
    """The department by its code (any case); `department.unknown` otherwise. Checked
    before any query: a stray byte (NUL) never reaches the database."""
    value = code.strip().upper() if isinstance(code, str) else ""
    if not DEPARTMENT_CODE.fullmatch(value):
        raise DomainError("department.unknown", "departmentCode")
    department = await Department.get_or_none(code=value)
    if department is None:
        raise DomainError("department.unknown", "departmentCode")
    return department


def check_cohort(cohort: int | None) -> int | None:
    if cohort is not None and not FIRST_COHORT <= cohort <= LAST_COHORT:
        raise DomainError("cohort.invalid", "cohort")
    return cohort


def check_language(language: str | None) -> str | None:
    if not language:
        return None
    if language not in GroupLanguage.__members__.values():
        raise DomainError("language.invalid", "language")
    return language


def check_first(first: int, limit: int = MAX_PAGE) -> int:
    if not 1 <= first <= limit:
        raise DomainError("page.size", "first", max=limit)
    return first


def _cursor_id(cursor: str | None, pattern: re.Pattern[str]) -> int | None:
    if not cursor:
        return None
    match = pattern.fullmatch(cursor.strip()) if isinstance(cursor, str) else None
    if not match:
        raise DomainError("cursor.invalid", "after")
    return int(match.group(1))


def vacancy_cursor(row: Vacancy) -> str:
    return f"g{row.group_id}"


def referral_cursor(row: IssuedReferral) -> str:
    return f"r{row.id}"


class _Sql:
    """Raw SQL with $n placeholders added as the optional filters are."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


def _name_column(language: str) -> str:
    # The kindergarten's name in the reader's language (a column of a fixed set).
    lang = language if language in LANGUAGES else "ru"
    return f"COALESCE(NULLIF(k.name_{lang}, ''), k.name_ru)"


# --- vacant seats (R25) ---------------------------------------------------------------


async def vacancies(
    department_code: str,
    cohort: int | None = None,
    language: str | None = None,
    *,
    first: int = MAX_PAGE,
    after: str | None = None,
    reader: str = "ru",
    limit: int = MAX_PAGE,
) -> VacancyPage:
    """The department's groups with open seats, by kindergarten code, cohort and group
    name: how many seats and since when; filtered by cohort and group language."""
    check_first(first, limit)
    after_id = _cursor_id(after, VACANCY_CURSOR)
    cohort, language = check_cohort(cohort), check_language(language)
    department = await department_of(department_code)
    return await _vacancies(department, cohort, language, first, after_id, reader)


def vacancy_query(
    department_id: int,
    cohort: int | None,
    language: str | None,
    first: int,
    after_id: int | None,
    reader: str,
    *,
    totals: bool = True,
    p: _Sql | None = None,
) -> tuple[str, list[Any]]:
    """The one statement of a vacancy page (PostgreSQL's $n): the open seats counted
    per group on the seat table alone (an integer key), joined to their groups and
    kindergartens, the totals of every page (`totals`; a download needs none, and one
    sort less), and the page's rows after the cursor. `p` takes the parameters (a
    statement around this one adds its own after them)."""
    p = p or _Sql()
    seats = [f"s.department_id = {p(department_id)}", f"s.state = {p(SeatState.OPEN.value)}"]
    if cohort is not None:
        seats.append(f"s.cohort = {p(cohort)}")
    groups = ["g.active", "k.active"]
    if language is not None:
        groups.append(f"g.language = {p(language)}")
    after = ""
    if after_id is not None:
        # Keyset: the rows after the cursor's group in the page order.
        after = (
            "WHERE (v.code, v.cohort, v.name, v.group_id) > (SELECT k2.code, g2.cohort, g2.name, g2.id "
            "FROM kindergarten_group g2 JOIN kindergarten k2 ON k2.id = g2.kindergarten_id "
            f"WHERE g2.id = {p(after_id)})"
        )
    text = (
        "WITH o AS ("
        "SELECT s.group_id, count(*) AS seats, min(s.published_at) AS since FROM seat s "
        f"WHERE {' AND '.join(seats)} GROUP BY s.group_id"
        "), v AS ("
        f"SELECT o.group_id, o.seats, o.since, k.code AS code, {_name_column(reader)} AS kname, g.name AS name, "
        "g.cohort AS cohort, g.language AS language "
        "FROM o JOIN kindergarten_group g ON g.id = o.group_id JOIN kindergarten k ON k.id = g.kindergarten_id "
        f"WHERE {' AND '.join(groups)}"
        ")"
    )
    rows = f"SELECT * FROM v {after} ORDER BY v.code, v.cohort, v.name, v.group_id LIMIT {p(first + 1)}"
    columns = "pg.group_id, pg.code, pg.kname, pg.name, pg.cohort, pg.language, pg.seats, pg.since"
    order = "pg.code, pg.cohort, pg.name, pg.group_id"
    if not totals:
        return f"{text} SELECT NULL, NULL, {columns} FROM ({rows}) pg ORDER BY {order}", p.params
    text += (
        ", t AS (SELECT count(*) AS n, COALESCE(sum(seats), 0) AS total FROM v) "
        f"SELECT t.n, t.total, {columns} FROM t LEFT JOIN ({rows}) pg ON 1 = 1 ORDER BY {order}"
    )
    return text, p.params


async def _vacancies(
    department: Department,
    cohort: int | None,
    language: str | None,
    first: int,
    after_id: int | None,
    reader: str,
    *,
    totals: bool = True,
) -> VacancyPage:
    text, params = vacancy_query(department.id, cohort, language, first, after_id, reader, totals=totals)
    conn = connections.get("default")
    _, rows = await conn.execute_query(raw_sql(conn, text), params)
    # Positional, in the dataclass's field order: a download builds thousands.
    found = [Vacancy(r[2], r[3], r[4], r[5], r[6], r[7], r[8], as_datetime(r[9])) for r in rows if r[2] is not None]
    groups, seats = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
    return VacancyPage(department, found[:first], len(found) > first, groups, seats)


def _text_cell(column: str) -> str:
    # A name Excel would run as a formula (=, +, -, @ first) is kept as text, as views.protocols.text does.
    starts = "('=', '+', '-', '@', chr(9), chr(13))"
    return f"CASE WHEN left({column}, 1) IN {starts} THEN chr(39) || {column} ELSE {column} END"


async def copy_vacancies(
    department: Department,
    cohort: int | None,
    language: str | None,
    *,
    reader: str,
    languages: dict[str, str],
    delimiter: str,
) -> bytes | None:
    """On PostgreSQL, a download's rows as CSV written by the database itself (COPY …
    TO STDOUT): code, name, group, year, `languages[code]`, seats, the publication's
    minute in the department's time zone — the lines `views.protocols` writes itself
    on SQLite, without a Python object per row (a few thousand of those cost more than
    the query, and the collector's pauses besides). None on other databases. The
    filters must have been checked (`all_vacancies`)."""
    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        return None
    p = _Sql()
    text, _ = vacancy_query(department.id, cohort, language, MAX_GROUPS, None, reader, totals=False, p=p)
    other = languages.get(GroupLanguage.OTHER.value, GroupLanguage.OTHER.value)
    kk, ru = (p(languages.get(code, other)) for code in (GroupLanguage.KK.value, GroupLanguage.RU.value))
    query = (
        f"SELECT x.code, {_text_cell('x.kname')}, {_text_cell('x.name')}, x.cohort, "
        f"CASE x.language WHEN 'kk' THEN {kk} WHEN 'ru' THEN {ru} ELSE {p(other)} END, "
        f"x.seats, to_char(x.since AT TIME ZONE {p(department.timezone)}, 'YYYY-MM-DD HH24:MI') "
        f"FROM ({text}) x ORDER BY x.code, x.cohort, x.name, x.group_id"
    )
    parts: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        parts.append(bytes(chunk))

    async with conn.acquire_connection() as raw:
        await raw.copy_from_query(query, *p.params, output=collect, format="csv", delimiter=delimiter)
    return b"".join(parts)


async def all_vacancies(
    department_code: str, cohort: int | None = None, language: str | None = None, *, reader: str = "ru"
) -> tuple[Department, AsyncIterator[list[Vacancy]]]:
    """For a download: the filters checked now (a mistake raises before anything is
    sent), then every row, `CHUNK` at a time. The list is a department's groups with
    open seats (a few thousand at most), so one statement reads it all, bounded by
    `MAX_GROUPS`: every further chunk would count the open seats again."""
    cohort, language = check_cohort(cohort), check_language(language)
    department = await department_of(department_code)

    async def chunks() -> AsyncIterator[list[Vacancy]]:
        after: int | None = None
        while True:
            page = await _vacancies(department, cohort, language, MAX_GROUPS, after, reader, totals=False)
            for start in range(0, len(page.rows), CHUNK):
                yield page.rows[start : start + CHUNK]
            if not page.has_next:
                return
            after = page.rows[-1].group_id

    return department, chunks()


# --- issued referrals (R32) -----------------------------------------------------------


def _json(value: Any) -> dict[str, Any]:
    data = json.loads(value) if isinstance(value, (str, bytes)) else value
    return data if isinstance(data, dict) else {}


async def referrals(
    department_code: str,
    cohort: int | None = None,
    *,
    first: int = 25,
    after: str | None = None,
    reader: str = "ru",
    limit: int = MAX_PAGE,
) -> ReferralPage:
    """The department's referrals, newest first: registration number, kindergarten,
    group, queue number at the offer, date, state, the R32 marking. No names, no IINs."""
    check_first(first, limit)
    after_id = _cursor_id(after, REFERRAL_CURSOR)
    cohort = check_cohort(cohort)
    department = await department_of(department_code)
    return await _referrals(department, cohort, first, after_id, reader)


def referral_query(
    department_id: int, cohort: int | None, first: int, after_id: int | None, reader: str
) -> tuple[str, list[Any]]:
    """The one statement of a referrals page, newest first (PostgreSQL's $n)."""
    p = _Sql()
    where = [f"r.department_id = {p(department_id)}", f"r.kind = {p(OfferKind.REFERRAL.value)}"]
    if cohort is not None:
        where.append(f"r.cohort = {p(cohort)}")
    if after_id is not None:
        # The first condition walks the index, the second breaks ties of one run's offers.
        where.append(f"r.offered_at <= (SELECT offered_at FROM referral WHERE id = {p(after_id)})")
        where.append(f"(r.offered_at, r.id) < (SELECT offered_at, id FROM referral WHERE id = {p(after_id)})")
    text = (
        "SELECT r.id, a.registration_number, k.code, "
        f"{_name_column(reader)}, g.name, g.language, r.cohort, r.queue_number, r.offered_at, r.state, "
        "r.staff_child, r.window, r.rank, r.explanation "
        "FROM referral r JOIN application a ON a.id = r.application_id "
        "JOIN kindergarten k ON k.id = r.kindergarten_id JOIN kindergarten_group g ON g.id = r.group_id "
        f"WHERE {' AND '.join(where)} ORDER BY r.offered_at DESC, r.id DESC LIMIT {p(first + 1)}"
    )
    return text, p.params


async def _referrals(
    department: Department, cohort: int | None, first: int, after_id: int | None, reader: str
) -> ReferralPage:
    text, params = referral_query(department.id, cohort, first, after_id, reader)
    conn = connections.get("default")
    _, rows = await conn.execute_query(raw_sql(conn, text), params)
    found = []
    for r in rows[:first]:
        offered_at = as_datetime(r[8])
        data = _json(r[13])
        found.append(
            IssuedReferral(
                id=int(r[0]),
                registration_number=r[1] or "",
                kindergarten_code=r[2],
                kindergarten_name=r[3],
                group_name=r[4],
                group_language=str(data.get("language", r[5])),
                cohort=int(r[6]),
                queue_number=int(data.get("queue_number", r[7])),
                offered_at=offered_at,
                offered_on=local_date(offered_at, department.timezone),
                state=r[9],
                staff_child=bool(r[10]),
                window=str(data.get("window", r[11])),
                rank=r[12],
            )
        )
    return ReferralPage(department, found, len(rows) > first)


async def all_referrals(
    department_code: str, cohort: int | None = None, *, reader: str = "ru"
) -> tuple[Department, AsyncIterator[list[IssuedReferral]]]:
    """For a download: the filters checked now, then every referral, newest first,
    `CHUNK` at a time (one indexed query per chunk: memory stays bounded)."""
    cohort = check_cohort(cohort)
    department = await department_of(department_code)

    async def chunks() -> AsyncIterator[list[IssuedReferral]]:
        after: int | None = None
        while True:
            page = await _referrals(department, cohort, CHUNK, after, reader)
            if page.rows:
                yield page.rows
            if not page.has_next:
                return
            after = page.rows[-1].id

    return department, chunks()
