"""Nothing lost or duplicated under concurrency: 100 parallel registrations in one
department get unique, gap-free numbers and, with the cohort refreshes they queue run
in parallel too, a consistent queue (run on PostgreSQL in CI)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from server.auth.principal import Principal
from server.domain import iin as iin_rules
from server.gateways.registry import DemoRegistry
from server.models import Application, CohortChange, QueueEntry
from server.services import queue, registration, submission

INTEGRATOR = Principal(kind="integrator", name="load", scopes=frozenset({"applications:submit"}))


def _people(count: int) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for n in range(count):
        parent = iin_rules.make(f"900101{3}{n:04d}") or iin_rules.make(f"900102{3}{n:04d}")
        child = iin_rules.make(f"220301{5}{n:04d}") or iin_rules.make(f"220302{5}{n:04d}")
        assert parent and child
        records[parent] = {
            "iin": parent,
            "surname": "Тестов",
            "given_name": f"Ата{n}",
            "patronymic": "",
            "birth_date": "1990-01-01",
            "sex": "M",
            "benefits": [],
            "children": [{"iin": child, "relation": "parent"}],
        }
        records[child] = {
            "iin": child,
            "surname": "Тестов",
            "given_name": f"Бала{n}",
            "patronymic": "",
            "birth_date": "2022-03-01",
            "sex": "M",
            "benefits": ["ORPHAN"] if n % 5 == 0 else [],
            "children": [],
        }
    return records


async def test_parallel_registrations_get_unique_gap_free_numbers(reference, rt, monkeypatch):
    records = _people(100)
    monkeypatch.setattr(rt.gateways, "registry", DemoRegistry(records))
    parents = [r for r in records.values() if r["children"]]
    start = (date.today() + timedelta(days=30)).isoformat()
    submitted = []
    for n, parent in enumerate(parents):
        data = submission.SubmitInput(
            department_code="AST",
            applicant_iin=parent["iin"],
            child_iin=parent["children"][0]["iin"],
            phones=[f"+7701{n:07d}", f"+7707{n:07d}"],
            email=None,
            kindergarten_codes=[],
            any_kindergarten=True,
            group_language="ru",
            desired_start=start,
            notify_channel="sms",
            notify_language="ru",
        )
        submitted.append(await submission.submit(INTEGRATOR, data, f"k{n}"))

    # Every registration at once, and each one delivered twice (arq is at-least-once).
    ids = [a.id for a in submitted] * 2
    results = await asyncio.gather(*(registration.register(i) for i in ids), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
    # The refreshes those registrations asked for, several at once (a redelivered job,
    # a second worker): the cohort's row lock makes them take turns.
    cohort = submitted[0].cohort
    department_id = submitted[0].department_id
    refreshed = await asyncio.gather(*(queue.refresh(department_id, cohort) for _ in range(4)), return_exceptions=True)
    assert not [r for r in refreshed if isinstance(r, BaseException)]
    assert not await CohortChange.exists()

    rows = await Application.filter(department__code="AST").order_by("registered_at", "id")
    numbers = sorted(int(r.registration_number.rsplit("-", 1)[1]) for r in rows)
    assert numbers == list(range(1, 101))
    entries = {e.application_id: e.number for e in await QueueEntry.filter(department_id=department_id)}
    assert sorted(entries[r.id] for r in rows) == list(range(1, 101))
    # The queue is consistent with R20: priority (ORPHAN) ones in slots 1, 5, 9, …
    by_number = {entries[r.id]: r for r in rows}
    assert all(by_number[k].benefit_class == "priority" for k in range(1, 80, 4))
