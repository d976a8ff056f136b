from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib

from server.gateways.base import GatewayError


class EmailGateway(Protocol):
    name: str

    async def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> str: ...


class OutboxEmail:
    """The embedded default: the message stays in the outbox table, readable at /dev/outbox."""

    name = "outbox"

    async def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> str:
        return f"outbox:{idempotency_key}"


class SmtpEmail:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        sender: str,
        timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.sender = sender
        self.timeout = timeout

    name = "smtp"

    async def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        domain = self.sender.rsplit("@", 1)[-1].rstrip(">") or "kezek.local"
        message_id = make_msgid(idstring=idempotency_key.replace(":", "."), domain=domain)
        message["Message-ID"] = message_id
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise GatewayError(f"SMTP failed: {type(exc).__name__}") from exc
        return message_id
