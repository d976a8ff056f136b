"""Registration (R10–R12), integrator submissions and notification delivery (R34–R36)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, timedelta

import pytest
from arq import Retry

from jobs import worker
from server import demo_data
from server.auth.principal import Principal
from server.errors import DomainError
from server.gateways import GatewayError
from server.models import Application, IdempotencyKey, Notification, QueueEntry
from server.services import queue, registration, submission
from server.services.seed import seed_demo
from tests.helpers import iin
from tests.helpers.services import INTEGRATOR, submit_input


async def register(application_id: int) -> Application:
    """The registration job, then the cohort refresh it queues (as the worker runs them)."""
    application = await registration.register(application_id)
    await queue.refresh_until_settled(application.department_id, application.cohort)
    return application


async def test_registration_numbers_are_per_department_and_year(demo):
    numbers = await Application.filter(registration_number__not_isnull=True).values_list(
        "registration_number", flat=True
    )
    year = date.today().year
    ast = sorted(n for n in numbers if n.startswith("AST"))
    ala = sorted(n for n in numbers if n.startswith("ALA"))
    assert ast == [f"AST-{year}-{k:06d}" for k in range(1, len(ast) + 1)]
    assert ala == [f"ALA-{year}-{k:06d}" for k in range(1, len(ala) + 1)]


async def test_queue_numbers_follow_the_rules(reference):
    """Three general applications, then a priority one: the priority one goes first (R20)."""
    pairs = [("aigerim", "dana"), ("asel", "adil"), ("q1p", "q1c"), ("gulnara", "yerasyl")]
    registered = []
    for n, (parent, child) in enumerate(pairs):
        app = await submission.submit(
            INTEGRATOR, submit_input(parent, child, phones=[f"+7701222330{n}", f"+7707555660{n}"]), f"k{n}"
        )
        registered.append(await register(app.id))
    cohorts = {a.cohort for a in registered}
    assert cohorts == {2022}
    fresh = {
        a.child_iin: a.queue_entry.number for a in await Application.filter(cohort=2022).prefetch_related("queue_entry")
    }
    assert fresh[iin("yerasyl")] == 1  # LARGE_FAMILY from the registry: priority slot first
    assert [fresh[iin(c)] for c in ("dana", "adil", "q1c")] == [2, 3, 4]


async def test_registered_message_is_in_the_chosen_language_and_fits_one_segment(reference):
    app = await submission.submit(INTEGRATOR, submit_input("aigerim", "dana", notify_language="kk"), "x")
    app = await register(app.id)
    row = await Notification.get(kind="registered", application=app)
    assert row.channel == "sms" and row.recipient == "+77012223344" and row.language == "kk"
    number = (await QueueEntry.get(application_id=app.id)).number
    assert app.registration_number in row.body and str(number) in row.body
    assert len(row.body) <= 70


async def test_integrator_needs_the_scope(reference):
    with pytest.raises(DomainError) as err:
        await submission.submit(Principal(kind="integrator", name="x"), submit_input("aigerim", "dana"), "k")
    assert err.value.code == "auth.required"


async def test_integrator_errors_leave_nothing_behind(reference):
    with pytest.raises(DomainError):
        await submission.submit(INTEGRATOR, submit_input("yerzhan", "dana"), "k")
    assert await Application.all().count() == 0


async def test_same_key_in_parallel_makes_one_application(reference):
    results = await asyncio.gather(
        *(submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "one-key") for _ in range(50)),
        return_exceptions=True,
    )
    ids = {r.id for r in results if isinstance(r, Application)}
    assert len(ids) == 1, results[:3]
    assert all(isinstance(r, Application) for r in results), [r for r in results if not isinstance(r, Application)][:3]
    assert await Application.all().count() == 1
    assert await IdempotencyKey.all().count() == 1


async def test_other_key_for_a_queued_child_is_refused_with_its_number(reference):
    first = await register((await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "a")).id)
    with pytest.raises(DomainError) as err:
        await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "b")
    assert err.value.code == "child.already_queued"
    assert err.value.params["number"] == first.registration_number


class FlakySms:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise GatewayError("provider down")
        self.sent.append((phone, text, idempotency_key))
        return f"id-{len(self.sent)}"


async def test_delivery_retries_with_backoff_and_sends_once(reference, rt, monkeypatch):
    flaky = FlakySms(failures=2)
    monkeypatch.setattr(rt.gateways, "sms", flaky)
    app = await register((await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "a")).id)
    row = await Notification.get(kind="registered", application=app)
    for attempt in (1, 2):
        with pytest.raises(Retry) as retry:
            await worker.deliver_notification({"job_try": attempt}, row.id)
        assert retry.value.defer_score == worker.backoff(attempt) * 1000
    assert await worker.deliver_notification({"job_try": 3}, row.id) == "sent"
    # A redelivered job after success sends nothing more.
    assert await worker.deliver_notification({"job_try": 4}, row.id) == "sent"
    assert len(flaky.sent) == 1 and flaky.sent[0][2] == row.event_key
    await row.refresh_from_db()
    assert row.state == "sent" and row.attempts == 3 and row.provider_id == "id-1"


async def test_delivery_gives_up_after_max_tries(reference, rt, monkeypatch):
    monkeypatch.setattr(rt.gateways, "sms", FlakySms(failures=100))
    app = await register((await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "a")).id)
    row = await Notification.get(kind="registered", application=app)
    assert await worker.deliver_notification({"job_try": worker.MAX_TRIES}, row.id) == "failed"
    await row.refresh_from_db()
    assert row.state == "failed"


async def test_sweeper_re_enqueues_stranded_work(reference, rt):
    from datetime import datetime

    app = await submission.submit(INTEGRATOR, submit_input("aigerim", "dana"), "a")
    await rt.redis.flushdb()  # the enqueue was lost
    await Application.filter(id=app.id).update(confirmed_at=datetime.now(UTC) - timedelta(minutes=1))
    counts = await worker.sweep({})
    assert counts["applications"] == 1
    queued = [job.function for job in await rt.redis.queued_jobs()]
    assert "register_application" in queued


async def test_seed_is_idempotent(demo):
    before = await Application.all().count()
    assert await seed_demo() == 0
    assert await Application.all().count() == before == len(demo_data.QUEUED)
