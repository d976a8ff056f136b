"""The public protocols (R25, R32): vacant places and issued referrals, as pages and as
CSV downloads, with no login and no personal data.

The filters (department, birth year, group language) come in the address from a GET
form: they name nothing personal, and a filtered page can be bookmarked or shared. A
filter that cannot be right (an unknown department, a year that is not four digits, a
stray byte) is refused with 400 and the form, in the reader's language, before anything
reaches the database.

The pages run the named operations of `views/operations/protocols.graphql` in-process
(`vacancies`, `issuedReferrals`), a page at a time. The downloads are the same data in
one file: they read the service directly (an API page holds at most 100 rows), and
stream it, gzip-compressed here at level 6 when the client takes gzip. Referrals come
`protocols.CHUNK` at a time, so memory stays bounded however long the history; the
vacancies (a few thousand groups at most) in one statement, written as CSV by
PostgreSQL itself (`protocols.copy_vacancies`), or here on SQLite. The file is UTF-8
with a byte order mark (Excel then reads the Cyrillic right), separated by semicolons
for Kazakh and Russian readers (what Excel expects with their regional settings) and by
commas for English ones; a cell that Excel would take for a formula is prefixed with an
apostrophe.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from schema.types.places import reason_text
from server.domain.languages import GroupLanguage
from server.errors import DomainError
from server.i18n import N_, get_language, gettext
from server.services import protocols
from views import graphql
from views.rendering import page

VACANCY_PAGE = 50  # rows of a page: small on a cheap phone; the CSV has them all
REFERRAL_PAGE = 25
PARAM_LIMIT = 40  # characters of a parameter looked at; the rest is dropped
YEAR = re.compile(r"^[0-9]{4}$")
YEARS_SHOWN = 8  # birth years offered in the form: this year and the seven before
# Which form field a refusal belongs to (None: the page's, e.g. a stale page link).
FIELDS = {"department.unknown": "department", "cohort.invalid": "cohort", "language.invalid": "language"}

LANGUAGE_NAMES = {GroupLanguage.KK.value: N_("Kazakh"), GroupLanguage.RU.value: N_("Russian"), "other": N_("Other")}
STATE_NAMES = {
    "offered": N_("offered, waiting for the parent's answer"),
    "accepted": N_("accepted"),
    "extended": N_("accepted, presentation extended"),
    "enrolled": N_("enrolled"),
    "declined": N_("declined"),
    "expired": N_("expired"),
    "cancelled": N_("cancelled"),
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Filters:
    department: str = ""
    cohort: int | None = None
    cohort_text: str = ""
    language: str = ""
    after: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, code: str, field: str | None = None) -> None:
        self.errors.append({"field": field, "code": code, "message": DomainError(code).message(get_language())})

    def query(self, *, language: bool, after: str = "") -> str:
        """The filters as an address's query (empty ones left out)."""
        values = {
            "department": self.department,
            "cohort": self.cohort_text,
            "language": self.language if language else "",
            "after": after,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _param(request: Request, name: str) -> str:
    return request.query_params.get(name, "")[:PARAM_LIMIT].strip()


def _filters(request: Request, *, language: bool) -> Filters:
    found = Filters(
        department=_param(request, "department").upper(),
        cohort_text=_param(request, "cohort"),
        language=_param(request, "language").lower() if language else "",
        after=_param(request, "after"),
    )
    if found.department and not protocols.DEPARTMENT_CODE.fullmatch(found.department):
        found.refuse("department.unknown", "department")
    if found.cohort_text:
        if YEAR.fullmatch(found.cohort_text):
            found.cohort = int(found.cohort_text)
        else:
            found.refuse("cohort.invalid", "cohort")
    if found.language and found.language not in LANGUAGE_NAMES:
        found.refuse("language.invalid", "language")
    return found


def _refusals(errors: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"field": FIELDS.get(e["code"]), "code": e["code"], "message": e["message"]} for e in errors]


def _years(chosen: int | None) -> list[int]:
    this_year = datetime.now(UTC).year
    years = list(range(this_year, this_year - YEARS_SHOWN, -1))
    if chosen is not None and chosen not in years:
        years.append(chosen)
    return years


def language_name(code: str) -> str:
    return gettext(LANGUAGE_NAMES.get(code, LANGUAGE_NAMES["other"]))


def state_name(state: str) -> str:
    key = state.lower()
    return gettext(STATE_NAMES[key]) if key in STATE_NAMES else key


@functools.lru_cache(maxsize=4096)
def _day_in(day: date, language: str) -> str:
    # Babel's formatting is slow next to the rest of a row; a page repeats its days.
    return format_date(day, "d MMM y", locale=language)


def _since(value: str, timezone: str) -> str:
    """A publication time as its day in the department's time zone."""
    return _day_in(datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)).date(), get_language())


def _day(value: str) -> str:
    return _day_in(date.fromisoformat(value), get_language())


def _show(
    request: Request, template: str, filters: Filters, departments: list[dict[str, Any]], **extra: Any
) -> Response:
    return page(
        request,
        template,
        status_code=400 if filters.errors else 200,
        errors=filters.errors,
        filters=filters,
        departments=departments,
        options={
            "departments": [(d["code"], d["name"]) for d in departments],
            "years": [(str(y), str(y)) for y in _years(filters.cohort)],
            "languages": [(code, gettext(name)) for code, name in LANGUAGE_NAMES.items()],
        },
        language_name=language_name,
        state_name=state_name,
        **extra,
    )


async def _departments(request: Request) -> list[dict[str, Any]]:
    departments: list[dict[str, Any]] = (await graphql.run(request, "protocols", "ProtocolDepartments"))["departments"]
    return departments


# --- pages ---------------------------------------------------------------------------------


async def vacancies_page(request: Request) -> Response:
    filters = _filters(request, language=True)
    template = "protocols/vacancies.html"
    if filters.errors or not filters.department:
        return _show(request, template, filters, await _departments(request), result=None)
    data, errors = await graphql.run_checked(
        request,
        "protocols",
        "Vacancies",
        {
            "departmentCode": filters.department,
            "cohort": filters.cohort,
            "language": filters.language or None,
            "first": VACANCY_PAGE,
            "after": filters.after or None,
        },
    )
    filters.errors = _refusals(errors)
    result = data.get("vacancies")
    if filters.errors or result is None:
        return _show(request, template, filters, data.get("departments") or [], result=None)
    rows = [
        {**edge["node"], "since_text": _since(edge["node"]["since"], result["timezone"])} for edge in result["edges"]
    ]
    return _show(
        request,
        template,
        filters,
        data["departments"],
        result=result,
        rows=rows,
        **_links("/vacancies", "/referrals", filters, result["pageInfo"], language=True),
    )


def _links(path: str, other: str, filters: Any, info: dict[str, Any], *, language: bool) -> dict[str, str]:
    """A protocol page's links: the next and first pages, its CSV, the other protocol."""
    query = filters.query(language=language)
    return {
        "next_url": f"{path}?{filters.query(language=language, after=info['endCursor'])}"
        if info["hasNextPage"]
        else "",
        "first_url": f"{path}?{query}" if filters.after else "",
        "csv_url": f"{path}.csv?{query}",
        "other_url": f"{other}?{urlencode({'department': filters.department})}",
    }


async def referrals_page(request: Request) -> Response:
    filters = _filters(request, language=False)
    template = "protocols/referrals.html"
    if filters.errors or not filters.department:
        return _show(request, template, filters, await _departments(request), result=None)
    data, errors = await graphql.run_checked(
        request,
        "protocols",
        "IssuedReferrals",
        {
            "departmentCode": filters.department,
            "cohort": filters.cohort,
            "first": REFERRAL_PAGE,
            "after": filters.after or None,
        },
    )
    filters.errors = _refusals(errors)
    result = data.get("issuedReferrals")
    if filters.errors or result is None:
        return _show(request, template, filters, data.get("departments") or [], result=None)
    rows = [{**edge["node"], "day": _day(edge["node"]["offeredOn"])} for edge in result["edges"]]
    return _show(
        request,
        template,
        filters,
        data["departments"],
        result=result,
        rows=rows,
        **_links("/referrals", "/vacancies", filters, result["pageInfo"], language=False),
    )


# --- downloads -----------------------------------------------------------------------------


def text(value: str) -> str:
    """A cell of text that staff typed (a name): one Excel would run as a formula
    (=, +, -, @ first) is kept as text. Codes, numbers and dates need no such care."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class _Csv:
    """CSV lines in the reader's convention (see the module doc)."""

    def __init__(self, language: str) -> None:
        self.delimiter = "," if language == "en" else ";"
        self.languages = {code: gettext(name, language) for code, name in LANGUAGE_NAMES.items()}

    def language(self, code: str) -> str:
        return self.languages.get(code) or self.languages["other"]

    def lines(self, rows: Iterable[Iterable[object]]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="\n").writerows(rows)
        return buffer.getvalue()


class _LocalTime:
    """UTC times as minutes of the department's time zone; the zone's offset looked up
    once an hour of UTC (zones change their offset on the hour)."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.offsets: dict[datetime, timedelta] = {}

    def __call__(self, moment: datetime) -> str:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        offset = self.offsets.get(hour)
        if offset is None:
            offset = self.offsets[hour] = hour.astimezone(self.zone).utcoffset() or timedelta(0)
        return (moment + offset).replace(tzinfo=None).isoformat(" ", "minutes")


def _refused_download(errors: list[dict[str, Any]]) -> Response:
    return PlainTextResponse("\n".join(e["message"] for e in errors) + "\n", status_code=400)


async def _encoded(body: AsyncIterator[str | bytes]) -> AsyncIterator[bytes]:
    async for part in body:
        yield part.encode() if isinstance(part, str) else part


async def _gzipped(body: AsyncIterator[str | bytes]) -> AsyncIterator[bytes]:
    """The file compressed here, at level 6: as small as the app's level 9 within a
    percent, in a third of the time (the middleware passes an encoded body through)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    async for part in _encoded(body):
        if chunk := packer.compress(part):
            yield chunk
    yield packer.flush()


def _download(request: Request, name: str, body: AsyncIterator[str | bytes]) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-cache"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return StreamingResponse(_gzipped(body), media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(_encoded(body), media_type="text/csv; charset=utf-8", headers=headers)


def _file_name(kind: str, filters: Filters, department: str) -> str:
    parts = [kind, department, *([str(filters.cohort)] if filters.cohort else []), *[filters.language or ""]]
    return "-".join(p for p in parts if p)


async def vacancies_csv(request: Request) -> Response:
    filters = _filters(request, language=True)
    if not filters.department and not filters.errors:
        filters.refuse("department.unknown", "department")
    if filters.errors:
        return _refused_download(filters.errors)
    language = get_language()
    try:
        department, chunks = await protocols.all_vacancies(
            filters.department, filters.cohort, filters.language or None, reader=language
        )
    except DomainError as exc:
        return _refused_download([{"message": exc.message(language)}])
    out = _Csv(language)
    header = [
        gettext(N_("Kindergarten code"), language),
        gettext(N_("Kindergarten"), language),
        gettext(N_("Group"), language),
        gettext(N_("Birth year"), language),
        gettext(N_("Language of the group"), language),
        gettext(N_("Vacant places"), language),
        gettext(N_("Published since"), language),
    ]
    # PostgreSQL writes the rows itself; elsewhere (SQLite) they are written here.
    copied = await protocols.copy_vacancies(
        department,
        filters.cohort,
        filters.language or None,
        reader=language,
        languages=out.languages,
        delimiter=out.delimiter,
    )
    local = _LocalTime(department.timezone)

    async def body() -> AsyncIterator[str | bytes]:
        yield "\ufeff" + out.lines([header])
        if copied is not None:
            yield copied
            return
        async for rows in chunks:
            yield out.lines(
                [
                    r.kindergarten_code,
                    text(r.kindergarten_name),
                    text(r.group_name),
                    r.cohort,
                    out.language(r.language),
                    r.seats,
                    local(r.since),
                ]
                for r in rows
            )

    return _download(request, _file_name("vacancies", filters, department.code), body())


async def referrals_csv(request: Request) -> Response:
    filters = _filters(request, language=False)
    if not filters.department and not filters.errors:
        filters.refuse("department.unknown", "department")
    if filters.errors:
        return _refused_download(filters.errors)
    language = get_language()
    try:
        department, chunks = await protocols.all_referrals(filters.department, filters.cohort, reader=language)
    except DomainError as exc:
        return _refused_download([{"message": exc.message(language)}])
    out = _Csv(language)
    yes, no = gettext(N_("yes"), language), gettext(N_("no"), language)
    states = {state: gettext(name, language) for state, name in STATE_NAMES.items()}
    header = [
        gettext(N_("Registration number"), language),
        gettext(N_("Kindergarten code"), language),
        gettext(N_("Kindergarten"), language),
        gettext(N_("Group"), language),
        gettext(N_("Birth year"), language),
        gettext(N_("Language of the group"), language),
        gettext(N_("Queue number at the offer"), language),
        gettext(N_("Date of the offer"), language),
        gettext(N_("State"), language),
        gettext(N_("Child of kindergarten staff"), language),
        gettext(N_("Why this child"), language),
    ]

    async def body() -> AsyncIterator[str | bytes]:
        yield "\ufeff" + out.lines([header])
        async for rows in chunks:
            yield out.lines(
                [
                    r.registration_number,
                    r.kindergarten_code,
                    text(r.kindergarten_name),
                    text(r.group_name),
                    r.cohort,
                    out.language(r.group_language),
                    r.queue_number,
                    r.offered_on.isoformat(),
                    states.get(r.state, r.state),
                    yes if r.staff_child else no,
                    reason_text(
                        window=r.window,
                        rank=r.rank,
                        number=r.queue_number,
                        cohort=r.cohort,
                        kindergarten=r.kindergarten_code,
                        language=r.group_language,
                        lang=language,
                    ),
                ]
                for r in rows
            )

    return _download(request, _file_name("referrals", filters, department.code), body())


ROUTES: list[BaseRoute] = [
    Route("/vacancies", vacancies_page),
    Route("/vacancies.csv", vacancies_csv),
    Route("/referrals", referrals_page),
    Route("/referrals.csv", referrals_csv),
]
