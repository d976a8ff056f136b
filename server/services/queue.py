"""The queue engine (R19–R24): stored queue numbers, refreshed per cohort.

Whatever moves a cohort's order (a registration, a benefit confirmed or removed, a
suspension, a restore, a withdrawal, a place taken) calls `note_change` in its own
transaction and `request_refresh` after commit. The refresh job takes the cohort's
row lock, orders the cohort with `server.domain.ordering`, writes the numbers that
changed to `queue_entry`, records why each number changed (`queue_change`, R24),
sends the "registered" message of newly registered applications (R12) and the
"queue_moved" message of numbers that moved by more than the department's
`notify_queue_change_over` places (R34), and deletes the changes it reflected. Refreshes of one cohort are coalesced: the job id is the cohort's,
so a burst of changes queues one job, and a running job loops until none are left.
A change whose job was lost (Redis away, a worker killed) is found by the sweeper.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from server.db import as_datetime, raw_sql
from server.domain.explain import COUNTED_STATES, TRANSITION_KINDS, ChangeKind, Moved, explain
from server.domain.ordering import BenefitClass, Entry, Rule, standings
from server.domain.states import State, Transition
from server.models import Application, CohortChange, Department, QueueCohort
from server.services import jobs, notifications

log = logging.getLogger("kezek.queue")

# Loops of one refresh job before it leaves the rest to the next job (bounded work).
MAX_ROUNDS = 20


# --- recording changes (inside the caller's transaction) ----------------------------


async def note_change(application: Application, kind: ChangeKind) -> bool:
    """Marks the application's cohort due a refresh; False when it is in no queue yet."""
    if application.registered_at is None or application.cohort is None:
        return False
    await CohortChange.create(
        department_id=application.department_id,
        cohort=application.cohort,
        application_id=application.id,
        kind=kind.value,
    )
    return True


async def note_transition(application: Application, move: Transition) -> bool:
    kind = TRANSITION_KINDS[move]
    return kind is not None and await note_change(application, kind)


async def request_refresh(department_id: int, cohort: int) -> None:
    """After commit: queue the cohort's refresh (one job per cohort at a time)."""
    await jobs.enqueue("refresh_queue", department_id, cohort, job_id=jobs.queue_job_id(department_id, cohort))


async def request_refresh_for(application: Application) -> None:
    """After commit: the refresh of the application's cohort (it has none before the
    child is known)."""
    if application.cohort is not None:
        await request_refresh(application.department_id, application.cohort)


async def due_cohorts(older_than: datetime | None = None) -> list[tuple[int, int]]:
    """Cohorts with changes not yet reflected (for the sweeper)."""
    query = CohortChange.all()
    if older_than is not None:
        query = query.filter(created_at__lt=older_than)
    rows = await query.distinct().values_list("department_id", "cohort")
    return sorted({(int(d), int(c)) for d, c in rows})


# --- reading the order ------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """An application waiting for a place, at its queue number (twins share a batch)."""

    application_id: int
    number: int
    batch: int | None


async def waiting(department_id: int, cohort: int, *, after: int = 0, limit: int = 2000) -> list[Waiting]:
    """The cohort's applications that may be offered a place, in queue order, from queue
    number `after` on: numbered, queued (not suspended, not already offered)."""
    async with in_transaction() as conn:
        _, rows = await conn.execute_query(
            raw_sql(
                conn,
                "SELECT e.application_id, e.number, a.batch_id FROM queue_entry e "
                "JOIN application a ON a.id = e.application_id "
                "WHERE e.department_id = $1 AND e.cohort = $2 AND e.number > $3 AND a.state = $4 "
                "ORDER BY e.number LIMIT $5",
            ),
            [department_id, cohort, after, State.QUEUED.value, limit],
        )
    return [Waiting(int(r[0]), int(r[1]), r[2]) for r in rows]


async def lock_cohort(department_id: int, cohort: int) -> QueueCohort:
    """Inside a transaction: the cohort's row lock, which refreshes and allocation runs
    of the cohort take in turn."""
    await _ensure_cohort_row(department_id, cohort)
    return await QueueCohort.select_for_update().get(department_id=department_id, cohort=cohort)


# --- the refresh ----------------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    department_id: int
    cohort: int
    changes: int  # cohort changes reflected
    counted: int  # applications with a number after the refresh
    written: int  # queue entries inserted or updated
    removed: int  # queue entries deleted
    explained: int  # queue_change rows written
    seconds: float


async def refresh(department_id: int, cohort: int) -> Refreshed:
    """Refreshes one cohort's stored numbers; idempotent (nothing changed: nothing written)."""
    started = datetime.now(UTC)
    await _ensure_cohort_row(department_id, cohort)
    sent: list[int] = []
    async with in_transaction() as conn:
        postgres = conn.capabilities.dialect == "postgres"
        row = await QueueCohort.select_for_update().get(department_id=department_id, cohort=cohort)
        department = await Department.get(id=department_id)
        changes = (
            await CohortChange.filter(department_id=department_id, cohort=cohort)
            .order_by("id")
            .values("id", "application_id", "kind")
        )
        sql = lambda text: raw_sql(conn, text)  # noqa: E731
        _, rows = await conn.execute_query(
            sql(
                "SELECT id, benefit_class, registered_at, state, batch_id FROM application "
                "WHERE department_id = $1 AND cohort = $2 AND state IN ($3, $4) AND registered_at IS NOT NULL"
            ),
            [department_id, cohort, *COUNTED_STATES],
        )
        _, old_rows = await conn.execute_query(
            sql(
                "SELECT application_id, number, ahead_extraordinary, ahead_priority, ahead_general "
                "FROM queue_entry WHERE department_id = $1 AND cohort = $2"
            ),
            [department_id, cohort],
        )
        entries = [
            Entry(
                key=r[0],
                benefit_class=BenefitClass(r[1]),
                registered_at=as_datetime(r[2]),
                suspended=r[3] == State.SUSPENDED.value,
                batch=r[4],
            )
            for r in rows
        ]
        classes = {e.key: e.benefit_class for e in entries}
        new = standings(entries, Rule(department.priority_ratio, department.priority_slot))
        old = {r[0]: (r[1], r[2], r[3], r[4]) for r in old_rows}
        written = [
            (key, s.number, s.ahead_extraordinary, s.ahead_priority, s.ahead_general)
            for key, s in new.items()
            if old.get(key) != (s.number, s.ahead_extraordinary, s.ahead_priority, s.ahead_general)
        ]
        removed = [key for key in old if key not in new]

        old_numbers = {key: values[0] for key, values in old.items()}
        new_numbers = {key: s.number for key, s in new.items()}
        moved = _moved(changes, entries, classes, old_numbers, new_numbers)
        reasons = explain(old_numbers, new_numbers, moved)

        now = datetime.now(UTC)
        await _write_entries(conn, postgres, department_id, cohort, written, now)
        if removed:
            await _delete_entries(conn, postgres, removed)
        texts: dict[tuple, str] = {}  # a shift moves thousands for the same reasons: encode each once
        await _write_explanations(
            conn,
            postgres,
            [(key, old_numbers[key], new_numbers[key], _encoded(why, texts)) for key, why in sorted(reasons.items())],
            now,
        )

        far = department.notify_queue_change_over
        sent.extend(
            await _announce_moves(
                [(key, new_numbers[key]) for key in sorted(reasons) if abs(new_numbers[key] - old_numbers[key]) > far],
                row.refreshes + 1,
            )
        )
        for change in changes:
            if change["kind"] == ChangeKind.REGISTERED.value and change["application_id"] in new_numbers:
                sent.extend(
                    await _announce_registration(change["application_id"], new_numbers[change["application_id"]])
                )
        if changes:
            await CohortChange.filter(id__in=[c["id"] for c in changes]).delete()

        counts = dict.fromkeys(BenefitClass, 0)
        for entry in entries:
            if not entry.suspended:
                counts[entry.benefit_class] += 1
        row.extraordinary = counts[BenefitClass.EXTRAORDINARY]
        row.priority = counts[BenefitClass.PRIORITY]
        row.general = counts[BenefitClass.GENERAL]
        row.suspended = sum(e.suspended for e in entries)
        row.refreshes += 1
        row.refreshed_at = now
        await row.save()
    await jobs.enqueue_many("deliver_notification", sent, jobs.deliver_job_id)
    seconds = (datetime.now(UTC) - started).total_seconds()
    if written or removed or changes:
        log.info(
            "refreshed cohort %s/%s: %s changes, %s numbers written, %s removed, %s explained in %.3f s",
            department_id,
            cohort,
            len(changes),
            len(written),
            len(removed),
            len(reasons),
            seconds,
        )
    return Refreshed(department_id, cohort, len(changes), len(new), len(written), len(removed), len(reasons), seconds)


async def refresh_until_settled(department_id: int, cohort: int) -> list[Refreshed]:
    """The job's body: refresh while changes keep arriving (they were coalesced into
    this job because its id was taken), at most MAX_ROUNDS times."""
    done = [await refresh(department_id, cohort)]
    while len(done) < MAX_ROUNDS and await CohortChange.filter(department_id=department_id, cohort=cohort).exists():
        done.append(await refresh(department_id, cohort))
    return done


async def refresh_all() -> list[Refreshed]:
    """Every cohort that has registered applications or pending changes (the full
    recompute: `kezek queue-refresh`)."""
    pairs = set(await due_cohorts())
    rows = (
        await Application.filter(registered_at__not_isnull=True, cohort__not_isnull=True)
        .distinct()
        .values_list("department_id", "cohort")
    )
    pairs.update((int(d), int(c)) for d, c in rows)
    return [await refresh(d, c) for d, c in sorted(pairs)]


def _moved(
    changes: Sequence[dict[str, Any]],
    entries: Iterable[Entry],
    classes: dict[int, BenefitClass],
    old_numbers: dict[int, int],
    new_numbers: dict[int, int],
) -> dict[int, Moved]:
    """The changed applications, with their twins (a twin moves with its batch)."""
    batch_of = {e.key: e.batch for e in entries if e.batch is not None}
    members: dict[int, list[int]] = {}
    for key, batch in batch_of.items():
        members.setdefault(batch, []).append(key)
    moved: dict[int, Moved] = {}
    for change in changes:
        key = change["application_id"]
        if key is None:
            continue
        kind = ChangeKind(change["kind"])
        affected = [key] + [m for m in members.get(batch_of.get(key, -1), []) if m != key]
        for member in affected:
            standing = classes.get(member, BenefitClass.GENERAL).value
            moved[member] = Moved(kind, old_numbers.get(member), new_numbers.get(member), standing)
    return moved


def _encoded(reasons: dict[str, int], cache: dict[tuple, str]) -> str:
    key = tuple(sorted(reasons.items()))
    if key not in cache:
        cache[key] = json.dumps(dict(key), separators=(",", ":"))
    return cache[key]


async def _ensure_cohort_row(department_id: int, cohort: int) -> None:
    if await QueueCohort.filter(department_id=department_id, cohort=cohort).exists():
        return
    try:
        async with in_transaction():
            await QueueCohort.create(department_id=department_id, cohort=cohort)
    except IntegrityError:
        pass  # created by a parallel refresh


async def _write_entries(
    conn: Any, postgres: bool, department_id: int, cohort: int, rows: list[tuple], now: datetime
) -> None:
    if not rows:
        return
    if postgres:
        ids, numbers, extra, prio, gen = (list(column) for column in zip(*rows, strict=False))
        await conn.execute_query(
            "INSERT INTO queue_entry (application_id, department_id, cohort, number, ahead_extraordinary, "
            "ahead_priority, ahead_general, updated_at) "
            "SELECT t.a, $2, $3, t.n, t.e, t.p, t.g, $4 "
            "FROM unnest($1::int[], $5::int[], $6::int[], $7::int[], $8::int[]) AS t(a, n, e, p, g) "
            "ON CONFLICT (application_id) DO UPDATE SET number = EXCLUDED.number, "
            "ahead_extraordinary = EXCLUDED.ahead_extraordinary, ahead_priority = EXCLUDED.ahead_priority, "
            "ahead_general = EXCLUDED.ahead_general, updated_at = EXCLUDED.updated_at, "
            "department_id = EXCLUDED.department_id, cohort = EXCLUDED.cohort",
            [ids, department_id, cohort, now, numbers, extra, prio, gen],
        )
        return
    await conn.execute_many(
        "INSERT INTO queue_entry (application_id, department_id, cohort, number, ahead_extraordinary, "
        "ahead_priority, ahead_general, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (application_id) DO UPDATE SET number = excluded.number, "
        "ahead_extraordinary = excluded.ahead_extraordinary, ahead_priority = excluded.ahead_priority, "
        "ahead_general = excluded.ahead_general, updated_at = excluded.updated_at, "
        "department_id = excluded.department_id, cohort = excluded.cohort",
        [[key, department_id, cohort, n, e, p, g, now] for key, n, e, p, g in rows],
    )


async def _delete_entries(conn: Any, postgres: bool, ids: list[int]) -> None:
    if postgres:
        await conn.execute_query("DELETE FROM queue_entry WHERE application_id = ANY($1::int[])", [ids])
    else:
        await conn.execute_many("DELETE FROM queue_entry WHERE application_id = ?", [[i] for i in ids])


async def _write_explanations(conn: Any, postgres: bool, rows: list[tuple[int, int, int, str]], now: datetime) -> None:
    if not rows:
        return
    if postgres:
        ids, olds, news, reasons = (list(column) for column in zip(*rows, strict=False))
        await conn.execute_query(
            "INSERT INTO queue_change (application_id, old_number, new_number, reasons, created_at) "
            "SELECT t.a, t.o, t.n, t.r::jsonb, $5 FROM unnest($1::int[], $2::int[], $3::int[], $4::text[]) AS t(a, o, n, r)",
            [ids, olds, news, reasons, now],
        )
        return
    await conn.execute_many(
        "INSERT INTO queue_change (application_id, old_number, new_number, reasons, created_at) VALUES (?, ?, ?, ?, ?)",
        [[a, o, n, r, now] for a, o, n, r in rows],
    )


async def _announce_moves(moves: list[tuple[int, int]], refresh: int, chunk: int = 1000) -> list[int]:
    """R34: "your queue number changed by more than [10] places", once per change (keyed
    by the application and the cohort's refresh count), in bulk: a shift can move
    thousands at once."""
    sent: list[int] = []
    for start in range(0, len(moves), chunk):
        part = moves[start : start + chunk]
        ids = [key for key, _ in part]
        numbers = dict(await Application.filter(id__in=ids).values_list("id", "registration_number"))
        sent += await notifications.queue_for_many(
            ids,
            "queue_moved",
            {key: (f"{key}:{refresh}", {"number": numbers.get(key), "queue": number}) for key, number in part},
        )
    return sent


async def _announce_registration(application_id: int, queue_number: int) -> list[int]:
    """R12: the registered message, with both numbers, once (keyed by the application)."""
    application = await Application.get(id=application_id)
    rows = await notifications.queue_for_application(
        application,
        "registered",
        str(application.id),
        number=application.registration_number,
        queue=queue_number,
    )
    return [row.id for row in rows]
