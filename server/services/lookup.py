"""Public reads of the queue (R23, R24): a child's place by IIN, a cohort's anonymised
list. Reads only: the numbers are stored by the queue engine (server/services/queue.py),
so a lookup is one indexed, joined read plus the recent explanations."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections

from server import runtime
from server.auth import ratelimit
from server.db import as_datetime, raw_sql
from server.errors import DomainError
from server.i18n import N_plural, ngettext
from server.models import Department, QueueCohort, QueueEntry
from server.services import registry

RECENT_CHANGES = 5
MAX_PAGE = 100

# R24: each reason of a change, in words; %(num)s counts the applications it moved.
REASONS: dict[str, tuple[str, str]] = {
    "registered_extraordinary": N_plural(
        "%(num)s application with an extraordinary right was registered",
        "%(num)s applications with an extraordinary right were registered",
    ),
    "registered_priority": N_plural(
        "%(num)s application with a priority right was registered",
        "%(num)s applications with a priority right were registered",
    ),
    "registered_general": N_plural(
        "%(num)s new application was placed ahead of yours",
        "%(num)s new applications were placed ahead of yours",
    ),
    "benefit_gained": N_plural(
        "%(num)s child moved ahead of you after a benefit was confirmed",
        "%(num)s children moved ahead of you after their benefits were confirmed",
    ),
    "benefit_lost": N_plural(
        "%(num)s child lost a benefit and moved behind you",
        "%(num)s children lost a benefit and moved behind you",
    ),
    "suspended": N_plural(
        "%(num)s child ahead of you was temporarily suspended (stop list)",
        "%(num)s children ahead of you were temporarily suspended (stop list)",
    ),
    "restored": N_plural(
        "%(num)s child returned to their place ahead of you",
        "%(num)s children returned to their places ahead of you",
    ),
    "offered": N_plural(
        "%(num)s child ahead of you received a place",
        "%(num)s children ahead of you received places",
    ),
    "withdrawn": N_plural(
        "%(num)s application ahead of you was withdrawn",
        "%(num)s applications ahead of you were withdrawn",
    ),
    "closed": N_plural(
        "%(num)s application ahead of you was closed (a place elsewhere, or the age limit)",
        "%(num)s applications ahead of you were closed (a place elsewhere, or the age limit)",
    ),
    "own_benefit_gained": N_plural(
        "Your benefit was confirmed",
        "Your benefits were confirmed",
    ),
    "own_benefit_lost": N_plural(
        "Your benefit was removed. Your place still counts from your registration time",
        "Your benefits were removed. Your place still counts from your registration time",
    ),
    "reordered": N_plural(
        "The order of priority and general places was recalculated",
        "The order of priority and general places was recalculated",
    ),
}


def reason_text(kind: str, count: int, language: str | None = None) -> str:
    singular, plural = REASONS.get(kind, REASONS["reordered"])
    return ngettext(singular, plural, count, language, num=count)


@dataclass(frozen=True)
class Change:
    at: datetime
    old_number: int
    new_number: int
    reasons: dict[str, int]


@dataclass(frozen=True)
class Position:
    application_id: int
    registration_number: str
    state: str
    cohort: int
    benefit_class: str
    department: Department
    initials: str
    number: int | None
    ahead_extraordinary: int
    ahead_priority: int
    ahead_general: int
    cohort_size: int
    updated_at: datetime | None


async def check_rate(ip: str) -> None:
    """Per-IP limit of public lookups: guessing IINs is slow and visible."""
    limit = runtime.get().settings.lookups_per_ip_per_minute
    if not await ratelimit.hit(f"kezek:lookup:ip:{ratelimit.ip_key(ip)}", limit, 60):
        raise DomainError("rate_limited", "child_iin")


def _sql(text: str) -> tuple[Any, str]:
    conn = connections.get("default")
    return conn, raw_sql(conn, text)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def positions(child_iin: str) -> list[Position]:
    """The child's active registered applications (one per department, R5) with their
    stored numbers. `child_iin` must be a valid IIN (the caller checks)."""
    conn, sql = _sql(
        "SELECT a.id, a.registration_number, a.state, a.cohort, a.benefit_class, "
        "q.number, q.ahead_extraordinary, q.ahead_priority, q.ahead_general, q.updated_at, "
        "c.extraordinary + c.priority + c.general, r.data, "
        "d.id, d.code, d.name_kk, d.name_ru, d.name_en, d.max_age_years, d.max_preferences, "
        "d.max_document_mb, d.priority_ratio "
        "FROM application a "
        "JOIN department d ON d.id = a.department_id "
        "LEFT JOIN queue_entry q ON q.application_id = a.id "
        "LEFT JOIN queue_cohort c ON c.department_id = a.department_id AND c.cohort = a.cohort "
        "LEFT JOIN registry_record r ON r.iin = a.child_iin "
        "WHERE a.child_iin = $1 AND a.active_key IS NOT NULL AND a.registration_number IS NOT NULL "
        "ORDER BY d.code"
    )
    _, rows = await conn.execute_query(sql, [child_iin])
    result = []
    for row in rows:
        department = Department(
            id=row[12],
            code=row[13],
            name_kk=row[14],
            name_ru=row[15],
            name_en=row[16],
            max_age_years=row[17],
            max_preferences=row[18],
            max_document_mb=row[19],
            priority_ratio=row[20],
        )
        result.append(
            Position(
                application_id=row[0],
                registration_number=row[1],
                state=row[2],
                cohort=row[3],
                benefit_class=row[4],
                number=row[5],
                ahead_extraordinary=row[6] or 0,
                ahead_priority=row[7] or 0,
                ahead_general=row[8] or 0,
                updated_at=as_datetime(row[9]) if row[9] is not None else None,
                cohort_size=row[10] or 0,
                initials=registry.initials(_json(row[11]) if row[11] else None),
                department=department,
            )
        )
    return result


async def recent_changes(application_id: int, limit: int = RECENT_CHANGES) -> list[Change]:
    conn, sql = _sql(
        "SELECT created_at, old_number, new_number, reasons FROM queue_change "
        "WHERE application_id = $1 ORDER BY id DESC LIMIT $2"
    )
    _, rows = await conn.execute_query(sql, [application_id, max(0, min(limit, 50))])
    return [Change(as_datetime(r[0]), r[1], r[2], dict(_json(r[3]))) for r in rows]


@dataclass(frozen=True)
class CohortRow:
    number: int
    registration_number: str
    benefit_class: str


@dataclass(frozen=True)
class CohortPage:
    rows: list[CohortRow]
    has_next: bool
    total: int


CURSOR = re.compile(r"^n(\d{1,9})$")


def cursor_of(number: int) -> str:
    return f"n{number}"


def after_number(cursor: str | None) -> int:
    """Keyset cursor: the last queue number seen (opaque to callers)."""
    if not cursor:
        return 0
    match = CURSOR.match(cursor.strip())
    if not match:
        raise DomainError("cursor.invalid", "after")
    return int(match.group(1))


async def cohort_page(department_code: str, birth_year: int, first: int, after: str | None) -> CohortPage:
    """A cohort's public list in queue order: registration number, class, number."""
    if not 1 <= first <= MAX_PAGE:
        raise DomainError("page.size", "first", max=MAX_PAGE)
    start = after_number(after)
    department = await Department.get_or_none(code=department_code.strip().upper())
    if department is None:
        raise DomainError("department.unknown", "departmentCode")
    rows = await (
        QueueEntry.filter(department_id=department.id, cohort=birth_year, number__gt=start)
        .order_by("number")
        .limit(first + 1)
        .values("number", "application__registration_number", "application__benefit_class")
    )
    summary = await QueueCohort.get_or_none(department_id=department.id, cohort=birth_year)
    total = (summary.extraordinary + summary.priority + summary.general) if summary else 0
    return CohortPage(
        rows=[
            CohortRow(r["number"], r["application__registration_number"], r["application__benefit_class"])
            for r in rows[:first]
        ],
        has_next=len(rows) > first,
        total=total,
    )
