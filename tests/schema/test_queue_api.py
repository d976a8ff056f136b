"""The public queue over GraphQL (R23, R24): `queuePosition` and `queue`."""

from __future__ import annotations

from server import runtime
from server.auth import tokens
from server.domain.states import Transition
from server.models import Application, QueueEntry
from server.services import events
from tests.helpers import drain_jobs, iin
from tests.helpers.graphql import gql

POSITION = """
query($c: String!) {
  queuePosition(childIin: $c) {
    initials registrationNumber cohort status benefitClass queueNumber cohortSize updatedAt
    department { code }
    ahead { extraordinary priority general total }
    changes { oldNumber newNumber reasons { kind count text } }
  }
}"""

QUEUE = """
query($d: String!, $y: Int!, $first: Int!, $after: String) {
  queue(departmentCode: $d, birthYear: $y, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { queueNumber registrationNumber benefitClass } }
  }
}"""


async def adil(client) -> dict:
    data = await gql(client, POSITION, {"c": iin("adil")})
    assert "errors" not in data, data
    [position] = data["data"]["queuePosition"]
    return position


async def test_position_shows_who_stands_ahead_and_why_it_changed(client):
    before = await adil(client)
    assert before["initials"] == "И. А." and before["department"]["code"] == "AST"
    assert before["status"] == "queued"
    # The demo seed registered a priority application after adil's (R24).
    [seeded] = before["changes"]
    assert [r["kind"] for r in seeded["reasons"]] == ["registered_priority"]
    ahead = before["ahead"]
    assert ahead["total"] == before["queueNumber"] - 1 == ahead["extraordinary"] + ahead["priority"] + ahead["general"]
    assert before["cohortSize"] >= before["queueNumber"]

    # The first application of the cohort is withdrawn; adil moves up and is told why.
    me = await Application.get(child_iin=iin("adil"))
    first = await QueueEntry.filter(department_id=me.department_id, cohort=me.cohort, number=1).first()
    assert first is not None and first.application_id != me.id, "adil must not be first for this test"
    await events.move(first.application_id, Transition.WITHDRAW, "staff:test", "moved away")
    await drain_jobs(runtime.get().redis)

    await client.get("/lang/ru")
    after = await adil(client)
    assert after["queueNumber"] == before["queueNumber"] - 1
    change = after["changes"][0]  # newest first
    assert len(after["changes"]) == 2
    assert (change["oldNumber"], change["newNumber"]) == (before["queueNumber"], after["queueNumber"])
    assert change["reasons"] == [{"kind": "withdrawn", "count": 1, "text": "1 заявление впереди вас отозвано"}]
    assert "Адиль" not in str(after) and iin("adil") not in str(after)


async def test_an_invalid_iin_is_a_clear_error(client):
    data = await gql(client, POSITION, {"c": "123"})
    [error] = data["errors"]
    assert error["extensions"]["code"] == "iin.invalid" and error["message"]
    assert data["data"] is None


async def test_a_child_in_no_queue_gets_an_empty_list(client):
    data = await gql(client, POSITION, {"c": iin("dana")})
    assert data["data"]["queuePosition"] == []


async def test_lookups_are_limited_per_ip_but_not_for_integrators(client, monkeypatch):
    monkeypatch.setattr(
        runtime.get(), "settings", runtime.get().settings.model_copy(update={"lookups_per_ip_per_minute": 3})
    )
    for _ in range(3):
        assert "errors" not in await gql(client, POSITION, {"c": iin("adil")})
    refused = await gql(client, POSITION, {"c": iin("adil")})
    assert refused["errors"][0]["extensions"]["code"] == "rate_limited"
    token = await tokens.issue("city-dashboard", ["applications:read"])
    data = await gql(client, POSITION, {"c": iin("adil")}, token=token)
    assert "errors" not in data and data["data"]["queuePosition"][0]["queueNumber"] >= 1


async def test_a_cohort_pages_through_in_order_without_names(client):
    me = await Application.get(child_iin=iin("adil"))
    seen, after = [], None
    while True:
        data = await gql(client, QUEUE, {"d": "AST", "y": me.cohort, "first": 2, "after": after})
        assert "errors" not in data, data
        page = data["data"]["queue"]
        seen += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [row["queueNumber"] for row in seen] == list(range(1, page["totalCount"] + 1))
    assert me.registration_number in [row["registrationNumber"] for row in seen]
    assert set(seen[0]) == {"queueNumber", "registrationNumber", "benefitClass"}


async def test_queue_refuses_a_bad_cursor_and_page_size(client):
    bad = await gql(client, QUEUE, {"d": "AST", "y": 2022, "first": 2, "after": "garbage"})
    assert bad["errors"][0]["extensions"]["code"] == "cursor.invalid"
    big = await gql(client, QUEUE, {"d": "AST", "y": 2022, "first": 1000})
    assert big["errors"][0]["extensions"]["code"] == "page.size"
    unknown = await gql(client, QUEUE, {"d": "XYZ", "y": 2022, "first": 5})
    assert unknown["errors"][0]["extensions"]["code"] == "department.unknown"
