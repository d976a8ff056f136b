"""The back-office over GraphQL: who may do what (each role × each operation × own or
other department, as a logged-in member of staff and as a staff-scoped token), the
parent's own and other applications, audit rows, and the stale-edit conflict."""

from __future__ import annotations

import pytest

from server.auth import staff, tokens
from server.domain import roles
from server.domain.phones import display as phones_display
from server.models import Application, AuditEntry, BenefitClaim, Contact, Department
from server.services import benefits
from tests.helpers import PDF, iin
from tests.helpers.graphql import gql

PASSWORD = "a long enough password"

READ = "query($n: String!) { staffApplication(registrationNumber: $n) { version application { registrationNumber child { iin } } } }"
QUEUE = "{ verificationQueue { registrationNumber claimId } }"
PAYLOAD = "application { version application { status benefitClass } } errors { field code message }"
MUTATIONS = {
    "application.edit": (
        'mutation($n: String!, $v: Int!, $p: String!) { staffSetPhone(registrationNumber: $n, version: $v, rank: 1, phone: $p, reason: "typo") { %s } }',
        lambda ctx: {"p": ctx["new_phone"]},
        "staffSetPhone",
    ),
    "application.transition": (
        'mutation($n: String!, $v: Int!) { staffTransition(registrationNumber: $n, version: $v, transition: "suspend", reason: "check") { %s } }',
        lambda ctx: {},
        "staffTransition",
    ),
    "benefit.decide": (
        'mutation($n: String!, $v: Int!, $c: ID!) { staffDecideBenefit(registrationNumber: $n, version: $v, claimId: $c, confirm: true, reason: "seen the original") { %s } }',
        lambda ctx: {"c": ctx["claim"]},
        "staffDecideBenefit",
    ),
    "benefit.manage": (
        'mutation($n: String!, $v: Int!, $c: ID!) { staffWithdrawBenefit(registrationNumber: $n, version: $v, claimId: $c, reason: "asked by phone") { %s } }',
        lambda ctx: {"c": ctx["claim"]},
        "staffWithdrawBenefit",
    ),
}


async def _target(code: str, child: str | None = None) -> dict:
    """A queued application of the department with a pending document claim."""
    query = Application.filter(department__code=code, state="queued")
    application = await (query.filter(child_iin=iin(child)) if child else query.order_by("id")).first()
    claim = await benefits.store_claim(application, "TEACHER_PARENT", "certificate.pdf", PDF, "applicant")
    return {"number": application.registration_number, "claim": str(claim.id), "id": application.id}


async def _version(number: str) -> int:
    return (await Application.get(registration_number=number)).version


async def _login(client, username: str) -> None:
    data = await gql(
        client,
        "mutation($u: String!, $p: String!) { staffLogin(username: $u, password: $p) { viewer { role } errors { code } } }",
        {"u": username, "p": PASSWORD},
    )
    assert data["data"]["staffLogin"]["errors"] == [], data


@pytest.fixture
async def targets(demo) -> dict[str, dict]:
    return {"own": await _target("AST", "adil"), "other": await _target("ALA")}


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize("as_token", [False, True], ids=["session", "token"])
async def test_each_role_may_do_what_its_table_says_and_only_in_its_department(client, targets, role, as_token):
    token = None
    if as_token:
        ast = await Department.get(code="AST")
        token = await tokens.issue(f"dept-system-{role}", [f"staff:{role}"], ast.id)
    else:
        kindergarten = "AST-KG01" if role in roles.KINDERGARTEN_ROLES else ""
        await staff.create(f"{role}.ast", "Тест", role, "AST", PASSWORD, kindergarten)
        await _login(client, f"{role}.ast")

    queue = await gql(client, QUEUE, token=token)
    if roles.allowed(role, "benefit.decide"):
        numbers = {row["registrationNumber"] for row in queue["data"]["verificationQueue"]}
        assert targets["own"]["number"] in numbers and targets["other"]["number"] not in numbers
    else:
        assert queue["errors"][0]["extensions"]["code"] == "auth.required"

    for where, target in targets.items():
        # A kindergarten's staff see no applications, only their referrals: all are "other".
        own = (
            where == "own"
            and roles.allowed(role, "application.read")
            and not (as_token and role in roles.KINDERGARTEN_ROLES)
        )
        number = target["number"]
        read = await gql(client, READ, {"n": number}, token=token)
        seen = read["data"]["staffApplication"]
        assert (seen is not None) == own, (role, where, read)
        if own:
            assert seen["application"]["child"]["iin"] == iin("adil")  # staff see the IIN

        for operation, (text, extra, name) in MUTATIONS.items():
            before_audit = await AuditEntry.filter(application_id=target["id"]).count()
            ctx = {"new_phone": "+77017778899", "claim": target["claim"]}
            variables = {"n": number, "v": await _version(number), **extra(ctx)}
            result = (await gql(client, text % PAYLOAD, variables, token=token))["data"][name]
            allowed = own and roles.allowed(role, operation)
            after_audit = await AuditEntry.filter(application_id=target["id"]).count()
            if allowed:
                assert result["errors"] == [], (role, operation, result)
                assert after_audit > before_audit
            else:
                codes = {e["code"] for e in result["errors"]}
                assert codes == ({"auth.required"} if own else {"application.unknown"}), (
                    role,
                    where,
                    operation,
                    result,
                )
                assert after_audit == before_audit
                # Another department's application is not even shown back.
                assert (result["application"] is None) == (not own)


async def test_every_staff_change_leaves_one_audit_row_per_changed_field(client, targets):
    await staff.create("olga", "Ольга Операторова", "operator", "AST", PASSWORD)
    await _login(client, "olga")
    number = targets["own"]["number"]
    app_id = targets["own"]["id"]

    mutation = f"""mutation($n: String!, $v: Int!) {{ staffSetPreferences(registrationNumber: $n, version: $v,
        kindergartenCodes: ["AST-KG02", "AST-KG05"], anyKindergarten: false, groupLanguage: "ru",
        desiredStart: "2030-09-01", reason: "parent called") {{ {PAYLOAD} }} }}"""
    before = await Application.get(id=app_id).prefetch_related("preferences__kindergarten")
    data = (await gql(client, mutation, {"n": number, "v": before.version}))["data"]["staffSetPreferences"]
    assert data["errors"] == []
    rows = await AuditEntry.filter(application_id=app_id).order_by("id")
    fields = [r.field for r in rows]
    changed = {"kindergartens", "desired_start"} | ({"group_language"} if before.group_language != "ru" else set())
    assert sorted(fields) == sorted(changed)
    by_field = {r.field: r for r in rows}
    assert by_field["desired_start"].after == "2030-09-01" and by_field["kindergartens"].after == "AST-KG02,AST-KG05"
    assert all(r.actor == "staff:olga" and r.ip == "127.0.0.9" and r.reason == "parent called" for r in rows)

    # The same values again: nothing changed, no audit row, no new version.
    version = await _version(number)
    data = (await gql(client, mutation, {"n": number, "v": version}))["data"]["staffSetPreferences"]
    assert data["errors"] == [] and await _version(number) == version
    assert await AuditEntry.filter(application_id=app_id).count() == len(changed)


async def test_a_stale_edit_is_refused_with_the_current_value(client, targets):
    await staff.create("olga", "Ольга", "operator", "AST", PASSWORD)
    await _login(client, "olga")
    number = targets["own"]["number"]
    stale = await _version(number)
    text = (
        MUTATIONS["application.edit"][0]
        % "application { version application { contacts { kind value } } } errors { code message }"
    )
    first = (await gql(client, text, {"n": number, "v": stale, "p": "+77011234567"}))["data"]["staffSetPhone"]
    assert first["errors"] == []
    second = (await gql(client, text, {"n": number, "v": stale, "p": "+77017654321"}))["data"]["staffSetPhone"]
    assert [e["code"] for e in second["errors"]] == ["edit.stale"]
    phones = [c["value"] for c in second["application"]["application"]["contacts"] if c["kind"] == "phone"]
    assert phones[0] == phones_display("+77011234567")  # the current value, shown back
    assert second["application"]["version"] == stale + 1
    stored = await Contact.get(application_id=targets["own"]["id"], kind="phone", rank=1)
    assert stored.value == "+77011234567"
    assert await AuditEntry.filter(application_id=targets["own"]["id"]).count() == 1


async def test_a_confirmed_benefit_is_told_and_moves_the_application(client, targets, rt):
    from server.models import Notification, QueueEntry
    from tests.helpers import drain_jobs

    await staff.create("vera", "Вера", "verifier", "AST", PASSWORD)
    await _login(client, "vera")
    own = targets["own"]
    text = MUTATIONS["benefit.decide"][0] % PAYLOAD
    data = (await gql(client, text, {"n": own["number"], "v": await _version(own["number"]), "c": own["claim"]}))[
        "data"
    ]["staffDecideBenefit"]
    assert data["errors"] == [] and data["application"]["application"]["benefitClass"] == "priority"
    await drain_jobs(rt.redis)
    assert (await QueueEntry.get(application_id=own["id"])).number == 1  # a priority turn comes first
    message = await Notification.get(kind="benefit_confirmed", application_id=own["id"])
    assert own["number"] in message.body
    fields = await AuditEntry.filter(application_id=own["id"]).values_list("field", flat=True)
    assert sorted(fields) == ["benefit:TEACHER_PARENT", "benefit_class"]


async def test_a_rejection_and_a_transition_need_a_reason(client, targets):
    await staff.create("adm", "Админ", "admin", "AST", PASSWORD)
    await _login(client, "adm")
    own = targets["own"]
    reject = """mutation($n: String!, $v: Int!, $c: ID!) { staffDecideBenefit(registrationNumber: $n, version: $v, claimId: $c,
        confirm: false, reason: "  ") { errors { field code } } }"""
    data = (await gql(client, reject, {"n": own["number"], "v": await _version(own["number"]), "c": own["claim"]}))[
        "data"
    ]
    assert data["staffDecideBenefit"]["errors"] == [{"field": "reason", "code": "reason.required"}]
    assert (await BenefitClaim.get(id=int(own["claim"]))).status == "pending"
    move = """mutation($n: String!, $v: Int!) { staffTransition(registrationNumber: $n, version: $v, transition: "enrol", reason: "x") { errors { code } } }"""
    data = (await gql(client, move, {"n": own["number"], "v": await _version(own["number"])}))["data"]
    assert data["staffTransition"]["errors"] == [{"code": "application.transition"}]
    assert await AuditEntry.filter(application_id=own["id"]).count() == 0


async def test_the_audit_log_cannot_be_changed_through_the_application(targets):
    from tortoise.exceptions import BaseORMException

    row = await AuditEntry.create(
        actor="staff:x",
        department_id=1,
        application_id=targets["own"]["id"],
        entity="application",
        field="state",
        before="queued",
        after="suspended",
    )
    row.after = "queued"
    with pytest.raises(BaseORMException):
        await row.save()
    with pytest.raises(BaseORMException):
        await row.delete()
    # Past the model too: the database refuses.
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=row.id).update(after="queued")
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=row.id).delete()
    assert (await AuditEntry.get(id=row.id)).after == "suspended"


# --- the parent's own and other applications -----------------------------------------


async def _cabinet_login(client, parent: str, phone: str) -> None:
    from tests.helpers import last_code

    data = await gql(
        client,
        "mutation($i: String!, $p: String!) { cabinetLogin(applicantIin: $i, phone: $p) { challengeId errors { code } } }",
        {"i": iin(parent), "p": phone},
    )
    challenge = data["data"]["cabinetLogin"]["challengeId"]
    code = await last_code(phone)
    data = await gql(
        client,
        "mutation($c: String!, $k: String!) { cabinetConfirmLogin(challengeId: $c, code: $k) { applications { registrationNumber } errors { code } } }",
        {"c": challenge, "k": code},
    )
    assert data["data"]["cabinetConfirmLogin"]["errors"] == [], data


async def test_a_parent_changes_only_their_own_applications(client, targets):
    own = await Application.get(child_iin=iin("adil"))
    phone = (await Contact.get(application=own, kind="phone", rank=1)).value
    await _cabinet_login(client, "asel", phone)
    mine = await gql(client, "{ myApplications { registrationNumber } }")
    assert [a["registrationNumber"] for a in mine["data"]["myApplications"]] == [own.registration_number]

    change = 'mutation($n: String!) { cabinetSetNotifications(registrationNumber: $n, channel: "sms", language: "en") { errors { code } } }'
    ok = await gql(client, change, {"n": own.registration_number})
    assert ok["data"]["cabinetSetNotifications"]["errors"] == []
    assert (await Application.get(id=own.id)).notify_language == "en"
    other = await gql(client, change, {"n": targets["other"]["number"]})
    assert other["data"]["cabinetSetNotifications"]["errors"] == [{"code": "application.unknown"}]
    # A parent is no member of staff.
    assert (await gql(client, READ, {"n": own.registration_number}))["data"]["staffApplication"] is None


async def test_a_login_that_does_not_match_sends_nothing_and_opens_nothing(client, targets):
    from server.models import Notification

    data = await gql(
        client,
        "mutation($i: String!, $p: String!) { cabinetLogin(applicantIin: $i, phone: $p) { challengeId errors { code } } }",
        {"i": iin("asel"), "p": "+77019998877"},
    )
    assert data["data"]["cabinetLogin"]["challengeId"] and data["data"]["cabinetLogin"]["errors"] == []
    assert not await Notification.filter(kind="otp", recipient="+77019998877").exists()
    guess = await gql(
        client,
        'mutation($c: String!) { cabinetConfirmLogin(challengeId: $c, code: "000000") { errors { code } } }',
        {"c": data["data"]["cabinetLogin"]["challengeId"]},
    )
    assert guess["data"]["cabinetConfirmLogin"]["errors"][0]["code"] in ("otp.invalid", "otp.exhausted")
    assert (await gql(client, "{ myApplications { registrationNumber } }"))["data"]["myApplications"] == []
