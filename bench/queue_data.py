"""A large, realistic queue for benchmarks: loads N applications (1,000,000 by default)
into a migrated, empty Kezek PostgreSQL database with COPY.

    .venv/bin/python bench/queue_data.py --database-url postgres://127.0.0.1:5432/kezek_big

What it writes:

- the departments of `server.demo_data.DEPARTMENTS` (AST, ALA) when missing, with the
  model's defaults for their settings;
- `application`: about 55 % in AST, 45 % in ALA; six cohorts each (children born in
  the current year and the five before it); 2 % extraordinary, 20 % priority, the rest
  general; 5 % suspended, the others queued; about 1 % of families with twins (same
  applicant, born the same day, confirmed minutes apart, `batch_id` = the lower id of
  the pair). Confirmation (= registration) times follow each child's birth by a few
  months, so they spread over the last ~6 years, with microseconds. Ids follow the
  registration time; registration numbers run gap-free per department and year of
  registration (`AST-2023-000001` …), and `registration_sequence` matches them;
  names (`search_names`, for the staff's search) are derived from the IINs;
- `registry_record` rows for a random sample of queued children (their names give
  `queuePosition` its initials), whose IINs are returned / written to `--sample-file`
  for lookups.

Queue numbers (`queue_entry`) are not written: that is the queue engine's job
(`kezek queue-refresh`). Every IIN is generated (valid form and checksum), none is real.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import operator
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import BenchError, asyncpg_dsn, require_local

from server.demo_data import DEPARTMENTS
from server.domain import iin as iin_rules
from server.models import Department

CREATED_VIA = "bench:queue_data"

DEPARTMENT_SHARES = {"AST": 0.55, "ALA": 0.45}
# Share of each cohort by the child's age in years (0 = born this year).
AGE_SHARES = (0.13, 0.19, 0.19, 0.18, 0.17, 0.14)
CLASS_SHARES = {"extraordinary": 0.02, "priority": 0.20, "general": 0.78}
SUSPENDED_SHARE = 0.05
TWIN_FAMILY_SHARE = 0.01
MEAN_DAYS_BIRTH_TO_REGISTRATION = 120

# The columns written, in the order of the generated rows. Later migrations may add
# columns: those with a database default (or nullable) need nothing; the others must be
# listed here (the load refuses otherwise). Columns listed but absent are left out.
APPLICATION_COLUMNS = (
    "id",
    "public_id",
    "department_id",
    "state",
    "step",
    "applicant_iin",
    "child_iin",
    "child_birth_date",
    "cohort",
    "group_language",
    "desired_start",
    "any_kindergarten",
    "notify_channel",
    "notify_language",
    "benefit_class",
    "active_key",
    "registration_number",
    "confirmed_at",
    "registered_at",
    "batch_id",
    "created_via",
    "version",
    "created_at",
    "updated_at",
    "search_names",
)

SURNAMES = [
    "Абенов",
    "Жаксыбеков",
    "Нургалиев",
    "Сапаров",
    "Тулегенов",
    "Омаров",
    "Касымов",
    "Ермеков",
    "Искаков",
    "Бекмуханов",
]
BOYS = ["Алихан", "Нурислам", "Амир", "Ернур", "Мирас", "Санжар", "Бекзат", "Рамазан", "Айбар", "Тамерлан"]
GIRLS = ["Айлин", "Аяла", "Томирис", "Инкар", "Раяна", "Аделя", "Амина", "Камила", "Сафия", "Жасмин"]
MEN = ["Ерлан", "Нурсултан", "Данияр", "Асхат", "Бауыржан", "Серик", "Талгат", "Арман", "Марат", "Ержан"]
WOMEN = ["Айгуль", "Динара", "Жанар", "Салтанат", "Гульмира", "Асем", "Мадина", "Лаура", "Айнур", "Асель"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_DAY = 86_400_000_000


def person_name(iin: str, *, adult: bool = False, family: str | None = None) -> tuple[str, str]:
    """(surname, given name) derived from the IINs, so that they are the same wherever
    they are written; the surname comes from the family (the applicant's IIN)."""
    male = int(iin[6]) % 2 == 1
    surname = SURNAMES[int((family or iin)[:11]) % len(SURNAMES)]
    given = (MEN if male else WOMEN) if adult else (BOYS if male else GIRLS)
    return (surname if male else surname + "а"), given[(int(iin[:11]) // 7) % len(given)]


def search_names(applicant_iin: str, child_iin: str) -> str:
    """What `submission._search_names` stores: both full names, lower case."""
    parent = " ".join(person_name(applicant_iin, adult=True))
    child = " ".join(person_name(child_iin, family=applicant_iin))
    return f"{parent} | {child}".lower()


@dataclass
class LoadReport:
    applications: int = 0
    departments: dict[str, int] = field(default_factory=dict)  # code -> id
    per_cohort: dict[tuple[str, int], int] = field(default_factory=dict)  # (code, cohort) -> rows
    per_class: dict[str, int] = field(default_factory=dict)
    suspended: int = 0
    twin_pairs: int = 0
    sample: list[str] = field(default_factory=list)  # child IINs with a registry record
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class IinMaker:
    """Unique valid IINs: birth date, century-and-sex digit, a serial per (date, digit)."""

    def __init__(self) -> None:
        self.next_serial: dict[tuple[date, bool], int] = {}

    def make(self, born: date, male: bool) -> str:
        key = (born, male)
        serial = self.next_serial.get(key, 0)
        digit = (5 if male else 6) if born.year >= 2000 else (3 if male else 4)
        prefix = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}{digit}"
        while True:
            if serial > 9999:
                raise BenchError(f"more than 10,000 IINs for prefix {prefix}")
            candidate = iin_rules.make(f"{prefix}{serial:04d}")
            serial += 1
            if candidate is not None:
                self.next_serial[key] = serial
                return candidate


@dataclass(slots=True)
class Child:
    """What is drawn per application; the rest of the row is derived when writing."""

    confirmed_us: int  # microseconds since the epoch, UTC
    department: int  # index into the department list
    born: date
    child_iin: str
    applicant_iin: str
    benefit_class: str
    suspended: bool
    family: int  # twins share it; -1 alone


class Picker:
    """Draws one of `shares`' keys by weight (a cumulative table and a bisection)."""

    def __init__(self, shares: dict[Any, float]) -> None:
        self.values = list(shares)
        total = 0.0
        self.bounds = []
        for share in shares.values():
            total += share
            self.bounds.append(total)
        self.total = total

    def __call__(self, rng: random.Random) -> Any:
        return self.values[min(bisect.bisect_right(self.bounds, rng.random() * self.total), len(self.values) - 1)]


def draw_children(count: int, seed: int, today: date, now_us: int) -> list[Child]:
    """Draws `count` children, families of one and a few families of twins."""
    rng = random.Random(seed)
    iins = IinMaker()
    department_of = Picker(dict(enumerate(DEPARTMENT_SHARES.values())))
    age_of = Picker(dict(enumerate(AGE_SHARES)))
    class_of = Picker(CLASS_SHARES)
    latest_us = now_us - 3_600_000_000  # everyone confirmed at least an hour ago
    epoch_day = EPOCH.date().toordinal()
    parents_first_day = date(1975, 1, 1).toordinal()
    children: list[Child] = []
    family = 0
    while len(children) < count:
        family += 1
        age = age_of(rng)
        first_day = date(today.year - age, 1, 1).toordinal()
        last_day = (today - timedelta(days=7) if age == 0 else date(today.year - age, 12, 31)).toordinal()
        born_day = first_day + rng.randrange(last_day - first_day + 1)
        born = date.fromordinal(born_day)
        applicant_iin = iins.make(date.fromordinal(parents_first_day + rng.randrange(27 * 365)), rng.random() < 0.3)
        department = department_of(rng)
        benefit_class = class_of(rng)
        suspended = rng.random() < SUSPENDED_SHARE
        # Registered a few months after birth; a young child, some time since birth.
        born_us = (born_day - epoch_day) * MICROS_PER_DAY
        age_us = latest_us - MICROS_PER_DAY - born_us
        delay_us = int(rng.expovariate(1 / MEAN_DAYS_BIRTH_TO_REGISTRATION) * MICROS_PER_DAY)
        if delay_us >= age_us:
            delay_us = rng.randrange(age_us)
        confirmed_us = born_us + MICROS_PER_DAY // 2 + delay_us
        twins = rng.random() < TWIN_FAMILY_SHARE and count - len(children) >= 2
        for member in range(2 if twins else 1):
            children.append(
                Child(
                    confirmed_us=confirmed_us + member * rng.randrange(60_000_000, 600_000_000),
                    department=department,
                    born=born,
                    child_iin=iins.make(born, rng.random() < 0.5),
                    applicant_iin=applicant_iin,
                    benefit_class=benefit_class,
                    suspended=suspended,
                    family=family if twins else -1,
                )
            )
    return children


class YearIn:
    """The calendar year of a UTC instant in one time zone (registration numbers)."""

    def __init__(self, timezone: str, first: int, last: int) -> None:
        zone = ZoneInfo(timezone)
        self.first = first
        self.starts = [
            int((datetime(y, 1, 1, tzinfo=zone) - EPOCH).total_seconds()) * 1_000_000 for y in range(first, last + 2)
        ]

    def __call__(self, us: int) -> int:
        return self.first + bisect.bisect_right(self.starts, us) - 1


def application_rows(
    children: list[Child],
    departments: list[tuple[int, str, str]],
    seed: int,
    sequences: dict[tuple[int, int], int],
) -> Iterator[tuple[Any, ...]]:
    """The COPY rows, in registration order; ids 1..N. Fills `sequences` with the last
    registration number issued per (department id, year)."""
    rng = random.Random(seed + 1)
    years = [datetime.fromtimestamp(c.confirmed_us / 1e6, UTC).year for c in (children[0], children[-1])]
    year_of = {tz: YearIn(tz, years[0] - 1, years[1] + 1) for _, _, tz in departments}
    first_id_of_family: dict[int, int] = {}
    for row_id, child in enumerate(children, start=1):
        department_id, code, timezone = departments[child.department]
        year = year_of[timezone](child.confirmed_us)
        serial = sequences.get((department_id, year), 0) + 1
        sequences[(department_id, year)] = serial
        batch_id = None
        if child.family >= 0:
            batch_id = first_id_of_family.setdefault(child.family, row_id)
        confirmed = EPOCH + timedelta(microseconds=child.confirmed_us)
        created = confirmed - timedelta(seconds=rng.randrange(120, 1800), microseconds=rng.randrange(1_000_000))
        updated = confirmed + timedelta(days=rng.randrange(30, 400)) if child.suspended else confirmed
        language = "kk" if rng.random() < 0.65 else "ru"
        yield (
            row_id,
            uuid.UUID(int=rng.getrandbits(128), version=4),
            department_id,
            "suspended" if child.suspended else "queued",
            "notifications",
            child.applicant_iin,
            child.child_iin,
            child.born,
            child.born.year,
            language if rng.random() < 0.97 else "other",
            date(child.born.year + rng.choice((2, 3, 3, 4)), 9, 1),
            rng.random() < 0.1,
            "sms",
            language,
            child.benefit_class,
            f"{department_id}:{child.child_iin}",
            f"{code}-{year}-{serial:06d}",
            confirmed,
            confirmed,
            batch_id,
            CREATED_VIA,
            3 if child.suspended else 2,
            created,
            updated,
            search_names(child.applicant_iin, child.child_iin),
        )


def registry_record(child: Child) -> dict[str, Any]:
    male = int(child.child_iin[6]) % 2 == 1
    surname, given_name = person_name(child.child_iin, family=child.applicant_iin)
    return {
        "iin": child.child_iin,
        "surname": surname,
        "given_name": given_name,
        "patronymic": "",
        "birth_date": child.born.isoformat(),
        "sex": "M" if male else "F",
        "document": {
            "kind": "birth_certificate",
            "number": "BC" + child.child_iin[-9:],
            "issued": child.born.isoformat(),
        },
        "benefits": [],
        "children": [],
    }


# --- the database ---------------------------------------------------------------------------


async def application_columns(connection: Any) -> tuple[str, ...]:
    """The APPLICATION_COLUMNS this database has; refuses when it has a NOT NULL column
    without a default that they do not cover (a newer migration)."""
    rows = await connection.fetch(
        "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL AS required "
        "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'application'"
    )
    if not rows:
        raise BenchError("no `application` table: migrate the database first (`python -m server.cli migrate`)")
    missing = sorted(r["column_name"] for r in rows if r["required"] and r["column_name"] not in APPLICATION_COLUMNS)
    if missing:
        raise BenchError(f"bench/queue_data.py does not fill the NOT NULL column(s) {missing} of `application`")
    present = {r["column_name"] for r in rows}
    return tuple(c for c in APPLICATION_COLUMNS if c in present)


async def _ensure_departments(connection: Any) -> list[tuple[int, str, str]]:
    """[(id, code, timezone)] in DEPARTMENT_SHARES order; creates missing ones with the
    model's default settings."""
    defaults = {
        name: f.default
        for name, f in Department._meta.fields_map.items()
        if name not in ("id", "code", "name_kk", "name_ru", "name_en") and f.default is not None
    }
    names = {code: (kk, ru, en) for code, kk, ru, en in DEPARTMENTS}
    result = []
    for code in DEPARTMENT_SHARES:
        row = await connection.fetchrow("SELECT id, timezone FROM department WHERE code = $1", code)
        if row is None:
            kk, ru, en = names[code]
            columns = ["code", "name_kk", "name_ru", "name_en", *defaults]
            marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
            row = await connection.fetchrow(
                f"INSERT INTO department ({', '.join(columns)}) VALUES ({marks}) RETURNING id, timezone",
                code,
                kk,
                ru,
                en,
                *defaults.values(),
            )
        result.append((row["id"], code, row["timezone"]))
    return result


async def _unused_iin(connection: Any, column: str, born: date, male: bool) -> str:
    """A valid IIN not in `application.<column>`; serials from the top, where the
    generator (which counts from 0) does not reach."""
    digit = (5 if male else 6) if born.year >= 2000 else (3 if male else 4)
    for serial in range(9999, -1, -1):
        candidate = iin_rules.make(f"{born:%y%m%d}{digit}{serial:04d}")
        if candidate is not None and not await connection.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM application WHERE {column} = $1)", candidate
        ):
            return candidate
    raise BenchError(f"no unused IIN left for {born}")


async def insert_submitted(
    connection: Any, department_id: int, born: date, benefit_class: str, *, created_via: str, phone: str
) -> int:
    """One new application as the parent's confirmation leaves it: `submitted`,
    confirmed now, with a confirmed phone (for the "registered" message); its id."""
    child_iin = await _unused_iin(connection, "child_iin", born, male=True)
    applicant_iin = await _unused_iin(connection, "applicant_iin", date(1990, 5, 5), male=False)
    now = datetime.now(UTC)
    values = {
        "public_id": uuid.uuid4(),
        "department_id": department_id,
        "state": "submitted",
        "step": "notifications",
        "applicant_iin": applicant_iin,
        "child_iin": child_iin,
        "child_birth_date": born,
        "cohort": born.year,
        "group_language": "kk",
        "desired_start": date(born.year + 3, 9, 1),
        "any_kindergarten": False,
        "notify_channel": "sms",
        "notify_language": "kk",
        "benefit_class": benefit_class,
        "active_key": f"{department_id}:{child_iin}",
        "registration_number": None,
        "confirmed_at": now,
        "registered_at": None,
        "batch_id": None,
        "created_via": created_via,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "search_names": search_names(applicant_iin, child_iin),
    }
    row = {column: values[column] for column in await application_columns(connection) if column in values}
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    async with connection.transaction():
        application_id = await connection.fetchval(
            f"INSERT INTO application ({', '.join(row)}) VALUES ({marks}) RETURNING id", *row.values()
        )
        await connection.execute(
            "INSERT INTO contact (application_id, kind, value, rank, confirmed_at, created_at) "
            "VALUES ($1, 'phone', $2, 1, $3, $3)",
            application_id,
            phone,
            now,
        )
    return application_id


async def load(
    database_url: str,
    count: int = 1_000_000,
    *,
    seed: int = 2026,
    sample: int = 20_000,
    vacuum: bool = True,
    say: Callable[[str], None] = print,
) -> LoadReport:
    """Loads `count` applications into an empty, migrated database; see the module doc."""
    import asyncpg

    require_local(database_url, "--database-url")
    report = LoadReport()
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        columns = await application_columns(connection)
        if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM application)"):
            raise BenchError("the database already holds applications: load into a freshly migrated one")
        departments = await _ensure_departments(connection)
        report.departments = {code: department_id for department_id, code, _ in departments}

        started = time.perf_counter()
        now_us = int((datetime.now(UTC) - EPOCH).total_seconds() * 1_000_000)
        children = draw_children(count, seed, date.today(), now_us)
        children.sort(key=lambda c: c.confirmed_us)
        report.seconds["generate"] = time.perf_counter() - started
        say(f"drew {len(children):,} applications in {report.seconds['generate']:.1f} s")

        started = time.perf_counter()
        sequences: dict[tuple[int, int], int] = {}
        records: Iterator[tuple[Any, ...]] = application_rows(children, departments, seed, sequences)
        if columns != APPLICATION_COLUMNS:
            pick = operator.itemgetter(*(APPLICATION_COLUMNS.index(c) for c in columns))
            records = (pick(record) for record in records)
        async with connection.transaction():
            await connection.copy_records_to_table("application", columns=columns, records=records)
            await connection.execute("SELECT setval('application_id_seq', $1)", len(children))
            await connection.executemany(
                "INSERT INTO registration_sequence (department_id, year, last_value) VALUES ($1, $2, $3) "
                "ON CONFLICT (department_id, year) DO UPDATE SET last_value = EXCLUDED.last_value",
                [(department_id, year, last) for (department_id, year), last in sorted(sequences.items())],
            )
        report.seconds["copy"] = time.perf_counter() - started
        say(f"copied {len(children):,} rows into application in {report.seconds['copy']:.1f} s")

        started = time.perf_counter()
        rng = random.Random(seed + 2)
        queued = [c for c in children if not c.suspended]
        picked = rng.sample(queued, min(sample, len(queued)))
        fetched = datetime.now(UTC)
        await connection.copy_records_to_table(
            "registry_record",
            columns=("iin", "data", "fetched_at"),
            records=((c.child_iin, json.dumps(registry_record(c), ensure_ascii=False), fetched) for c in picked),
        )
        report.sample = [c.child_iin for c in picked]
        report.seconds["registry"] = time.perf_counter() - started

        if vacuum:
            # A bulk load leaves no visibility map and no statistics; an installation
            # that has grown to this size has both (autovacuum).
            started = time.perf_counter()
            await connection.execute("VACUUM (ANALYZE) application")
            await connection.execute("VACUUM (ANALYZE) registry_record")
            report.seconds["vacuum"] = time.perf_counter() - started
            say(f"vacuum + analyze in {report.seconds['vacuum']:.1f} s")
    finally:
        await connection.close()

    code_of = {i: code for i, (_, code, _) in enumerate(departments)}
    families: set[int] = set()
    for child in children:
        key = (code_of[child.department], child.born.year)
        report.per_cohort[key] = report.per_cohort.get(key, 0) + 1
        report.per_class[child.benefit_class] = report.per_class.get(child.benefit_class, 0) + 1
        report.suspended += child.suspended
        if child.family >= 0:
            families.add(child.family)
    report.twin_pairs = len(families)
    report.applications = len(children)
    return report


def describe(report: LoadReport) -> list[str]:
    n = report.applications or 1
    classes = ", ".join(f"{k} {v:,} ({100 * v / n:.1f} %)" for k, v in sorted(report.per_class.items()))
    cohorts = ", ".join(f"{code} {cohort}: {rows:,}" for (code, cohort), rows in sorted(report.per_cohort.items()))
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.seconds.items())
    return [
        f"applications {report.applications:,}: {classes}; suspended {report.suspended:,} "
        f"({100 * report.suspended / n:.1f} %); twin pairs {report.twin_pairs:,}",
        f"cohorts: {cohorts}",
        f"load time {report.total_seconds:.1f} s ({phases}); registry records for {len(report.sample):,} children",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        required=True,
        help="a migrated, empty Kezek database on 127.0.0.1, e.g. postgres://127.0.0.1:5432/kezek_big",
    )
    parser.add_argument("-n", "--count", type=int, default=1_000_000, help="applications (1,000,000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument(
        "--sample", type=int, default=20_000, help="queued children given a registry record, for lookups (20,000)"
    )
    parser.add_argument("--sample-file", type=Path, help="write the sample's child IINs there, one a line")
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) after the load")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        print("queue_data.py loads PostgreSQL only", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(
            load(args.database_url, args.count, seed=args.seed, sample=args.sample, vacuum=not args.no_vacuum)
        )
    except BenchError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 2
    for line in describe(report):
        print(line)
    if args.sample_file:
        args.sample_file.parent.mkdir(parents=True, exist_ok=True)
        args.sample_file.write_text("".join(f"{iin}\n" for iin in report.sample))
        print(f"sample written to {args.sample_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
