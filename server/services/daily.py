"""The daily jobs (a cron every hour, and `kezek deadlines --as-of DAY`): each
idempotent, each catching up on what fell due while the worker was off.

- Referral deadlines, reminders and stop-list restores (`referrals.run_deadlines`).
- R31, the age-out: a queued or suspended application whose child has reached the
  department's maximum age on the day checked (in the department's time zone) is
  closed, and the parent told once. An offered one is left to its referral.
- R17, the registry re-check: registry-backed benefits of active applications are
  asked of the state registry again, at most once per the department's
  `benefit_recheck_days`; a benefit found or gone is recorded as a claim added or
  withdrawn with its reason, the class re-applied (the cohort refreshes) and the parent
  told. When the registry does not answer, the rest waits for the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from server.db import flat_ints
from server.domain import age
from server.domain.benefits import STANDING, ClaimStatus, Evidence
from server.domain.deadlines import local_date
from server.domain.states import State, Transition
from server.errors import DomainError
from server.models import Application, ApplicationEvent, BenefitCategory, BenefitClaim, Department
from server.services import benefits, events, notifications, queue, referrals, registry

log = logging.getLogger("kezek.daily")

ACTOR = "system:daily"

# R31: the states the age-out closes; an offered application is left to its referral.
AGE_OUT_STATES = frozenset({State.QUEUED, State.SUSPENDED})
AGE_OUT_REASON = "the child reached the maximum age (R31)"

# R17: the states whose benefits are re-checked, and the event that marks a re-check
# (one per application, the last one: older ones are replaced).
RECHECK_STATES = frozenset({State.QUEUED, State.SUSPENDED, State.OFFERED})
RECHECK = "registry_recheck"
GAINED_REASON = "found in the state registry by the re-check (R17)"
LOST_REASON = "no longer in the state registry (R17)"
RECHECK_CHUNK = 200  # applications read, asked and marked at a time
RECHECK_PER_RUN = 20_000  # per department and run; the cron comes back within the hour
LOOKUPS_AT_ONCE = 8  # registry requests in flight


@dataclass
class AgedOut:
    closed: int = 0


@dataclass
class Rechecked:
    checked: int = 0  # applications whose benefits the registry was asked about
    gained: int = 0  # registry-backed benefits found
    lost: int = 0  # registry-backed benefits gone
    unavailable: list[str] = field(default_factory=list)  # departments left for the next run


@dataclass
class Daily:
    deadlines: referrals.Deadlines = field(default_factory=referrals.Deadlines)
    aged_out: AgedOut = field(default_factory=AgedOut)
    rechecked: Rechecked = field(default_factory=Rechecked)

    def summary(self) -> str:
        d, r = self.deadlines, self.rechecked
        days = ", ".join(f"{code} {day}" for code, day in sorted(d.as_of.items())) or "no departments"
        waiting = f" (registry unavailable for {', '.join(r.unavailable)}: next run)" if r.unavailable else ""
        return (
            f"as of {days}: {d.expired} referrals expired, {d.cancelled} cancelled (R29), "
            f"{d.reminded} reminders, {d.restored} restored from the stop-list; "
            f"{self.aged_out.closed} closed at the maximum age (R31); "
            f"registry re-check (R17): {r.checked} applications, {r.gained} benefits found, {r.lost} lost{waiting}"
        )


async def run(as_of: date | None = None) -> Daily:
    """Everything daily, as of `as_of` (default: today in each department's time zone).
    The registry re-check always asks about today: the registry knows no other day."""
    deadlines = await referrals.run_deadlines(as_of)
    aged_out = await age_out(as_of)
    rechecked = await recheck_benefits()
    return Daily(deadlines, aged_out, rechecked)


# --- R31: the age-out -------------------------------------------------------------------


def born_by(today: date, years: int) -> date:
    """The latest birth date of a child who is `years` old on `today` (a child born on
    29 February is a year older on 1 March of other years, as `age.age_in_years` says)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 2, 28)


async def age_out(as_of: date | None = None) -> AgedOut:
    """R31: closes every queued or suspended application whose child has reached the
    department's maximum age by the day checked. Idempotent (a closed application is no
    longer active) and catching up (whoever reached it on a missed day is closed too)."""
    report = AgedOut()
    for department in await Department.all():
        today = referrals.today_in(department, as_of)
        due = await flat_ints(
            Application.filter(
                department_id=department.id,
                state__in=[s.value for s in AGE_OUT_STATES],
                child_birth_date__lte=born_by(today, department.max_age_years),
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        for application_id in due:
            if await _close_aged(application_id, department, today):
                report.closed += 1
    return report


async def _close_aged(application_id: int, department: Department, today: date) -> bool:
    """One application closed at the maximum age, with the "closed" message (sent once:
    it is keyed by the transition's event); False when it moved on first."""
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if (
            application is None
            or State(application.state) not in AGE_OUT_STATES
            or application.child_birth_date is None
            or age.age_in_years(application.child_birth_date, today) < department.max_age_years
        ):
            return False
        moved = await events.transition(application, Transition.CLOSE, ACTOR, AGE_OUT_REASON)
        application.version += 1
        await application.save()
    if moved:
        await queue.request_refresh_for(application)
    await notifications.deliver_soon(application.id)
    return True


# --- R17: the registry re-check ---------------------------------------------------------


class RegistryDown(Exception):
    """The registry did not answer: the re-check waits for the next run."""


def period_start(department: Department, now: datetime) -> datetime:
    """The start of the re-check period that holds `now`: local midnight of the first of
    the last `benefit_recheck_days` days. An application checked (or registered) since
    then is not due."""
    today = local_date(now, department.timezone)
    first = today - timedelta(days=max(1, department.benefit_recheck_days) - 1)
    return datetime.combine(first, time(), ZoneInfo(department.timezone)).astimezone(UTC)


async def recheck_benefits(now: datetime | None = None, *, limit: int = RECHECK_PER_RUN) -> Rechecked:
    """R17: asks the registry again about the applicant and the child of every active
    application due a re-check (at most `limit` per department and run, in chunks, each
    person once per chunk), and reconciles the registry-backed claims with the answer."""
    now = now or datetime.now(UTC)
    report = Rechecked()
    categories = await benefits.registry_categories()
    if not categories:
        return report
    for department in await Department.all().order_by("code"):
        if report.unavailable:  # one registry for all: the others wait too
            report.unavailable.append(department.code)
            continue
        try:
            await _recheck_department(department, now, categories, limit, report)
        except RegistryDown as exc:
            log.warning("registry re-check of %s waits for the next run: %s", department.code, exc)
            report.unavailable.append(department.code)
    return report


async def _recheck_department(
    department: Department, now: datetime, categories: dict[str, BenefitCategory], limit: int, report: Rechecked
) -> None:
    since = period_start(department, now)
    # Two reads per department and run (the markers, the active applications), then
    # only what is due, by primary key.
    markers: dict[int, list[int]] = {}
    fresh: set[int] = set()
    for marker_id, application_id, at in await ApplicationEvent.filter(
        kind=RECHECK, application__department_id=department.id
    ).values_list("id", "application_id", "created_at"):
        markers.setdefault(application_id, []).append(marker_id)
        if at >= since:
            fresh.add(application_id)
    active = await flat_ints(
        Application.filter(
            department_id=department.id,
            state__in=[s.value for s in RECHECK_STATES],
            registered_at__lt=since,  # the registration asked the registry that day
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    due = [application_id for application_id in active if application_id not in fresh][:limit]
    for start in range(0, len(due), RECHECK_CHUNK):
        chunk = due[start : start + RECHECK_CHUNK]
        rows = (
            await Application.filter(id__in=chunk, state__in=[s.value for s in RECHECK_STATES])
            .order_by("id")
            .values("id", "applicant_iin", "child_iin")
        )
        people = await _ask(iin for row in rows for iin in (row["applicant_iin"], row["child_iin"]))
        claims: dict[int, list[dict[str, Any]]] = {}
        for claim in await BenefitClaim.filter(application_id__in=chunk, source=Evidence.REGISTRY.value).values(
            "application_id", "status", "decided_by", "category__code"
        ):
            claims.setdefault(claim["application_id"], []).append(claim)
        marked = []
        for row in rows:
            applicant, child = people.get(row["applicant_iin"]), people.get(row["child_iin"])
            if applicant is None or child is None:
                # The registry no longer knows one of them: nothing is decided on that.
                marked.append(
                    ApplicationEvent(
                        application_id=row["id"], kind=RECHECK, actor=ACTOR, data={"unknown": True}, created_at=now
                    )
                )
                continue
            shown = sorted(set(child.get("benefits", [])) | set(applicant.get("benefits", [])))
            shown = [code for code in shown if code in categories]
            gained, lost = _difference(shown, claims.get(row["id"], []))
            if gained or lost:
                found, gone = await _reconcile(row["id"], shown, categories, now)
                report.gained += found
                report.lost += gone
            marked.append(
                ApplicationEvent(
                    application_id=row["id"], kind=RECHECK, actor=ACTOR, data={"registry": shown}, created_at=now
                )
            )
        replaced = [marker_id for row in rows for marker_id in markers.get(row["id"], [])]
        async with in_transaction():
            if replaced:
                await ApplicationEvent.filter(id__in=replaced).delete()
            await ApplicationEvent.bulk_create(marked)
        report.checked += len(rows)


async def _ask(iins: Iterable[str | None]) -> dict[str, dict[str, Any] | None]:
    """The registry's answer for each person (None: unknown to it), a few requests at a
    time; RegistryDown when any request fails."""
    wanted = sorted({iin for iin in iins if iin})
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(iin: str) -> tuple[str, dict[str, Any] | None]:
        async with gate:
            try:
                return iin, await registry.lookup(iin, "iin")
            except DomainError as exc:
                if exc.code == "iin.unknown":
                    return iin, None
                raise

    answers = await asyncio.gather(*(one(iin) for iin in wanted), return_exceptions=True)
    found: dict[str, dict[str, Any] | None] = {}
    for answer in answers:
        if isinstance(answer, BaseException):
            raise RegistryDown(f"{type(answer).__name__}: {answer}") from answer
        found[answer[0]] = answer[1]
    return found


def _difference(shown: list[str], claims: Iterable[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The registry-backed benefits to add and to withdraw. A benefit a person withdrew
    (the parent or staff, R15) is not added back: their decision stands until they
    change it; one the re-check itself withdrew comes back when the registry shows it."""
    standing = {c["category__code"] for c in claims if c["status"] in STANDING}
    refused = {
        c["category__code"]
        for c in claims
        if c["status"] in (ClaimStatus.WITHDRAWN, ClaimStatus.REJECTED) and c["decided_by"] != ACTOR
    }
    return set(shown) - standing - refused, standing - set(shown)


async def _reconcile(
    application_id: int, shown: list[str], categories: dict[str, BenefitCategory], now: datetime
) -> tuple[int, int]:
    """One application's registry-backed claims brought in line with the registry,
    under its row lock: claims added or withdrawn with the reason, events, the class
    re-applied, the parent told. Returns how many were found and how many went."""
    async with in_transaction():
        application = await Application.select_for_update().get_or_none(id=application_id)
        if application is None or State(application.state) not in RECHECK_STATES:
            return 0, 0
        claims = await BenefitClaim.filter(application=application, source=Evidence.REGISTRY.value).prefetch_related(
            "category"
        )
        gained, lost = _difference(
            shown,
            [{"category__code": c.category.code, "status": c.status, "decided_by": c.decided_by} for c in claims],
        )
        if not gained and not lost:  # someone else brought them in line first
            return 0, 0
        for code in sorted(gained):
            claim = await BenefitClaim.create(
                application=application,
                category=categories[code],
                source=Evidence.REGISTRY.value,
                status=ClaimStatus.CONFIRMED.value,
                reason=GAINED_REASON,
                decided_by=benefits.REGISTRY_ACTOR,
                decided_at=now,
            )
            await events.record_event(
                application, "benefit_confirmed", ACTOR, reason=GAINED_REASON, data={"category": code}
            )
            await notifications.queue_for_application(
                application, "benefit_confirmed", str(claim.id), number=application.registration_number
            )
        for claim in claims:
            if claim.category.code not in lost or claim.status not in STANDING:
                continue
            claim.status, claim.reason = ClaimStatus.WITHDRAWN.value, LOST_REASON
            claim.decided_by, claim.decided_at = ACTOR, now
            await claim.save()
            await events.record_event(
                application, "benefit_withdrawn", ACTOR, reason=LOST_REASON, data={"category": claim.category.code}
            )
            await notifications.queue_for_application(
                application, "benefit_lost", str(claim.id), number=application.registration_number
            )
        moved = await benefits.apply_benefit_class(application, ACTOR, "registry re-check (R17)")
        application.version += 1
        await application.save()
    if moved:
        await queue.request_refresh_for(application)
    await notifications.deliver_soon(application.id)
    return len(gained), len(lost)
