"""The back-office of kindergartens, groups, seats and referrals over GraphQL (issue 9):
each role may do what `server/domain/roles.py` says and only in its own department (a
kindergarten account: in its own kindergarten); every change is audited; a change on a
stale version is refused with the current values; bad input gets a coded message in the
caller's language and changes nothing; the dry run writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.auth import staff
from server.auth.principal import Principal
from server.demo_data import BY_KEY
from server.domain import roles
from server.domain.places import SeatState
from server.domain.referrals import ReferralState
from server.domain.states import State
from server.errors import DomainError
from server.models import Application, AuditEntry, Department, Group, Kindergarten, Referral, Seat
from server.services import allocation, places, referrals
from tests.helpers import iin
from tests.helpers.graphql import gql

PASSWORD = "a long enough password"
COHORT = BY_KEY["adil"].born.year  # 2022: adil (AST-KG01), q1c (AST-KG03) and q9c (ALA-KG11), all Russian

GROUP = "id kindergartenCode name cohort language capacity enrolled active version openSeats offeredSeats"
GROUP_PAYLOAD = f"group {{ {GROUP} }} seats errors {{ field code message }}"
KINDERGARTEN = "code name nameKk nameRu nameEn address languages active version"
REFERRAL_PAYLOAD = "referral { registrationNumber childName referral { id state } } errors { field code message }"

PUBLISH = f"mutation($g: ID!, $n: Int!) {{ staffPublishSeats(groupId: $g, count: $n) {{ {GROUP_PAYLOAD} }} }}"
WITHDRAW = f"mutation($g: ID!, $n: Int!) {{ staffWithdrawSeats(groupId: $g, count: $n) {{ {GROUP_PAYLOAD} }} }}"
CREATE_GROUP = f"""mutation($k: String!, $name: String!, $c: Int!, $l: String!, $cap: Int!, $e: Int!, $r: String!) {{
  staffCreateGroup(kindergartenCode: $k, name: $name, cohort: $c, language: $l, capacity: $cap, enrolled: $e, reason: $r)
  {{ {GROUP_PAYLOAD} }} }}"""
UPDATE_GROUP = f"""mutation($g: ID!, $v: Int!, $name: String!, $c: Int!, $l: String!, $cap: Int!, $e: Int!, $a: Boolean!) {{
  staffUpdateGroup(groupId: $g, version: $v, name: $name, cohort: $c, language: $l, capacity: $cap, enrolled: $e,
    active: $a, reason: "new school year") {{ {GROUP_PAYLOAD} }} }}"""
CREATE_KINDERGARTEN = f"""mutation($code: String!, $kk: String!, $ru: String!, $en: String!, $addr: String!, $langs: [String!]!) {{
  staffCreateKindergarten(code: $code, nameKk: $kk, nameRu: $ru, nameEn: $en, address: $addr, languages: $langs)
  {{ kindergarten {{ {KINDERGARTEN} }} errors {{ field code message }} }} }}"""
UPDATE_KINDERGARTEN = f"""mutation($code: String!, $v: Int!, $kk: String!, $ru: String!, $en: String!, $addr: String!,
    $langs: [String!]!, $a: Boolean!, $r: String!) {{
  staffUpdateKindergarten(code: $code, version: $v, nameKk: $kk, nameRu: $ru, nameEn: $en, address: $addr,
    languages: $langs, active: $a, reason: $r) {{ kindergarten {{ {KINDERGARTEN} }} errors {{ field code message }} }} }}"""
ENROL = f"mutation($id: ID!) {{ staffEnrol(referralId: $id) {{ {REFERRAL_PAYLOAD} }} }}"
NO_SHOW = f"mutation($id: ID!, $r: String!) {{ staffNoShow(referralId: $id, reason: $r) {{ {REFERRAL_PAYLOAD} }} }}"
CANCEL = (
    f"mutation($id: ID!, $r: String!) {{ staffCancelReferral(referralId: $id, reason: $r) {{ {REFERRAL_PAYLOAD} }} }}"
)
CONFIRM = f"mutation($id: ID!) {{ staffConfirmReferralBenefit(referralId: $id) {{ {REFERRAL_PAYLOAD} }} }}"
REFERRALS = """query($s: String!, $k: String!, $first: Int!, $after: String) {
  staffReferrals(state: $s, kindergartenCode: $k, first: $first, after: $after) {
    edges { cursor node { registrationNumber childName benefitClass canEnrol canNoShow canCancel canConfirmBenefit
      referral { id state kindergartenCode groupName queueNumber } } }
    pageInfo { hasNextPage endCursor } } }"""
DRY_RUN = """query($c: Int!, $seats: [SeatsInput!]) { allocationDryRun(cohort: $c, seats: $seats) {
  cohort rows { registrationNumber queueNumber kindergartenCode groupId groupName rank window hypothetical }
  errors { field code message } } }"""

# Who stands where: a kindergarten account is AST-KG01's.
TARGETS = ("own", "sibling", "other")  # AST-KG01, AST-KG03 (same department), ALA-KG11
ROLE_SEES = {
    "operator": {"own", "sibling"},
    "verifier": {"own", "sibling"},
    "admin": {"own", "sibling"},
    "kindergarten": {"own"},
}


def message(code: str, **params) -> str:
    return DomainError(code, **params).message("en")


async def login(client, role: str, department: str = "AST") -> None:
    await client.get("/lang/en")
    username = f"{role}.{department.lower()}"
    kindergarten = f"{department}-KG01" if role in roles.KINDERGARTEN_ROLES else ""
    await staff.create(username, "Тест", role, department, PASSWORD, kindergarten)
    data = await gql(
        client,
        "mutation($u: String!, $p: String!) { staffLogin(username: $u, password: $p) { errors { code } } }",
        {"u": username, "p": PASSWORD},
    )
    assert data["data"]["staffLogin"]["errors"] == [], data


def admin_of(department: Department) -> Principal:
    return Principal(kind="staff", name="setup", department_id=department.id, role="admin", staff_id=999)


@pytest.fixture
async def groups(demo) -> dict[str, Group]:
    """A Russian 2022 group in AST-KG01, AST-KG03 and ALA-KG11, each with 5 free places."""
    made = {}
    for target, code in zip(TARGETS, ("AST-KG01", "AST-KG03", "ALA-KG11"), strict=True):
        kindergarten = await Kindergarten.get(code=code)
        made[target] = await Group.create(
            kindergarten=kindergarten,
            department_id=kindergarten.department_id,
            name=f"Ru {COHORT}",
            cohort=COHORT,
            language="ru",
            capacity=25,
            enrolled=20,
        )
    return made


async def _state() -> tuple:
    """Everything a refused change must leave as it was."""
    return (
        await Seat.all().order_by("id").values_list("id", "state"),
        await Group.all().order_by("id").values_list("id", "version", "name", "capacity", "enrolled", "active"),
        await Kindergarten.all().order_by("id").values_list("id", "version", "name_en", "active"),
        await Referral.all().order_by("id").values_list("id", "state", "benefit_confirmed_at"),
        await AuditEntry.all().count(),
    )


async def _referrals(groups: dict[str, Group], *, accept: bool = True, extraordinary: bool = False) -> dict[str, str]:
    """One referral in each target group (to adil, q1c and q9c), accepted by the parent."""
    found = {}
    for group in groups.values():
        department = await Department.get(id=group.department_id)
        await places.publish(places.Staff(admin_of(department)), group.id, 1)
    for department in await Department.all():
        await allocation.run(department.id, COHORT)
    for target, group in groups.items():
        referral = await Referral.get(group_id=group.id)
        if extraordinary:
            referral.confirm_by = referral.accept_by + timedelta(days=7)
            await referral.save()
        if accept:
            parent = Principal(kind="applicant", cabinet_ids=frozenset({referral.application_id}))
            await referrals.accept(parent, str(referral.public_id))
        found[target] = str(referral.public_id)
    return found


# --- who may do what -------------------------------------------------------------------


@pytest.mark.parametrize("role", roles.ROLES)
async def test_seats_are_published_and_withdrawn_by_whom_the_table_says_and_only_in_scope(client, groups, role):
    await login(client, role)
    for target, group in groups.items():
        allowed = roles.allowed(role, "seat.publish") and target in ROLE_SEES[role]
        before = await _state()
        data = (await gql(client, PUBLISH, {"g": str(group.id), "n": 2}))["data"]["staffPublishSeats"]
        if allowed:
            assert data["errors"] == [], (role, target, data)
            assert data["seats"] == 2 and data["group"]["openSeats"] == 2
            assert await Seat.filter(group_id=group.id, state=SeatState.OPEN.value).count() == 2
            row = await AuditEntry.get(entity="group", entity_id=str(group.id), field="seats_published")
            assert (row.actor, row.before, row.after, row.ip) == (f"staff:{role}.ast", "0", "2", "127.0.0.9")
            data = (await gql(client, WITHDRAW, {"g": str(group.id), "n": 1}))["data"]["staffWithdrawSeats"]
            assert data["errors"] == [] and data["seats"] == 1 and data["group"]["openSeats"] == 1
            seat_ids = [str(i) for i in await Seat.filter(group_id=group.id).values_list("id", flat=True)]
            rows = await AuditEntry.filter(entity="seat", entity_id__in=seat_ids).values_list("field", "after")
            assert rows == [("state", SeatState.WITHDRAWN.value)]
        else:
            code = "auth.required" if not roles.allowed(role, "seat.publish") else "group.unknown"
            assert [e["code"] for e in data["errors"]] == [code], (role, target, data)
            assert data["errors"][0]["message"] == message(code)
            data = (await gql(client, WITHDRAW, {"g": str(group.id), "n": 1}))["data"]["staffWithdrawSeats"]
            assert [e["code"] for e in data["errors"]] == [code], (role, target, data)
            assert await _state() == before
            # The group is shown back to whoever may read it, and to nobody else.
            assert (data["group"] is not None) == (target in ROLE_SEES[role])


@pytest.mark.parametrize("role", roles.ROLES)
async def test_only_a_department_admin_manages_kindergartens_and_groups_of_its_own_department(client, groups, role):
    await login(client, role)
    admin = roles.allowed(role, "kindergarten.manage")
    before = await _state()
    variables = {"k": "AST-KG02", "name": "Kk 2023", "c": 2023, "l": "kk", "cap": 20, "e": 3, "r": "opened"}
    created = (await gql(client, CREATE_GROUP, variables))["data"]["staffCreateGroup"]
    other = (await gql(client, CREATE_GROUP, {**variables, "k": "ALA-KG01"}))["data"]["staffCreateGroup"]
    if admin:
        assert created["errors"] == [] and created["group"]["kindergartenCode"] == "AST-KG02"
        assert [e["code"] for e in other["errors"]] == ["kindergarten.unknown"]
        group = await Group.get(id=int(created["group"]["id"]))
        fields = await AuditEntry.filter(entity="group", entity_id=str(group.id)).values_list("field", "after")
        assert sorted(fields) == sorted(
            [("name", "Kk 2023"), ("cohort", "2023"), ("language", "kk"), ("capacity", "20"), ("enrolled", "3"),
             ("active", "True")]
        )  # fmt: skip
        assert await AuditEntry.filter(entity="group", reason="opened").count() == 6
    else:
        assert [e["code"] for e in created["errors"]] == ["auth.required"]
        assert [e["code"] for e in other["errors"]] == ["auth.required"]
        assert await _state() == before

    for target, group in groups.items():
        update = {"g": str(group.id), "v": group.version, "name": "Renamed", "c": COHORT, "l": "ru", "cap": 24}
        data = (await gql(client, UPDATE_GROUP, {**update, "e": 20, "a": True}))["data"]["staffUpdateGroup"]
        if admin and target != "other":
            assert data["errors"] == [] and data["group"]["name"] == "Renamed" and data["group"]["version"] == 2
        else:
            assert [e["code"] for e in data["errors"]] == ["auth.required" if not admin else "group.unknown"]
            assert (await Group.get(id=group.id)).name == f"Ru {COHORT}"

    kg = await Kindergarten.get(code="AST-KG02")
    for code in ("AST-KG02", "ALA-KG02"):
        variables = {"code": code, "v": 1, "kk": "Жаңа", "ru": "Новый", "en": "New", "addr": "Street 1"}
        data = (await gql(client, UPDATE_KINDERGARTEN, {**variables, "langs": ["kk"], "a": False, "r": "renamed"}))[
            "data"
        ]["staffUpdateKindergarten"]
        if admin and code.startswith("AST"):
            assert data["errors"] == [] and data["kindergarten"]["nameEn"] == "New"
            assert data["kindergarten"]["active"] is False and data["kindergarten"]["version"] == kg.version + 1
        else:
            assert [e["code"] for e in data["errors"]] == ["auth.required" if not admin else "kindergarten.unknown"]
    new = {"code": "AST-KG99", "kk": "Тоғыз", "ru": "Девять", "en": "Nine", "addr": "", "langs": ["kk", "ru"]}
    data = (await gql(client, CREATE_KINDERGARTEN, new))["data"]["staffCreateKindergarten"]
    if admin:
        assert data["errors"] == [] and data["kindergarten"]["languages"] == ["kk", "ru"]
        again = (await gql(client, CREATE_KINDERGARTEN, new))["data"]["staffCreateKindergarten"]
        assert [e["code"] for e in again["errors"]] == ["kindergarten.exists"]
        wrong = (await gql(client, CREATE_KINDERGARTEN, {**new, "code": "ALA-KG99"}))["data"]["staffCreateKindergarten"]
        assert [e["code"] for e in wrong["errors"]] == ["kindergarten.code"]  # not this department's code
        assert not await Kindergarten.filter(code="ALA-KG99").exists()
    else:
        assert [e["code"] for e in data["errors"]] == ["auth.required"]
        assert not await Kindergarten.filter(code="AST-KG99").exists()


async def test_an_integrators_staff_token_acts_for_its_department_and_never_as_a_kindergarten(client, groups):
    from server.auth import tokens

    ast = await Department.get(code="AST")
    admin = await tokens.issue("city-crm", ["staff:admin"], ast.id)
    kindergarten = await tokens.issue("kg-app", ["staff:kindergarten"], ast.id)
    own, other = str(groups["own"].id), str(groups["other"].id)
    data = (await gql(client, PUBLISH, {"g": own, "n": 1}, token=admin))["data"]["staffPublishSeats"]
    assert data["errors"] == [] and data["seats"] == 1
    row = await AuditEntry.get(entity="group", entity_id=own)
    assert row.actor == "integrator:city-crm"
    data = (await gql(client, PUBLISH, {"g": other, "n": 1}, token=admin))["data"]["staffPublishSeats"]
    assert [e["code"] for e in data["errors"]] == ["group.unknown"]
    # A kindergarten role is bound to one kindergarten: only an account has it.
    data = (await gql(client, PUBLISH, {"g": own, "n": 1}, token=kindergarten))["data"]["staffPublishSeats"]
    assert [e["code"] for e in data["errors"]] == ["auth.required"]
    listed = await gql(client, "{ staffGroups { id } }", token=kindergarten)
    assert listed["errors"][0]["extensions"]["code"] == "auth.required"
    assert await Seat.filter(group_id__in=[groups["own"].id, groups["other"].id]).count() == 1


MOVES = {
    "referral.enrol": (ENROL, {}, "staffEnrol", ReferralState.ENROLLED),
    "no_show": (NO_SHOW, {"r": "did not come"}, "staffNoShow", ReferralState.EXPIRED),
    "referral.cancel": (CANCEL, {"r": "wrong cohort"}, "staffCancelReferral", ReferralState.CANCELLED),
    "referral.confirm_benefit": (CONFIRM, {}, "staffConfirmReferralBenefit", ReferralState.ACCEPTED),
}


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("role", roles.ROLES)
async def test_referrals_are_moved_by_whom_the_table_says_and_only_in_scope(client, groups, role, move):
    text, extra, name, after = MOVES[move]
    operation = "referral.enrol" if move == "no_show" else move
    found = await _referrals(groups, extraordinary=move == "referral.confirm_benefit")
    await login(client, role)
    for target, public_id in found.items():
        allowed = roles.allowed(role, operation) and target in ROLE_SEES[role]
        referral = await Referral.get(public_id=public_id)
        audit = await AuditEntry.filter(entity="referral", entity_id=public_id).count()
        data = (await gql(client, text, {"id": public_id, **extra}))["data"][name]
        now = await Referral.get(public_id=public_id)
        if allowed:
            assert data["errors"] == [], (role, move, target, data)
            assert now.state == after and data["referral"]["referral"]["state"] == after.name
            assert await AuditEntry.filter(entity="referral", entity_id=public_id).count() == audit + 1
            application = await Application.get(id=now.application_id)
            assert data["referral"]["registrationNumber"] == application.registration_number
            if after is ReferralState.ENROLLED:
                assert application.state == State.ENROLLED
                assert (await Seat.get(id=now.seat_id)).state == SeatState.FILLED
            if move == "referral.confirm_benefit":
                assert now.benefit_confirmed_at is not None
        else:
            assert [e["code"] for e in data["errors"]] == ["referral.unknown"], (role, move, target, data)
            assert (now.state, now.benefit_confirmed_at, now.version) == (
                referral.state,
                referral.benefit_confirmed_at,
                referral.version,
            )
            assert await AuditEntry.filter(entity="referral", entity_id=public_id).count() == audit
            # What the caller may read is shown back as it is; nothing else is.
            shown = roles.allowed(role, "referral.read") and target in ROLE_SEES[role]
            assert (data["referral"] is not None) == shown


# --- reading --------------------------------------------------------------------------


async def test_each_account_reads_its_own_kindergartens_groups_and_referrals(client, groups):
    found = await _referrals(groups, accept=False)
    await login(client, "kindergarten")
    kindergartens = (await gql(client, f"{{ staffKindergartens {{ {KINDERGARTEN} }} }}"))["data"]
    assert [k["code"] for k in kindergartens["staffKindergartens"]] == ["AST-KG01"]
    seen = (await gql(client, f"{{ staffGroups {{ {GROUP} }} }}"))["data"]["staffGroups"]
    assert str(groups["own"].id) in {g["id"] for g in seen}
    assert {g["kindergartenCode"] for g in seen} == {"AST-KG01"}
    mine = next(g for g in seen if g["id"] == str(groups["own"].id))
    assert mine["offeredSeats"] == 1 and mine["openSeats"] == 0
    page = (await gql(client, REFERRALS, {"s": "open", "k": "", "first": 10}))["data"]["staffReferrals"]
    assert [e["node"]["referral"]["id"] for e in page["edges"]] == [found["own"]]
    node = page["edges"][0]["node"]
    offered = await Application.get(id=(await Referral.get(public_id=found["own"])).application_id)
    assert node["registrationNumber"] == offered.registration_number
    child = next(p for p in BY_KEY.values() if iin(p.key) == offered.child_iin)
    assert node["childName"].split()[:2] == [child.surname, child.given_name]  # staff see it, to enrol the child
    assert node["canEnrol"] is False and node["canNoShow"] is False  # offered, not accepted yet
    assert node["canCancel"] is False and node["canConfirmBenefit"] is False
    # Another kindergarten's code finds nothing, an unknown state or cursor is refused.
    none = await gql(client, REFERRALS, {"s": "", "k": "AST-KG03", "first": 10})
    assert none["data"]["staffReferrals"]["edges"] == []
    bad = await gql(client, REFERRALS, {"s": "lost", "k": "", "first": 10})
    assert bad["errors"][0]["extensions"]["code"] == "filter.state"
    assert bad["errors"][0]["message"] == message("filter.state")
    for cursor in ("x", "-1", "99999999999999999999"):
        bad = await gql(client, REFERRALS, {"s": "", "k": "", "first": 10, "after": cursor})
        assert bad["errors"][0]["extensions"]["code"] == "cursor.invalid"
    for code in ("AST-KG01\x00", "A" * 40):
        bad = await gql(client, REFERRALS, {"s": "", "k": code, "first": 10})
        assert bad["errors"][0]["extensions"]["code"] == "kindergarten.unknown"
    bad = await gql(client, REFERRALS, {"s": "", "k": "", "first": 0})
    assert bad["errors"][0]["extensions"]["code"] == "page.size"

    await login(client, "operator")
    page = (await gql(client, REFERRALS, {"s": "offered", "k": "", "first": 1}))["data"]["staffReferrals"]
    assert [e["node"]["referral"]["id"] for e in page["edges"]] == [found["sibling"]]  # newest first
    assert page["edges"][0]["node"]["canCancel"] is True and page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    page = (await gql(client, REFERRALS, {"s": "offered", "k": "", "first": 1, "after": after}))["data"]
    assert [e["node"]["referral"]["id"] for e in page["staffReferrals"]["edges"]] == [found["own"]]
    assert page["staffReferrals"]["pageInfo"]["hasNextPage"] is False
    kindergartens = (await gql(client, "{ staffKindergartens { code } }"))["data"]["staffKindergartens"]
    assert len(kindergartens) == 12 and all(k["code"].startswith("AST-") for k in kindergartens)
    seen = (await gql(client, 'query { staffGroups(kindergartenCode: "ast-kg03") { id kindergartenCode } }'))["data"]
    assert str(groups["sibling"].id) in {g["id"] for g in seen["staffGroups"]}
    assert {g["kindergartenCode"] for g in seen["staffGroups"]} == {"AST-KG03"}

    await gql(client, "mutation { signOut }")
    for query in ("{ staffKindergartens { code } }", "{ staffGroups { id } }"):
        assert (await gql(client, query))["errors"][0]["extensions"]["code"] == "auth.required"
    anonymous = await gql(client, REFERRALS, {"s": "", "k": "", "first": 10})
    assert anonymous["errors"][0]["extensions"]["code"] == "auth.required"


# --- versions and audit ---------------------------------------------------------------


async def test_a_stale_change_is_refused_with_the_current_values(client, groups):
    await login(client, "admin")
    group = groups["own"]
    base = {"g": str(group.id), "name": "Ru A", "c": COHORT, "l": "ru", "cap": 25, "e": 20, "a": True}
    first = (await gql(client, UPDATE_GROUP, {**base, "v": 1}))["data"]["staffUpdateGroup"]
    assert first["errors"] == [] and first["group"]["version"] == 2
    audit = await AuditEntry.all().count()
    second = (await gql(client, UPDATE_GROUP, {**base, "v": 1, "name": "Ru B", "cap": 30}))["data"]["staffUpdateGroup"]
    assert [e["code"] for e in second["errors"]] == ["edit.stale"]
    assert "Someone changed this" in second["errors"][0]["message"]
    assert second["group"]["name"] == "Ru A" and second["group"]["version"] == 2  # the current values, shown back
    assert (await Group.get(id=group.id)).capacity == 25 and await AuditEntry.all().count() == audit
    # The same values again: nothing changes, no audit row, no new version.
    same = (await gql(client, UPDATE_GROUP, {**base, "v": 2}))["data"]["staffUpdateGroup"]
    assert same["errors"] == [] and same["group"]["version"] == 2 and await AuditEntry.all().count() == audit

    kg = await Kindergarten.get(code="AST-KG01")
    update = {"code": "AST-KG01", "kk": kg.name_kk, "ru": kg.name_ru, "en": "Renamed", "addr": kg.address}
    done = await gql(
        client, UPDATE_KINDERGARTEN, {**update, "v": kg.version, "langs": ["kk", "ru"], "a": True, "r": ""}
    )
    assert done["data"]["staffUpdateKindergarten"]["errors"] == []
    row = await AuditEntry.get(entity="kindergarten", entity_id="AST-KG01")
    assert (row.field, row.before, row.after, row.actor) == ("name_en", kg.name_en, "Renamed", "staff:admin.ast")
    stale = await gql(
        client, UPDATE_KINDERGARTEN, {**update, "en": "Again", "v": kg.version, "langs": ["kk"], "a": True, "r": ""}
    )
    data = stale["data"]["staffUpdateKindergarten"]
    assert [e["code"] for e in data["errors"]] == ["edit.stale"]
    assert data["kindergarten"]["nameEn"] == "Renamed" and data["kindergarten"]["version"] == kg.version + 1
    assert (await Kindergarten.get(code="AST-KG01")).languages == "kk,ru"


# --- bad input --------------------------------------------------------------------------


async def test_bad_input_gets_a_coded_localized_error_and_changes_nothing(client, groups):
    await login(client, "admin")
    group = str(groups["own"].id)
    before = await _state()

    def codes(data: dict) -> list[tuple[str | None, str]]:
        for error in data["errors"]:
            assert error["message"] and error["message"] != error["code"], error  # a sentence, not a code
        return [(e["field"], e["code"]) for e in data["errors"]]

    async def call(text: str, variables: dict, name: str) -> dict:
        answer = await gql(client, text, variables)
        assert "errors" not in answer, answer
        return answer["data"][name]

    # Seats: at most the group's free places (25 - 20), at least one.
    for count in (0, -1, 6, 10**6, 2**31 - 1):
        data = await call(PUBLISH, {"g": group, "n": count}, "staffPublishSeats")
        assert codes(data) == [("count", "seats.count")]
        assert data["errors"][0]["message"] == message("seats.count", max=5)
        assert data["group"]["openSeats"] == 0  # the group as it is, shown back
    for count in (0, -1, 10**6):
        data = await call(WITHDRAW, {"g": group, "n": count}, "staffWithdrawSeats")
        assert codes(data) == [("count", "seats.none_open")]
    for unknown in ("999999", "0", "-1", "abc", "99999999999999999999", "1\x00", " "):
        data = await call(PUBLISH, {"g": unknown, "n": 1}, "staffPublishSeats")
        assert codes(data) == [("group", "group.unknown")], unknown
        data = await call(WITHDRAW, {"g": unknown, "n": 1}, "staffWithdrawSeats")
        assert codes(data) == [("group", "group.unknown")], unknown
    # Not a number at all, or past GraphQL's Int: the request is refused as invalid.
    for count in ('"abc"', "2147483648", "1.5"):
        answer = await gql(client, f'mutation {{ staffPublishSeats(groupId: "{group}", count: {count}) {{ seats }} }}')
        assert answer["errors"] and answer.get("data") is None
    reason = await call(
        'mutation($g: ID!) { staffPublishSeats(groupId: $g, count: 1, reason: "a\\u0000b") { seats errors { field code message } } }',
        {"g": group},
        "staffPublishSeats",
    )
    assert codes(reason) == [("reason", "text.control")]

    # Groups: names too long or with NUL, cohort out of range, capacity and enrolment.
    new = {"k": "AST-KG02", "name": "Kk 2023", "c": 2023, "l": "kk", "cap": 20, "e": 3, "r": ""}
    cases = [
        ({"name": "x" * 101}, [("name", "name.too_long")]),
        ({"name": "Kk\x002023"}, [("name", "text.control")]),
        ({"name": "   "}, [("name", "name.required")]),
        ({"c": 1990}, [("cohort", "group.cohort")]),
        ({"c": 2100}, [("cohort", "group.cohort")]),
        ({"cap": 0, "e": 0}, [("capacity", "group.capacity")]),
        ({"cap": 61, "e": 0}, [("capacity", "group.capacity")]),
        ({"e": 21}, [("enrolled", "group.enrolled")]),
        ({"e": -1}, [("enrolled", "group.enrolled")]),
        ({"l": "de"}, [("language", "language.invalid")]),
        ({"l": "kk\x00"}, [("language", "language.invalid")]),
        ({"k": "AST-KG77"}, [("kindergarten", "kindergarten.unknown")]),
        ({"k": "AST-KG01\x00"}, [("kindergarten", "kindergarten.unknown")]),
        ({"r": "x" * 501}, [("reason", "reason.too_long")]),
        ({"name": f"Ru {COHORT}", "k": "AST-KG01"}, [("name", "group.exists")]),
    ]
    for change, expected in cases:
        data = await call(CREATE_GROUP, {**new, **change}, "staffCreateGroup")
        assert codes(data) == expected, change
    data = await call(CREATE_GROUP, {**new, "c": 1990}, "staffCreateGroup")
    today = __import__("datetime").date.today()
    ast = await Department.get(code="AST")
    assert data["errors"][0]["message"] == message("group.cohort", min=today.year - ast.max_age_years, max=today.year)
    update = {"g": group, "v": 1, "name": "Ru", "c": COHORT, "l": "ru", "cap": 25, "e": 20, "a": True}
    for change, expected in [
        ({"name": "y" * 300}, [("name", "name.too_long")]),
        ({"c": 1900}, [("cohort", "group.cohort")]),
        ({"g": "nope"}, [("group", "group.unknown")]),
        ({"v": 2**31 - 1}, [(None, "edit.stale")]),
    ]:
        data = await call(UPDATE_GROUP, {**update, **change}, "staffUpdateGroup")
        assert codes(data) == expected, change

    # Kindergartens: names too long or with NUL, codes, languages, addresses.
    kg = {"code": "AST-KG50", "kk": "Елу", "ru": "Пятьдесят", "en": "Fifty", "addr": "", "langs": ["kk"]}
    for change, expected in [
        ({"en": "n" * 201}, [("name_en", "name.too_long")]),
        ({"kk": "\x00"}, [("name_kk", "text.control")]),
        ({"ru": ""}, [("name_ru", "name.required")]),
        ({"addr": "a" * 301}, [("address", "address.too_long")]),
        ({"addr": "Street\x00"}, [("address", "text.control")]),
        ({"code": "KG 50"}, [("code", "kindergarten.code")]),
        ({"code": "AST-KG50\x00"}, [("code", "text.control")]),
        ({"code": "AST-" + "K" * 40}, [("code", "kindergarten.code")]),
        ({"langs": []}, [("languages", "language.invalid")]),
        ({"langs": ["kk", "fr"]}, [("languages", "language.invalid")]),
        ({"langs": ["kk,ru"]}, [("languages", "language.invalid")]),
    ]:
        data = await call(CREATE_KINDERGARTEN, {**kg, **change}, "staffCreateKindergarten")
        assert codes(data) == expected, change
    several = await call(CREATE_KINDERGARTEN, {**kg, "kk": "", "en": "e" * 500}, "staffCreateKindergarten")
    assert codes(several) == [("name_en", "name.too_long")]  # the raw checks first, then the service's
    for code in ("AST-KG01\x00", "AST-KG77", "x" * 100):
        variables = {**kg, "code": code, "v": 1, "a": True, "r": ""}
        data = await call(UPDATE_KINDERGARTEN, variables, "staffUpdateKindergarten")
        assert [c for _, c in codes(data)] in (["kindergarten.unknown"], ["text.control"]), code

    # Referrals: an id that is no referral's, a reason missing or with NUL.
    for referral_id in ("nope", "00000000-0000-0000-0000-000000000000", "1\x00", ""):
        data = await call(ENROL, {"id": referral_id}, "staffEnrol")
        assert [c for _, c in codes(data)] == ["referral.unknown"], referral_id
    found = await _referrals({"own": groups["own"]})
    for reason, expected in [("", "reason.required"), ("  ", "reason.required"), ("no\x00show", "text.control")]:
        data = await call(NO_SHOW, {"id": found["own"], "r": reason}, "staffNoShow")
        assert [c for _, c in codes(data)] == [expected]
        data = await call(CANCEL, {"id": found["own"], "r": reason}, "staffCancelReferral")
        assert [c for _, c in codes(data)] == [expected]
    confirm = await call(CONFIRM, {"id": found["own"]}, "staffConfirmReferralBenefit")
    assert [c for _, c in codes(confirm)] == ["referral.benefit_confirmed"]  # not an extraordinary referral
    referral = await Referral.get(public_id=found["own"])
    assert referral.state == ReferralState.ACCEPTED and referral.version == 2  # only the parent's acceptance

    # In the caller's language.
    await client.get("/lang/ru")
    data = await call(NO_SHOW, {"id": found["own"], "r": ""}, "staffNoShow")
    assert data["errors"][0]["message"] == DomainError("reason.required").message("ru") != message("reason.required")

    # Only what the referral set-up wrote has changed: the seat, its offer, their audit row.
    seats, groups_now, kindergartens, _, audit = await _state()
    assert groups_now == before[1] and kindergartens == before[2]
    assert [s for s in seats if s not in before[0]] == [(referral.seat_id, SeatState.OFFERED.value)]
    assert audit == before[4] + 1


async def test_withdrawing_leaves_offered_seats_alone(client, groups):
    await login(client, "kindergarten")
    group = str(groups["own"].id)
    data = (await gql(client, PUBLISH, {"g": group, "n": 5}))["data"]["staffPublishSeats"]
    assert data["errors"] == [] and data["group"]["openSeats"] == 5
    run = await allocation.run(groups["own"].department_id, COHORT)  # the 2022 children who chose AST-KG01
    offered = len(run.offered)
    vacant = 5 - offered
    assert offered >= 1 and vacant >= 1
    data = (await gql(client, WITHDRAW, {"g": group, "n": vacant + 1}))["data"]["staffWithdrawSeats"]
    assert [(e["code"], e["message"]) for e in data["errors"]] == [
        ("seats.withdraw_count", message("seats.withdraw_count", max=vacant))
    ]
    data = (await gql(client, WITHDRAW, {"g": group, "n": vacant}))["data"]["staffWithdrawSeats"]
    assert data["errors"] == [] and data["seats"] == vacant
    assert (data["group"]["openSeats"], data["group"]["offeredSeats"]) == (0, offered)
    data = (await gql(client, WITHDRAW, {"g": group, "n": 1}))["data"]["staffWithdrawSeats"]
    assert [e["code"] for e in data["errors"]] == ["seats.none_open"]
    assert await Seat.filter(group_id=groups["own"].id, state=SeatState.OFFERED.value).count() == offered


# --- the dry run ---------------------------------------------------------------------------


async def test_the_dry_run_shows_who_would_get_the_seats_and_writes_nothing(client, groups):
    await login(client, "admin")
    before = await _state()
    seats = [{"groupId": str(groups["own"].id), "count": 2}, {"groupId": str(groups["sibling"].id), "count": 1}]
    data = (await gql(client, DRY_RUN, {"c": COHORT, "seats": seats}))["data"]["allocationDryRun"]
    assert data["errors"] == [] and data["cohort"] == COHORT
    asked = {r["registrationNumber"]: r for r in data["rows"]}
    # Each group has a child who chose it (the demo's 2022 children): someone gets each.
    assert {r["groupId"] for r in data["rows"]} == {str(groups["own"].id), str(groups["sibling"].id)}
    assert all(r["hypothetical"] and r["window"] == "CHOSEN" and r["rank"] for r in data["rows"])
    assert await _state() == before
    # Published for real, the same seats go to the same children, by the same rule.
    ast = await Department.get(code="AST")
    await places.publish(places.Staff(admin_of(ast)), groups["own"].id, 2)
    await places.publish(places.Staff(admin_of(ast)), groups["sibling"].id, 1)
    published = (await gql(client, DRY_RUN, {"c": COHORT, "seats": []}))["data"]["allocationDryRun"]
    strip = lambda rows: sorted((r["registrationNumber"], r["groupId"], r["rank"], r["window"]) for r in rows)  # noqa: E731
    assert strip(published["rows"]) == strip(data["rows"])
    assert not any(r["hypothetical"] for r in published["rows"])
    run = await allocation.run(ast.id, COHORT)
    numbers = dict(
        await Application.filter(id__in=[p.application_id for p in run.offered]).values_list(
            "id", "registration_number"
        )
    )
    made = {numbers[p.application_id]: p for p in run.offered}
    assert set(made) == set(asked)
    for number, p in made.items():
        assert (str(p.group.id), p.offer.rank, p.queue_number) == (
            asked[number]["groupId"],
            asked[number]["rank"],
            asked[number]["queueNumber"],
        )

    before = await _state()
    today = __import__("datetime").date.today()
    for cohort, seats, expected in [
        (1999, [], [("cohort", "group.cohort")]),
        (COHORT, [{"groupId": str(groups["other"].id), "count": 1}], [("seats.0", "group.unknown")]),
        (COHORT, [{"groupId": "abc", "count": 1}], [("seats.0", "group.unknown")]),
        (COHORT, [{"groupId": str(groups["own"].id), "count": 0}], [("seats.0", "seats.count")]),
        (COHORT, [{"groupId": str(groups["own"].id), "count": 4}], [("seats.0", "seats.count")]),  # 3 free left
        (COHORT + 1, [{"groupId": str(groups["own"].id), "count": 1}], [("seats.0", "dry_run.cohort")]),
        (COHORT, [{"groupId": "1", "count": 1}] * 51, [("seats", "dry_run.too_many")]),
    ]:
        data = (await gql(client, DRY_RUN, {"c": cohort, "seats": seats}))["data"]["allocationDryRun"]
        assert [(e["field"], e["code"]) for e in data["errors"]] == expected, (cohort, seats)
        assert data["rows"] == []
    data = (await gql(client, DRY_RUN, {"c": 1999, "seats": []}))["data"]["allocationDryRun"]
    assert data["errors"][0]["message"] == message("group.cohort", min=today.year - ast.max_age_years, max=today.year)
    assert await _state() == before

    await login(client, "kindergarten")  # its own groups only
    mine = [{"groupId": str(groups["sibling"].id), "count": 1}]
    data = (await gql(client, DRY_RUN, {"c": COHORT, "seats": mine}))["data"]["allocationDryRun"]
    assert [e["code"] for e in data["errors"]] == ["group.unknown"]
    await gql(client, "mutation { signOut }")
    anonymous = await gql(client, DRY_RUN, {"c": COHORT, "seats": []})
    assert anonymous["errors"][0]["extensions"]["code"] == "auth.required"
