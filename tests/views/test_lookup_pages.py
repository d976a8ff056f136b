"""The public lookup page as plain forms (JavaScript off): R23, R24."""

from __future__ import annotations

from server import runtime
from server.domain.states import Transition
from server.models import Application, QueueEntry
from server.services import events
from tests.helpers import csrf_from, drain_jobs, iin


async def look_up(client, child_iin: str):
    form = await client.get("/queue")
    assert form.status_code == 200
    return await client.post("/queue", data={"csrf_token": csrf_from(form.text), "child_iin": child_iin})


async def test_a_parent_reads_the_number_and_why_it_changed(client):
    me = await Application.get(child_iin=iin("adil"))
    first = await QueueEntry.get(department_id=me.department_id, cohort=me.cohort, number=1)
    await events.move(first.application_id, Transition.OFFER, "system", "a place in AST-KG01")
    await drain_jobs(runtime.get().redis)
    number = (await QueueEntry.get(application_id=me.id)).number

    await client.get("/lang/en")
    page = await look_up(client, iin("adil")[:6] + " " + iin("adil")[6:])  # spaces are fine
    assert page.status_code == 200
    assert f'<strong class="big">{number}</strong>' in page.text
    assert me.registration_number in page.text and "И. А." in page.text
    assert "1 child ahead of you received a place" in page.text
    assert iin("adil") not in page.text and "Адиль" not in page.text
    assert str(page.url.path) == "/queue"  # the IIN travelled in the form, not the address


async def test_an_unknown_child_and_a_bad_iin(client):
    await client.get("/lang/en")
    none = await look_up(client, iin("dana"))
    assert none.status_code == 200 and "No child with this IIN is in a kindergarten queue" in none.text
    bad = await look_up(client, "12345")
    assert bad.status_code == 422
    assert 'class="error-summary"' in bad.text and 'aria-invalid="true"' in bad.text


async def test_the_page_is_rate_limited_per_ip(client, monkeypatch):
    monkeypatch.setattr(
        runtime.get(), "settings", runtime.get().settings.model_copy(update={"lookups_per_ip_per_minute": 2})
    )
    assert (await look_up(client, iin("adil"))).status_code == 200
    assert (await look_up(client, iin("adil"))).status_code == 200
    refused = await look_up(client, iin("adil"))
    assert refused.status_code == 429 and 'class="error-summary"' in refused.text


async def test_a_post_without_the_form_token_is_refused(client):
    r = await client.post("/queue", data={"child_iin": iin("adil")})
    assert r.status_code == 403
    assert "И. А." not in r.text
