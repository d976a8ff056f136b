"""SmtpEmail against a real local aiosmtpd server."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from server.gateways.base import GatewayError
from server.gateways.email import SmtpEmail

SUBJECT = "Kezek: заявка зарегистрирована"
BODY = "Сәлеметсіз бе! Өтінім тіркелді.\nЗдравствуйте! Заявка зарегистрирована, номер в очереди: 12.\n"


def gateway(port: int) -> SmtpEmail:
    return SmtpEmail(host="127.0.0.1", port=port, sender="Kezek <noreply@kezek.example>", timeout=5)


@pytest.mark.asyncio
async def test_the_message_arrives_intact(smtp_server):
    handler, port = smtp_server
    message_id = await gateway(port).send("parent@example.kz", SUBJECT, BODY, idempotency_key="notif-42-email")
    [stored] = handler.messages
    assert stored["rcpt_tos"] == ["parent@example.kz"]
    assert stored["mail_from"] == "noreply@kezek.example"
    message = message_from_bytes(stored["content"], policy=policy.default)
    assert message["To"] == "parent@example.kz"
    assert message["From"] == "Kezek <noreply@kezek.example>"
    assert str(message["Subject"]) == SUBJECT  # decoded: the Cyrillic subject survives
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().rstrip("\n") == BODY.rstrip("\n")  # decoded Cyrillic body
    # The returned id is the one on the wire, and it names the idempotency key.
    # (The header is long, so the generator folds it onto a continuation line: strip.)
    assert str(message["Message-ID"]).strip() == message_id
    assert "notif-42-email" in message_id
    assert message_id.startswith("<") and message_id.endswith("@kezek.example>")


@pytest.mark.asyncio
async def test_colons_in_the_key_are_kept_readable_in_the_message_id(smtp_server):
    handler, port = smtp_server
    message_id = await gateway(port).send("parent@example.kz", SUBJECT, BODY, idempotency_key="notification:42:email")
    assert "notification.42.email" in message_id
    stored = message_from_bytes(handler.messages[0]["content"], policy=policy.default)
    assert str(stored["Message-ID"]).strip() == message_id


@pytest.mark.asyncio
async def test_two_sends_are_two_distinct_messages(smtp_server):
    handler, port = smtp_server
    first = await gateway(port).send("a@example.kz", "1", "one", idempotency_key="k-1")
    second = await gateway(port).send("b@example.kz", "2", "two", idempotency_key="k-2")
    assert first != second
    assert [m["rcpt_tos"] for m in handler.messages] == [["a@example.kz"], ["b@example.kz"]]


@pytest.mark.asyncio
async def test_a_closed_port_is_a_gateway_error(closed_port):
    with pytest.raises(GatewayError, match="SMTP failed"):
        await gateway(closed_port).send("parent@example.kz", SUBJECT, BODY, idempotency_key="k")
