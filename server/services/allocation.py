"""Allocation runs (R26, R27, R21): open seats offered down the queue by serial choice.

A run locks the cohort's row (the lock queue refreshes take too, so numbers do not move
under it), reads the waiting children through the queue service page by page, lets
`server.domain.allocation` choose, and writes one referral per offer. Runs of one
department and cohort are coalesced: the job id is the cohort's, `allocation_due` rows
say a run is wanted, and a running job loops while new ones arrive. The unique
`referral.open_application` and `referral.open_seat` make a double offer impossible
even for runs that somehow overlap: the second one's transaction fails and changes
nothing. `plan` is the dry run: the same choice, nothing written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import uuid4

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from server.domain import allocation as rules
from server.domain.deadlines import local_date, working_deadline
from server.domain.explain import ChangeKind
from server.domain.ordering import BenefitClass
from server.domain.places import SeatState
from server.domain.states import State, Transition
from server.models import (
    AllocationDue,
    Application,
    ApplicationEvent,
    BenefitClaim,
    CohortChange,
    Department,
    Group,
    Preference,
    Referral,
    Seat,
)
from server.services import jobs, notifications, queue

log = logging.getLogger("kezek.allocation")

ACTOR = "system:allocation"
PAGE = 5000  # waiting children read per page
MAX_ROUNDS = 10
# Cohort changes that only take a child out of the queue's numbers.
DEPARTURES = [k.value for k in (ChangeKind.OFFERED, ChangeKind.SUSPENDED, ChangeKind.WITHDRAWN, ChangeKind.CLOSED)]


@dataclass(frozen=True)
class Vacancies:
    """The open seats of a cohort as the domain sees them, and the seats behind each."""

    vacancies: list[rules.Vacancy]
    seats: dict[int, list[int]]  # vacancy key → seat ids, oldest first
    groups: dict[int, Group]  # vacancy key → group


@dataclass(frozen=True)
class Planned:
    """One offer of a run: who, which seat, at which queue number."""

    application_id: int
    seat_id: int | None  # None in a dry run's hypothetical seats
    group: Group
    offer: rules.Offer
    queue_number: int


@dataclass
class Run:
    department_id: int
    cohort: int
    offered: list[Planned] = field(default_factory=list)
    examined: int = 0  # waiting children read
    seconds: float = 0.0


# --- reading --------------------------------------------------------------------------


async def vacancies(
    department: Department, cohort: int, today: date, extra: Iterable[tuple[Group, int]] = ()
) -> Vacancies:
    """The cohort's open seats by group and window (R27), plus `extra` hypothetical ones
    (the dry run's "if these were published now")."""
    seats = (
        await Seat.filter(
            department_id=department.id,
            cohort=cohort,
            state=SeatState.OPEN.value,
            group__active=True,
            group__kindergarten__active=True,
        )
        .order_by("published_at", "id")
        .values("id", "group_id", "chosen_until")
    )
    group_ids = {s["group_id"] for s in seats} | {g.id for g, _ in extra}
    groups = {g.id: g for g in await Group.filter(id__in=group_ids).prefetch_related("kindergarten")}
    keys: dict[tuple[int, rules.Window], int] = {}
    by_key: dict[int, list[int]] = {}
    counts: dict[int, int] = {}

    def key_for(group_id: int, window: rules.Window) -> int:
        if (group_id, window) not in keys:
            keys[(group_id, window)] = len(keys) + 1
            by_key[keys[(group_id, window)]] = []
            counts[keys[(group_id, window)]] = 0
        return keys[(group_id, window)]

    for seat in seats:
        chosen_until = seat["chosen_until"]
        if isinstance(chosen_until, str):
            chosen_until = date.fromisoformat(chosen_until)
        window = rules.Window.CHOSEN if today <= chosen_until else rules.Window.OPEN
        k = key_for(seat["group_id"], window)
        by_key[k].append(seat["id"])
        counts[k] += 1
    for group, count in extra:
        counts[key_for(group.id, rules.Window.CHOSEN)] += max(0, count)
    result = [
        rules.Vacancy(k, groups[g].kindergarten.code, groups[g].language, counts[k], window)
        for (g, window), k in keys.items()
    ]
    return Vacancies(result, by_key, {k: groups[g] for (g, _), k in keys.items()})


async def children(waiting: Sequence[queue.Waiting]) -> list[rules.Child]:
    """The domain's view of waiting applications: language, ranked choices, twins."""
    ids = [w.application_id for w in waiting]
    if not ids:
        return []
    details: dict[int, tuple[str, bool, tuple[str, ...]]] = {}
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # One statement per page: the page's languages and ranked choices together.
            rows = await conn.execute_query_dict(
                "SELECT a.id, a.group_language, a.any_kindergarten, "
                "array_remove(array_agg(k.code ORDER BY p.rank), NULL) AS choices "
                "FROM application a LEFT JOIN preference p ON p.application_id = a.id "
                "LEFT JOIN kindergarten k ON k.id = p.kindergarten_id "
                "WHERE a.id = ANY($1::int[]) GROUP BY a.id",
                [ids],
            )
            details = {
                r["id"]: (r["group_language"] or "", bool(r["any_kindergarten"]), tuple(r["choices"] or ()))
                for r in rows
            }
        else:
            choices: dict[int, list[tuple[int, str]]] = {}
            for pref in await Preference.filter(application_id__in=ids).values(
                "application_id", "rank", "kindergarten__code"
            ):
                choices.setdefault(pref["application_id"], []).append((pref["rank"], pref["kindergarten__code"]))
            for row in await Application.filter(id__in=ids).values("id", "group_language", "any_kindergarten"):
                ranked = tuple(code for _, code in sorted(choices.get(row["id"], [])))
                details[row["id"]] = (row["group_language"] or "", bool(row["any_kindergarten"]), ranked)
    result = []
    for w in waiting:
        if w.application_id in details:
            language, any_kindergarten, ranked = details[w.application_id]
            result.append(rules.Child(w.application_id, language, ranked, any_kindergarten, w.batch))
    return result


async def _choose(department: Department, cohort: int, offered: Vacancies) -> tuple[list[Planned], int]:
    """Serial choice over the waiting children, read page by page until every seat is
    taken or the queue ends. Returns the offers and how many children were read."""
    allocator = rules.Allocator(offered.vacancies)
    planned: list[Planned] = []
    numbers: dict[int, int] = {}
    seats = {k: list(v) for k, v in offered.seats.items()}
    after, examined = 0, 0
    held: list[rules.Child] = []  # a batch of twins that may go on in the next page
    while not allocator.exhausted:
        page = await queue.waiting(department.id, cohort, after=after, limit=PAGE)
        # The queue number now: the place among the waiting children. It equals the
        # stored number after a refresh, and stays exact when the changes not yet
        # refreshed only took children out of the queue (see `run`).
        numbers.update((w.application_id, examined + i) for i, w in enumerate(page, start=1))
        examined += len(page)
        pending = held + await children(page)
        last_page = len(page) < PAGE
        turns = list(rules.turns(pending))
        held = []
        if turns and not last_page and turns[-1][0].batch is not None:
            held = list(turns.pop())
        for turn in turns:
            if allocator.exhausted:
                break
            for offer in allocator.take(turn):
                pool = seats.get(offer.group) or []
                seat_id = pool.pop(0) if pool else None
                planned.append(Planned(offer.key, seat_id, offered.groups[offer.group], offer, numbers[offer.key]))
        if last_page:
            break
        after = page[-1].number
    return planned, examined


async def plan(department_id: int, cohort: int, extra: Iterable[tuple[Group, int]] = ()) -> list[Planned]:
    """The dry run: who would be offered the cohort's open seats (and `extra` seats as
    if published now) if the allocation ran now. Writes nothing."""
    department = await Department.get(id=department_id)
    today = local_date(datetime.now(UTC), department.timezone)
    planned, _ = await _choose(department, cohort, await vacancies(department, cohort, today, list(extra)))
    return planned


# --- requesting a run -----------------------------------------------------------------


async def note_due(department_id: int, cohort: int) -> None:
    """In the transaction of a change that opened seats: the cohort wants a run."""
    await AllocationDue.create(department_id=department_id, cohort=cohort)


async def request_run(department_id: int, cohort: int) -> None:
    """After commit: queue the cohort's run (one job per cohort at a time)."""
    await jobs.enqueue("allocate", department_id, cohort, job_id=jobs.allocation_job_id(department_id, cohort))


async def due_cohorts(*, with_open_seats: bool = False) -> list[tuple[int, int]]:
    """Cohorts with a run wanted (for the sweeper, which re-requests lost jobs), and with
    `with_open_seats` also those with seats still open (for the hourly cron: a seat whose
    priority window ended may now go to a child who did not list it, R27)."""
    pairs = set(await AllocationDue.all().distinct().values_list("department_id", "cohort"))
    if with_open_seats:
        pairs |= set(await Seat.filter(state=SeatState.OPEN.value).distinct().values_list("department_id", "cohort"))
    return sorted({(int(d), int(c)) for d, c in pairs})


# --- the run --------------------------------------------------------------------------


async def run(department_id: int, cohort: int) -> Run:
    """One allocation run of a cohort: offers written in one transaction, or none."""
    started = datetime.now(UTC)
    result = Run(department_id, cohort)
    # The order read must be current. Changes that only took children out of the queue
    # (an offer, a suspension, a withdrawal) leave the others' order as it is, and the
    # waiting children are counted afresh, so only other changes need the refresh first.
    if await CohortChange.filter(department_id=department_id, cohort=cohort).exclude(kind__in=DEPARTURES).exists():
        await queue.refresh_until_settled(department_id, cohort)
    sent: list[int] = []
    async with in_transaction():
        await queue.lock_cohort(department_id, cohort)
        due = await AllocationDue.filter(department_id=department_id, cohort=cohort).values_list("id", flat=True)
        department = await Department.get(id=department_id)
        now = datetime.now(UTC)
        today = local_date(now, department.timezone)
        planned, result.examined = await _choose(department, cohort, await vacancies(department, cohort, today))
        if planned:
            sent = await _write(department, cohort, [p for p in planned if p.seat_id is not None], now, today)
            result.offered = planned
        if due:
            await AllocationDue.filter(id__in=list(due)).delete()
    if result.offered:
        await queue.request_refresh(department_id, cohort)
        await jobs.enqueue_many("deliver_notification", sent, jobs.deliver_job_id)
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    if result.offered:
        log.info(
            "allocation %s/%s: %s offers, %s children read, in %.3f s",
            department_id,
            cohort,
            len(result.offered),
            result.examined,
            result.seconds,
        )
    return result


async def run_until_settled(department_id: int, cohort: int) -> list[Run]:
    """The job's body: run while new requests arrive, at most MAX_ROUNDS times. A run
    that lost a race on the unique keys (nothing written) is simply run again."""
    runs: list[Run] = []
    while len(runs) < MAX_ROUNDS:
        try:
            runs.append(await run(department_id, cohort))
        except IntegrityError:
            log.warning("allocation %s/%s met a concurrent run; running again", department_id, cohort)
            runs.append(Run(department_id, cohort))
            continue
        if not await AllocationDue.filter(department_id=department_id, cohort=cohort).exists():
            break
    return runs


async def _write(department: Department, cohort: int, planned: list[Planned], now: datetime, today: date) -> list[int]:
    """The offers as referrals, seats held, applications offered (R33 events), cohort
    changes for the refresh, messages (R34). Returns the notification ids to deliver."""
    ids = [p.application_id for p in planned]
    # Lock what is written; a row that changed since it was read is left for the next run.
    queued = set(
        await Application.select_for_update().filter(id__in=ids, state=State.QUEUED.value).values_list("id", flat=True)
    )
    seat_ids = [p.seat_id for p in planned if p.seat_id is not None]
    vacant = set(
        await Seat.select_for_update().filter(id__in=seat_ids, state=SeatState.OPEN.value).values_list("id", flat=True)
    )
    planned = [p for p in planned if p.application_id in queued and p.seat_id in vacant]
    if not planned:
        return []
    ids = [p.application_id for p in planned]
    classes = dict(await Application.filter(id__in=ids).values_list("id", "benefit_class"))
    marked = set(
        await BenefitClaim.filter(
            application_id__in=ids, status="confirmed", category__marks_referral=True
        ).values_list("application_id", flat=True)
    )
    accept_by = working_deadline(today, department.offer_working_days)
    confirm_by = working_deadline(today, department.extraordinary_confirm_working_days)
    referrals = []
    for p in planned:
        extraordinary = classes[p.application_id] == BenefitClass.EXTRAORDINARY.value
        referrals.append(
            Referral(
                public_id=uuid4(),
                application_id=p.application_id,
                seat_id=p.seat_id,
                group_id=p.group.id,
                kindergarten_id=p.group.kindergarten_id,
                department_id=department.id,
                cohort=cohort,
                window=p.offer.window.value,
                rank=p.offer.rank,
                queue_number=p.queue_number,
                benefit_class=classes[p.application_id],
                staff_child=p.application_id in marked,
                offered_at=now,
                accept_by=accept_by,
                confirm_by=confirm_by if extraordinary else None,
                explanation=explanation(p, cohort),
                open_application=p.application_id,
                open_seat=p.seat_id,
            )
        )
    await Referral.bulk_create(referrals)
    await Seat.filter(id__in=[p.seat_id for p in planned]).update(state=SeatState.OFFERED.value)
    await Application.filter(id__in=ids).update(state=State.OFFERED.value, version=F("version") + 1)
    await ApplicationEvent.bulk_create(
        [
            ApplicationEvent(
                application_id=r.application_id,
                kind=Transition.OFFER.value,
                from_state=State.QUEUED.value,
                to_state=State.OFFERED.value,
                actor=ACTOR,
                data={"referral": str(r.public_id), "kindergarten": p.group.kindergarten.code, "group": p.group.name},
            )
            for r, p in zip(referrals, planned, strict=True)
        ]
    )
    await CohortChange.bulk_create(
        [
            CohortChange(department_id=department.id, cohort=cohort, application_id=i, kind=ChangeKind.OFFERED.value)
            for i in ids
        ]
    )
    rows = await notifications.queue_for_many(
        ids,
        "offered",
        {
            r.application_id: (
                str(r.public_id),
                {"kindergarten": p.group.kindergarten.code, "deadline": accept_by.strftime("%d.%m.%Y")},
            )
            for r, p in zip(referrals, planned, strict=True)
        },
    )
    return rows


def explanation(planned: Planned, cohort: int) -> dict[str, object]:
    """Why this child got this seat, as data the pages put into words: the first child
    of the cohort's queue, at this number, who could take it by serial choice."""
    return {
        "cohort": cohort,
        "queue_number": planned.queue_number,
        "kindergarten": planned.group.kindergarten.code,
        "group": planned.group.name,
        "language": planned.group.language,
        "rank": planned.offer.rank,
        "window": planned.offer.window.value,
    }
