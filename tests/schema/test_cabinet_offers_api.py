"""The parent's answer to an offer over GraphQL, as the pages run it and as an integrator
would: `Application.referrals` and `Application.passedOver` for those who may read the
application, `cabinetAcceptOffer`, `cabinetDeclineOffer`, `cabinetExtendReferral` for the
logged-in parent only; every refusal a localized error in the payload, nothing changed,
never an exception to the client."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from server.auth import staff, tokens
from server.auth.principal import Principal
from server.domain.referrals import ReferralState
from server.domain.states import State
from server.errors import DomainError
from server.models import Application, Contact, Department, Group, Kindergarten, Referral
from server.services import allocation, places
from tests.helpers import last_code
from tests.helpers.graphql import gql

COHORT = 2022
PASSWORD = "a long enough password"
PAYLOAD = (
    "referral { id state presentBy canExtend } application { registrationNumber status } errors { field code message }"
)


def mutation(signature: str, call: str) -> str:
    return "mutation(" + signature + ") { " + call + " { " + PAYLOAD + " } }"


ACCEPT = mutation("$r: ID!", "cabinetAcceptOffer(referralId: $r)")
DECLINE = mutation("$r: ID!", "cabinetDeclineOffer(referralId: $r)")
EXTEND = mutation("$r: ID!, $d: Int!", "cabinetExtendReferral(referralId: $r, days: $d)")
READ = """query($n: String!) { application(registrationNumber: $n) {
  status
  referrals { id state kindergartenCode groupName window rank daysLeft canExtend acceptBy presentBy explanation { text } }
  passedOver { kindergarten { code name } queueNumber myQueueNumber rank reason text }
} }"""


async def offer(code: str = "AST-KG01") -> Referral:
    """One seat of a new Russian 2022 group of `code`, allocated: to the first child of the
    cohort who chose `code`."""
    ast = await Department.get(code="AST")
    kindergarten = await Kindergarten.get(code=code)
    group = await Group.create(
        kindergarten=kindergarten,
        department_id=ast.id,
        name="Ромашка",
        cohort=COHORT,
        language="ru",
        capacity=25,
        enrolled=20,
    )
    principal = Principal(
        kind="staff", name="kg", department_id=ast.id, role="kindergarten", staff_id=1, kindergarten_id=kindergarten.id
    )
    await places.publish(places.Staff(principal), group.id, 1)
    assert len((await allocation.run(ast.id, COHORT)).offered) == 1
    return await Referral.get(group_id=group.id)


async def log_in(client: httpx.AsyncClient, application: Application) -> None:
    """The cabinet's log-in over GraphQL: the applicant's IIN, a confirmed phone, the code."""
    phone = (
        await Contact.filter(application=application, kind="phone", confirmed_at__not_isnull=True)
        .order_by("rank")
        .first()
    )
    data = await gql(
        client,
        "mutation($i: String!, $p: String!) { cabinetLogin(applicantIin: $i, phone: $p) { challengeId errors { code } } }",
        {"i": application.applicant_iin, "p": phone.value},
    )
    challenge = data["data"]["cabinetLogin"]["challengeId"]
    data = await gql(
        client,
        "mutation($c: String!, $k: String!) { cabinetConfirmLogin(challengeId: $c, code: $k) { errors { code } } }",
        {"c": challenge, "k": await last_code(phone.value)},
    )
    assert data["data"]["cabinetConfirmLogin"]["errors"] == [], data


def message(code: str, **params) -> str:
    return DomainError(code, **params).message("en")


@pytest.fixture
async def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await client.get("/lang/en?next=/")
    return client


async def test_the_parent_reads_accepts_and_extends_once(api):
    referral = await offer()
    application = await Application.get(id=referral.application_id)
    await log_in(api, application)
    rid = str(referral.public_id)
    read = (await gql(api, READ, {"n": application.registration_number}))["data"]["application"]
    assert read["status"] == State.OFFERED
    [shown] = read["referrals"]
    assert shown["id"] == rid and shown["state"] == "OFFERED" and shown["window"] == "CHOSEN"
    assert shown["kindergartenCode"] == "AST-KG01" and shown["groupName"] == "Ромашка"
    assert shown["acceptBy"] == referral.accept_by.isoformat() and shown["daysLeft"] >= 1
    assert "first in the 2022 queue who chose AST-KG01" in shown["explanation"]["text"]
    assert read["passedOver"] == []  # an offered application is not waiting

    # Extending before accepting, or declining something unknown, is refused and changes nothing.
    early = (await gql(api, EXTEND, {"r": rid, "d": 5}))["data"]["cabinetExtendReferral"]
    assert early["errors"] == [{"field": None, "code": "referral.move", "message": message("referral.move")}]
    assert early["referral"] is None and early["application"] is None

    accepted = (await gql(api, ACCEPT, {"r": rid}))["data"]["cabinetAcceptOffer"]
    assert (
        accepted["errors"] == [] and accepted["referral"]["state"] == "ACCEPTED" and accepted["referral"]["canExtend"]
    )
    assert accepted["application"]["registrationNumber"] == application.registration_number
    present_by = (await Referral.get(id=referral.id)).present_by
    assert accepted["referral"]["presentBy"] == present_by.isoformat()

    for days in (0, -1, 31, 999, 2_000_000_000):
        refused = (await gql(api, EXTEND, {"r": rid, "d": days}))["data"]["cabinetExtendReferral"]
        assert refused["errors"] == [
            {"field": "days", "code": "referral.extension_days", "message": "An extension is 1 to 30 days."}
        ], days
    assert (await Referral.get(id=referral.id)).present_by == present_by

    extended = (await gql(api, EXTEND, {"r": rid, "d": 30}))["data"]["cabinetExtendReferral"]
    assert extended["errors"] == [] and extended["referral"]["state"] == "EXTENDED"
    assert extended["referral"]["presentBy"] == (present_by + timedelta(days=30)).isoformat()
    assert not extended["referral"]["canExtend"]
    again = (await gql(api, EXTEND, {"r": rid, "d": 1}))["data"]["cabinetExtendReferral"]
    assert again["errors"] == [
        {
            "field": "days",
            "code": "referral.extended",
            "message": "This referral has already been extended once: it cannot be extended again.",
        }
    ]
    assert (await Referral.get(id=referral.id)).present_by == present_by + timedelta(days=30)
    # An accepted referral is no longer declined: the state machine says no.
    declined = (await gql(api, DECLINE, {"r": rid}))["data"]["cabinetDeclineOffer"]
    assert [e["code"] for e in declined["errors"]] == ["referral.move"]
    assert (await Referral.get(id=referral.id)).state == ReferralState.EXTENDED


async def test_declining_a_chosen_offer_stop_lists_and_says_so(api):
    referral = await offer()
    application = await Application.get(id=referral.application_id)
    await log_in(api, application)
    result = (await gql(api, DECLINE, {"r": str(referral.public_id)}))["data"]["cabinetDeclineOffer"]
    assert result["errors"] == [] and result["referral"]["state"] == "DECLINED"
    assert result["application"]["status"] == State.SUSPENDED
    read = (await gql(api, READ, {"n": application.registration_number}))["data"]["application"]
    assert [r["state"] for r in read["referrals"]] == ["DECLINED"] and read["referrals"][0]["daysLeft"] == 0


async def test_nobody_else_may_answer_and_bad_ids_are_refused(api):
    referral = await offer()
    owner = await Application.get(id=referral.application_id)
    other = (
        await Application.filter(department__code="AST", cohort=COHORT, state=State.QUEUED.value)
        .exclude(applicant_iin=owner.applicant_iin)
        .first()
    )
    # Not logged in at all.
    for query, variables, name in (
        (ACCEPT, {"r": str(referral.public_id)}, "cabinetAcceptOffer"),
        (DECLINE, {"r": str(referral.public_id)}, "cabinetDeclineOffer"),
        (EXTEND, {"r": str(referral.public_id), "d": 3}, "cabinetExtendReferral"),
    ):
        result = (await gql(api, query, variables))["data"][name]
        assert [e["code"] for e in result["errors"]] == ["referral.unknown"], name
    # Another parent, in the cabinet: the same answer as for an unknown referral.
    await log_in(api, other)
    for rid in (str(referral.public_id), "not-a-uuid", "", "00000000-0000-0000-0000-000000000000", "1; DROP TABLE x"):
        result = (await gql(api, ACCEPT, {"r": rid}))["data"]["cabinetAcceptOffer"]
        assert result["errors"] == [
            {"field": None, "code": "referral.unknown", "message": message("referral.unknown")}
        ], rid
    assert (await gql(api, READ, {"n": owner.registration_number}))["data"]["application"] is None
    # An integrator reads the referrals of its department's applications, and cannot answer.
    token = await tokens.issue("portal", ["applications:read"], (await Department.get(code="AST")).id)
    read = (await gql(api, READ, {"n": owner.registration_number}, token=token))["data"]["application"]
    assert [r["id"] for r in read["referrals"]] == [str(referral.public_id)]
    result = (await gql(api, ACCEPT, {"r": str(referral.public_id)}, token=token))["data"]["cabinetAcceptOffer"]
    assert [e["code"] for e in result["errors"]] == ["referral.unknown"]
    after = await Referral.get(id=referral.id)
    assert after.state == ReferralState.OFFERED and after.version == referral.version


async def test_staff_see_the_referrals_in_the_application(api):
    referral = await offer()
    owner = await Application.get(id=referral.application_id)
    await staff.create("olga", "Ольга Операторова", "operator", "AST", PASSWORD)
    login = await gql(
        api,
        "mutation($u: String!, $p: String!) { staffLogin(username: $u, password: $p) { errors { code } } }",
        {"u": "olga", "p": PASSWORD},
    )
    assert login["data"]["staffLogin"]["errors"] == []
    data = await gql(
        api,
        "query($n: String!) { staffApplication(registrationNumber: $n) { application { referrals { id state } } } }",
        {"n": owner.registration_number},
    )
    assert data["data"]["staffApplication"]["application"]["referrals"] == [
        {"id": str(referral.public_id), "state": "OFFERED"}
    ]


async def test_a_waiting_parent_reads_why_others_got_seats(api):
    referral = await offer()
    waiting = await Application.filter(
        department__code="AST", cohort=COHORT, state=State.QUEUED.value
    ).prefetch_related("queue_entry", "preferences__kindergarten")
    behind = next(
        a
        for a in sorted(waiting, key=lambda a: a.queue_entry.number)
        if a.group_language == "ru" and "AST-KG01" in [p.kindergarten.code for p in a.preferences]
    )
    await log_in(api, behind)
    read = (await gql(api, READ, {"n": behind.registration_number}))["data"]["application"]
    [seen] = read["passedOver"]
    rank = next(p.rank for p in behind.preferences if p.kindergarten.code == "AST-KG01")
    assert seen["kindergarten"]["code"] == "AST-KG01" and seen["queueNumber"] == referral.queue_number
    assert seen["reason"] == "AHEAD" and seen["rank"] == rank
    assert seen["myQueueNumber"] == behind.queue_entry.number > referral.queue_number
    assert f"you listed it as choice {rank}" in seen["text"]
