"""The `kezek` command: migrate, seed, run (web + worker), web, worker, token."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.config import Settings, load_settings
from server.domain.roles import ROLES

T = TypeVar("T")


def _migrate() -> None:
    from server.db import migrate

    asyncio.run(migrate(load_settings()))
    print("database migrated")


async def _with_runtime(coro_factory: Callable[[], Awaitable[T]]) -> T:
    from server import runtime
    from server.db import close_db, init_db
    from server.gateways import build_gateways
    from server.redis import connect

    settings = load_settings()
    await init_db(settings)
    redis = await connect(settings)
    runtime.install(runtime.Runtime(settings, build_gateways(settings), redis))
    try:
        return await coro_factory()
    finally:
        await redis.aclose()
        await close_db()


def _seed(reference_only: bool = False) -> None:
    from server.services.seed import seed_demo, seed_reference_data

    if reference_only:
        asyncio.run(_with_runtime(seed_reference_data))
        print("benefit categories seeded")
        return
    count = asyncio.run(_with_runtime(seed_demo))
    print(f"demo data seeded ({count} new queued applications)")


def _token(name: str, scopes: list[str], department: str | None) -> None:
    from server.auth import tokens
    from server.models import Department

    async def issue() -> str:
        department_id = None
        if department:
            department_id = (await Department.get(code=department.upper())).id
        return await tokens.issue(name, scopes, department_id)

    token = asyncio.run(_with_runtime(issue))
    print(token)


def _web() -> None:
    import uvicorn

    from server.app import create_app
    from server.logging import setup_logging
    from server.web import NoDelayH11Protocol

    settings = load_settings()
    setup_logging(settings)
    if settings.web_workers > 1:
        # Several processes: uvicorn imports the app factory in each of them.
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            workers=settings.web_workers,
            http=NoDelayH11Protocol,
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            log_config=None,
        )
        return
    uvicorn.run(
        create_app(settings),
        http=NoDelayH11Protocol,
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        log_config=None,
    )


def _worker() -> None:
    from jobs.worker import main

    main()


DEMO_LINES = [
    ("aigerim", "dana", "the plain case: a mother and her daughter"),
    ("gulnara", "yerasyl", "a large family: a priority benefit found in the registry"),
    ("marat", "alikhan", "twins (the other twin: {aruzhan})"),
    ("ainur", "kamila", "a teacher: claim TEACHER_PARENT with a PDF or photo"),
    ("erlan", "dias", "a child too old for the queue"),
    ("asel", "adil", "a child already in the Astana queue"),
    ("yerzhan", "dana", "not the child's parent: refused"),
]


def _print_demo(settings: Settings) -> None:
    from server.demo_data import BY_KEY

    print()
    print(f"  Kezek is running at {settings.base_url}")
    print(f"  One-time passwords and messages: {settings.base_url}/dev/outbox")
    print()
    print(
        "  Demo IINs (applicant → child: what it shows). Any two Kazakhstan mobile numbers work, e.g. +7 701 111 2233 and +7 707 444 5566."
    )
    for parent, child, what in DEMO_LINES:
        note = what.format(**{key: person.iin for key, person in BY_KEY.items()})
        print(f"    {BY_KEY[parent].iin} → {BY_KEY[child].iin}  {note}")
    print()
    print(f"  A child's place in the queue, without logging in: {settings.base_url}/queue")
    print(
        f"    {BY_KEY['adil'].iin}  queued in Astana; a priority application registered after it moved it back, and the page says why"
    )
    print(f"  The parent's cabinet: {settings.base_url}/cabinet  ({BY_KEY['asel'].iin} with +7 701 555 0000)")
    print(
        f"  The staff back-office: {settings.base_url}/staff  (first: .venv/bin/kezek staff create NAME --role operator --department AST)"
    )
    print()
    _print_places_demo(settings)


def _print_places_demo(settings: Settings) -> None:
    """What `make run` says about seats and referrals (issue 9): the demo accounts and a
    walk from two published seats to an enrolment, an expiry and a restore."""
    from datetime import UTC, datetime, timedelta

    from server.demo_data import BY_KEY, DEMO_PASSWORD, DEMO_STAFF
    from server.domain.deadlines import local_date, working_deadline

    today = local_date(datetime.now(UTC), "Asia/Almaty")
    expire = working_deadline(today, 3) + timedelta(days=1)  # the demo departments' 3 working days (R27)
    restore = expire + timedelta(days=11)  # 10 days on the stop-list (R30)
    print(f"  Seats and referrals: log in at {settings.base_url}/staff/login (password {DEMO_PASSWORD})")
    for username, _, role, department, kindergarten in DEMO_STAFF:
        print(f"    {username:<10} {role} of {kindergarten or department}")
    print(
        f"    1. As ast-kg01, at {settings.base_url}/staff/places publish 2 seats in the group «Балапан» 2022 (Russian)."
    )
    print(
        "    2. Within seconds the first two of the Astana 2022 queue who listed AST-KG01 are offered them:"
        f" see {settings.base_url}/dev/outbox and their cabinets:"
    )
    print(f"         {BY_KEY['q5p'].iin} with +7 701 555 0012  (priority: large family)")
    print(f"         {BY_KEY['asel'].iin} with +7 701 555 0000")
    print(
        f"    3. One parent accepts in the cabinet; ast-kg01 enrols the child at {settings.base_url}/staff/places/referrals."
    )
    print(
        f"    4. Let the other offer's deadline pass: .venv/bin/kezek deadlines --as-of {expire.isoformat()}"
        f"  (stop-listed; the seat goes to {BY_KEY['q1p'].iin} with +7 701 555 0004)"
    )
    print(f"    5. Restored at its place: .venv/bin/kezek deadlines --as-of {restore.isoformat()}")
    print(
        f"    The public protocols, explained: {settings.base_url}/vacancies and {settings.base_url}/referrals (and .csv)"
    )
    print()


def _run() -> None:
    """Development: migrate, seed, start the embedded Redis, the web server and the worker."""
    from server.redis import start_embedded
    from server.supervisor import Supervisor

    # SIGTERM interrupts whatever runs, as Ctrl-C does (KeyboardInterrupt): sent to this
    # process alone, either one still stops the children, in the `finally` below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Both children write to this terminal and share its Ctrl-C; SIGTERM, 10 s, SIGKILL.
    children = Supervisor(stop_timeout=10.0)
    try:
        settings = load_settings()
        _migrate()
        embedded = None
        if not settings.redis_url:
            # One embedded Redis for this process's seeding and both children, kept alive
            # by this process.
            embedded = start_embedded(settings.embedded_redis_path)
            os.environ["REDIS_URL"] = f"unix://{embedded}"
        _seed()
        web = children.start("web", [sys.executable, "-m", "server.cli", "web"])
        worker = children.start("worker", [sys.executable, "-m", "server.cli", "worker"])
        time.sleep(1.0)
        _print_demo(settings)
        if embedded:
            print(f"  Embedded Redis: {embedded}")
        print("  Stop with Ctrl-C.")
        children.watch()
    except KeyboardInterrupt:
        sys.exit(0)  # asked to stop; the children are stopped first, below
    finally:
        # A second signal does not cut their stopping short (nor leave them behind).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()
    sys.exit(web.returncode or worker.returncode or 0)


def _staff(args: argparse.Namespace) -> None:
    """kezek staff create|password|disable|enable|list: accounts of the back-office."""
    import getpass

    from server.auth import staff
    from server.errors import DomainError
    from server.models import StaffAccount

    def password() -> str:
        if args.password_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise SystemExit("the passwords differ")
        return first

    async def act() -> str:
        if args.action == "create":
            account = await staff.create(
                args.username, args.name or args.username, args.role, args.department, password(), args.kindergarten
            )
            await account.fetch_related("department", "kindergarten")
            where = f", kindergarten {account.kindergarten.code}" if account.kindergarten else ""
            return f"created {account.username} ({account.role}, department {account.department.code}{where})"
        if args.action == "password":
            await staff.set_password(args.username, password())
            return f"password of {args.username} changed"
        if args.action in ("disable", "enable"):
            await staff.set_active(args.username, args.action == "enable")
            return f"{args.username} {args.action}d"
        rows = await StaffAccount.all().order_by("username").prefetch_related("department", "kindergarten")
        return (
            "\n".join(
                f"{a.username}\t{a.role}\t{a.department.code}\t{a.kindergarten.code if a.kindergarten else '-'}\t"
                f"{'active' if a.active else 'disabled'}\t{a.full_name}"
                for a in rows
            )
            or "no staff accounts"
        )

    try:
        print(asyncio.run(_with_runtime(act)))
    except DomainError as exc:
        raise SystemExit(f"kezek staff: {exc.message('en')}") from None


def _deadlines(as_of: str) -> None:
    """The daily jobs as of a day (to try what a deadline does without waiting for it):
    referral deadlines and reminders, stop-list restores, age-out and registry re-checks."""
    from datetime import date

    from server.services import daily

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise SystemExit("kezek deadlines: --as-of takes a date like 2027-01-15") from None
    report = asyncio.run(_with_runtime(lambda: daily.run(day)))
    print(report.summary())


def _allocate() -> None:
    """Every cohort with open seats or a pending request, allocated now."""
    from server.services import allocation

    async def act() -> list[str]:
        lines = []
        for department_id, cohort in await allocation.due_cohorts(with_open_seats=True):
            runs = await allocation.run_until_settled(department_id, cohort)
            lines.append(f"department {department_id}, cohort {cohort}: {sum(len(r.offered) for r in runs)} offers")
        return lines or ["nothing to allocate"]

    print("\n".join(asyncio.run(_with_runtime(act))))


def _queue_refresh() -> None:
    """Recomputes every cohort's stored queue numbers now, and prints what it did."""
    from server.services import queue

    started = time.perf_counter()
    done = asyncio.run(_with_runtime(queue.refresh_all))
    for r in done:
        print(
            f"department {r.department_id} cohort {r.cohort}: {r.counted} numbered, {r.written} written, "
            f"{r.removed} removed, {r.explained} explained, {r.seconds:.2f} s"
        )
    print(f"{len(done)} cohorts refreshed in {time.perf_counter() - started:.2f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kezek")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed", help="seed demo data (idempotent)")
    seed.add_argument("--reference", action="store_true", help="only the benefit categories (R18), no demo data")
    sub.add_parser("run", help="development: migrate, seed, web server and worker")
    sub.add_parser("web", help="the web server only")
    sub.add_parser("worker", help="the job worker only")
    staff = sub.add_parser("staff", help="back-office accounts: create, password, disable, enable, list")
    staff.add_argument("action", choices=["create", "password", "disable", "enable", "list"])
    staff.add_argument("username", nargs="?", default="")
    staff.add_argument("--role", choices=ROLES, default="operator")
    staff.add_argument("--department", default="", help="department code, e.g. AST")
    staff.add_argument("--kindergarten", default="", help="kindergarten code for --role kindergarten, e.g. AST-KG01")
    staff.add_argument("--name", default="", help="full name, shown in the history")
    staff.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    deadlines = sub.add_parser(
        "deadlines",
        help="run the daily jobs now (referral deadlines and reminders, stop-list restores, age-out, registry "
        "re-checks; the worker runs them by itself), optionally as of a date",
    )
    deadlines.add_argument("--as-of", default="", help="the day to check as, YYYY-MM-DD (default: today)")
    sub.add_parser("allocate", help="run the allocation of every cohort with open seats now")
    sub.add_parser("queue-refresh", help="recompute every cohort's queue numbers now (the worker does it by itself)")
    token = sub.add_parser("token", help="issue an integrator token (printed once)")
    token.add_argument("name")
    token.add_argument("--scope", action="append", default=[], help="e.g. applications:submit, applications:read")
    token.add_argument("--department", help="limit the token to one department code")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        _migrate()
    elif args.command == "seed":
        _seed(args.reference)
    elif args.command == "run":
        _run()
    elif args.command == "web":
        _web()
    elif args.command == "worker":
        _worker()
    elif args.command == "staff":
        if args.action != "list" and not args.username:
            parser.error("staff: a username is needed")
        _staff(args)
    elif args.command == "queue-refresh":
        _queue_refresh()
    elif args.command == "deadlines":
        _deadlines(args.as_of)
    elif args.command == "allocate":
        _allocate()
    elif args.command == "token":
        _token(args.name, args.scope, args.department)


if __name__ == "__main__":
    main()
