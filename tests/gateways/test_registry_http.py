"""HttpRegistry against a real local HTTP server implementing docs/registry-contract.md."""

from __future__ import annotations

import pytest

from server.domain import iin
from server.gateways.base import GatewayError
from server.gateways.registry import HttpRegistry
from tests.helpers.local_servers import Recorded, Reply

TOKEN = "s3cret-registry-token"
MOTHER = "930412400013"
CHILD = "220315600027"


def person(value: str) -> dict:
    return {
        "iin": value,
        "surname": "Серикова",
        "given_name": "Айгерим",
        "patronymic": "Нурлановна",
        "birth_date": "1993-04-12",
        "sex": "F",
        "document": {"kind": "id_card", "number": "0" + value[-9:], "issued": "2015-01-15"},
        "benefits": ["LARGE_FAMILY"],
        "children": [{"iin": CHILD, "relation": "parent"}],
    }


def registry_contract(known: dict[str, dict]):
    """The contract: POST /persons/lookup, bearer token, {"iin": …}; 200 or 404."""

    def respond(request: Recorded) -> Reply:
        if request.method != "POST" or request.path != "/persons/lookup":
            return Reply(405)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply.json(401, {"error": "unauthorized"})
        record = known.get(request.json().get("iin"))
        return Reply.json(200, record) if record else Reply.json(404, {"error": "not found"})

    return respond


@pytest.fixture
async def opened():
    """Makes HttpRegistry adapters and closes their pooled clients afterwards."""
    made: list[HttpRegistry] = []

    def make(*args, **kwargs) -> HttpRegistry:
        made.append(HttpRegistry(*args, **kwargs))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.close()


@pytest.fixture
def registry(http_server, opened):
    http_server.respond = registry_contract({MOTHER: person(MOTHER)})
    return opened(http_server.url + "/", TOKEN, timeout=5)


def test_the_fixture_iins_are_valid():
    assert iin.is_valid(MOTHER) and iin.is_valid(CHILD)


@pytest.mark.asyncio
async def test_known_person(registry, http_server):
    record = await registry.person(MOTHER)
    assert record == person(MOTHER)
    assert record["surname"] == "Серикова"  # Cyrillic survives the round trip
    [request] = http_server.requests
    assert request.method == "POST"
    assert request.path == "/persons/lookup"  # trailing slash of the base URL is not doubled
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {"iin": MOTHER}


@pytest.mark.asyncio
async def test_unknown_person_is_none(registry, http_server):
    assert await registry.person(CHILD) is None
    assert http_server.requests[0].json() == {"iin": CHILD}


@pytest.mark.asyncio
async def test_the_iin_never_appears_in_the_url(registry, http_server):
    await registry.person(MOTHER)
    await registry.person(CHILD)
    assert len(http_server.requests) == 2
    for request in http_server.requests:
        assert MOTHER not in request.path and CHILD not in request.path
        assert "?" not in request.path
        assert all(MOTHER not in v and CHILD not in v for v in request.headers.values())


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_gateway_errors(http_server, status, opened):
    http_server.respond = lambda request: Reply.json(status, {"error": "down"})
    with pytest.raises(GatewayError, match=str(status)):
        await opened(http_server.url, TOKEN, timeout=5).person(MOTHER)


@pytest.mark.asyncio
async def test_a_wrong_token_is_not_mistaken_for_an_unknown_person(http_server, opened):
    http_server.respond = registry_contract({MOTHER: person(MOTHER)})
    with pytest.raises(GatewayError, match="401"):
        await opened(http_server.url, "wrong-token", timeout=5).person(MOTHER)


@pytest.mark.asyncio
async def test_an_answer_for_another_person_is_refused(http_server, opened):
    http_server.respond = lambda request: Reply.json(200, person(CHILD))
    with pytest.raises(GatewayError, match="another person"):
        await opened(http_server.url, TOKEN, timeout=5).person(MOTHER)


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b"[]", b"null", b'"930412400013"'])
async def test_an_answer_that_is_not_a_person_object_is_refused(http_server, body, opened):
    http_server.respond = lambda request: Reply(200, body)
    with pytest.raises(GatewayError):
        await opened(http_server.url, TOKEN, timeout=5).person(MOTHER)


@pytest.mark.asyncio
async def test_an_unreachable_registry_is_a_gateway_error(closed_port, opened):
    with pytest.raises(GatewayError, match="unreachable"):
        await opened(f"http://127.0.0.1:{closed_port}", TOKEN, timeout=2).person(MOTHER)


@pytest.mark.asyncio
async def test_a_redirect_is_not_followed_and_is_a_gateway_error(http_server, opened):
    http_server.respond = lambda request: Reply(302, headers={"Location": "/persons/930412400013"})
    with pytest.raises(GatewayError, match="302"):
        await opened(http_server.url, TOKEN, timeout=5).person(MOTHER)
    assert len(http_server.requests) == 1  # the IIN-in-the-URL redirect target was never asked
