"""HttpSms against a real local HTTP server implementing docs/sms-contract.md."""

from __future__ import annotations

import pytest

from server.gateways.base import GatewayError
from server.gateways.sms import HttpSms
from tests.helpers.local_servers import Reply

TOKEN = "s3cret-sms-token"
TEXT = "Kezek: өтінім тіркелді, кезектегі нөмір 12. Заявка зарегистрирована."


def sms(server) -> HttpSms:
    return HttpSms(server.url + "/v1/messages", TOKEN, sender="KEZEK", timeout=5)


@pytest.mark.asyncio
async def test_sends_the_contract_request_and_returns_the_message_id(http_server):
    http_server.respond = lambda request: Reply.json(200, {"message_id": "prov-0001"})
    message_id = await sms(http_server).send("+77012345678", TEXT, idempotency_key="notif-42-sms")
    assert message_id == "prov-0001"
    [request] = http_server.requests
    assert request.method == "POST" and request.path == "/v1/messages"
    assert request.json() == {
        "to": "+77012345678",
        "text": TEXT,  # Cyrillic and Kazakh letters survive
        "sender": "KEZEK",
        "id": "notif-42-sms",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == "notif-42-sms"
    assert request.headers["content-type"].startswith("application/json")


@pytest.mark.asyncio
async def test_a_repeat_carries_the_same_id_and_key(http_server):
    http_server.respond = lambda request: Reply.json(202, {"message_id": 7})
    gateway = sms(http_server)
    first = await gateway.send("+77012345678", TEXT, idempotency_key="notif-42-sms")
    second = await gateway.send("+77012345678", TEXT, idempotency_key="notif-42-sms")
    assert first == second == "7"  # numeric ids come back as strings
    a, b = http_server.requests
    assert a.json()["id"] == b.json()["id"] == "notif-42-sms"
    assert a.headers["idempotency-key"] == b.headers["idempotency-key"] == "notif-42-sms"


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_retryable_answers_are_gateway_errors(http_server, status):
    http_server.respond = lambda request: Reply.json(status, {"error": "later"})
    with pytest.raises(GatewayError, match=str(status)):
        await sms(http_server).send("+77012345678", TEXT, idempotency_key="k1")


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_refusals_are_not_gateway_errors(http_server, status):
    http_server.respond = lambda request: Reply.json(status, {"error": "refused"})
    with pytest.raises(RuntimeError, match="refused") as caught:
        await sms(http_server).send("+77012345678", TEXT, idempotency_key="k1")
    assert not isinstance(caught.value, GatewayError)  # retrying would not help
    assert str(status) in str(caught.value)


@pytest.mark.asyncio
async def test_an_unreachable_provider_is_a_gateway_error(closed_port):
    gateway = HttpSms(f"http://127.0.0.1:{closed_port}/send", TOKEN, sender="KEZEK", timeout=2)
    with pytest.raises(GatewayError, match="unreachable"):
        await gateway.send("+77012345678", TEXT, idempotency_key="k1")


@pytest.mark.asyncio
async def test_a_success_without_a_message_id_returns_an_empty_id(http_server):
    http_server.respond = lambda request: Reply(200, b"OK", content_type="text/plain")
    assert await sms(http_server).send("+77012345678", TEXT, idempotency_key="k1") == ""
    http_server.respond = lambda request: Reply.json(200, {})
    assert await sms(http_server).send("+77012345678", TEXT, idempotency_key="k2") == ""
