"""GraphQL over HTTP, as an integrator or a browser would call it."""

from __future__ import annotations

from pathlib import Path

from schema import schema
from server.auth import tokens
from server.models import Application
from tests.helpers import iin
from tests.helpers.graphql import gql

SUBMIT = """
mutation($input: SubmitApplicationInput!, $key: String!) {
  submitApplication(input: $input, idempotencyKey: $key) {
    application { registrationNumber status child { iin fullName } applicant { iin } }
    errors { field code message }
  }
}"""


def submit_vars(lang: str = "ru") -> dict:
    return {
        "key": "portal-123",
        "input": {
            "departmentCode": "AST",
            "applicantIin": iin("aigerim"),
            "childIin": iin("dana"),
            "phones": ["+77012223344", "+77075556677"],
            "kindergartenCodes": ["AST-KG01"],
            "groupLanguage": "kk",
            "desiredStart": "2027-09-01",
            "notifyChannel": "sms",
            "notifyLanguage": lang,
        },
    }


def test_committed_schema_matches_the_code():
    committed = (Path(__file__).resolve().parents[2] / "schema" / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip(), "schema changed: run `make schema` and review the diff"


async def test_public_reference_queries(client):
    data = await gql(
        client,
        '{ departments { code } kindergartens(departmentCode: "AST") { code } benefitCategories { code benefitClass evidence } }',
    )
    assert [d["code"] for d in data["data"]["departments"]] == ["ALA", "AST"]
    assert len(data["data"]["kindergartens"]) == 12
    categories = {c["code"]: (c["benefitClass"], c["evidence"]) for c in data["data"]["benefitCategories"]}
    assert len(categories) == 8
    assert categories["MILITARY"] == ("extraordinary", "document")
    assert categories["TEACHER_PARENT"] == ("priority", "document")


async def test_queue_position_is_public_and_masked(client):
    data = await gql(
        client,
        "query($c: String!) { queuePosition(childIin: $c) { initials registrationNumber queueNumber cohort department { code } } }",
        {"c": iin("adil")},
    )
    [position] = data["data"]["queuePosition"]
    assert position["initials"] == "И. А." and position["department"]["code"] == "AST"
    assert position["queueNumber"] >= 1 and position["registrationNumber"].startswith("AST-")
    assert "Адиль" not in str(data)


async def test_integrator_submits_with_a_hashed_token(client):
    token = await tokens.issue("portal", ["applications:submit", "applications:read"])
    from server.models import IntegratorToken

    assert token not in str(await IntegratorToken.all().values_list("token_hash", flat=True))
    first = await gql(client, SUBMIT, submit_vars(), token=token)
    again = await gql(client, SUBMIT, submit_vars(), token=token)
    payload = first["data"]["submitApplication"]
    assert payload["errors"] == []
    assert payload["application"]["status"] == "submitted"
    assert payload["application"]["child"]["iin"] == f"{iin('dana')[:2]}********{iin('dana')[-2:]}"
    assert again["data"]["submitApplication"]["application"] == payload["application"]
    assert await Application.filter(child_iin=iin("dana")).count() == 1


async def test_errors_are_localized_and_change_nothing(client):
    token = await tokens.issue("portal", ["applications:submit"])
    variables = submit_vars()
    variables["input"]["phones"] = ["+77012223344", "12"]
    variables["input"]["childIin"] = iin("dias")
    data = await gql(client, SUBMIT, variables, token=token)
    errors = data["data"]["submitApplication"]["errors"]
    assert errors and errors[0]["field"] == "phones.2" and errors[0]["code"] == "phone.invalid"
    assert await Application.filter(child_iin=iin("dias")).count() == 0


async def test_without_a_token_submit_is_refused(client):
    data = await gql(client, SUBMIT, submit_vars())
    assert data["data"]["submitApplication"]["errors"][0]["code"] == "auth.required"
    bad = await gql(client, SUBMIT, submit_vars(), token="kzk_not-a-token")
    assert bad["data"]["submitApplication"]["errors"][0]["code"] == "auth.required"


async def test_application_is_visible_to_its_reader_only(client):
    token = await tokens.issue("portal", ["applications:submit", "applications:read"])
    number = (await Application.get(child_iin=iin("adil"))).registration_number
    query = "query($n: String!) { application(registrationNumber: $n) { registrationNumber queueNumber } }"
    assert (await gql(client, query, {"n": number}))["data"]["application"] is None
    assert (await gql(client, query, {"n": number}, token=token))["data"]["application"]["registrationNumber"] == number


async def test_alias_and_token_limits(client):
    aliases = "{ " + " ".join(f"a{n}: departments {{ code }}" for n in range(20)) + " }"
    data = await gql(client, aliases)
    assert data["data"] is None and "aliases" in data["errors"][0]["message"].lower()
    tokens_heavy = "{ departments { " + " ".join(["code"] * 2500) + " } }"
    data = await gql(client, tokens_heavy)
    assert data["data"] is None and "token" in data["errors"][0]["message"].lower()


async def test_cross_site_cookie_requests_are_refused(client):
    r = await client.post(
        "/graphql", json={"query": "{ departments { code } }"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert r.status_code == 403
    r = await client.post(
        "/graphql", json={"query": "{ departments { code } }"}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403


async def test_the_journey_over_graphql_with_a_session(client):
    """A parent's own client can walk the journey over the API with the session cookie."""
    from tests.helpers import PHONE1, last_code

    start = await gql(
        client,
        "mutation($i: StartApplicationInput!) { startApplication(input: $i) { challengeId errors { code } application { step } } }",
        {"i": {"departmentCode": "AST", "applicantIin": iin("aigerim"), "phone": PHONE1}},
    )
    payload = start["data"]["startApplication"]
    assert payload["errors"] == [] and payload["application"]["step"] == "start"
    confirm = await gql(
        client,
        "mutation($c: String!, $code: String!) { confirmPhone(rank: 1, challengeId: $c, code: $code) { errors { code } application { step } } }",
        {"c": payload["challengeId"], "code": await last_code(PHONE1)},
    )
    assert confirm["data"]["confirmPhone"]["application"]["step"] == "phone1"


async def test_unexpected_errors_are_masked(client, monkeypatch, caplog):
    from server.models import Department

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals 930412400074")

    monkeypatch.setattr(Department, "all", broken)
    data = await gql(client, "{ departments { code } }")
    assert data["errors"][0]["message"] == "Unexpected error."
    assert "secret internals" not in str(data)
