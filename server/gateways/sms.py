from __future__ import annotations

from typing import Protocol

import httpx

from server.gateways.base import GatewayError


class SmsGateway(Protocol):
    name: str

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> str:
        """Sends one SMS; returns the provider's message id; GatewayError when it may be retried."""
        ...


class OutboxSms:
    """The embedded default: the message stays in the outbox table, readable at /dev/outbox."""

    name = "outbox"

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> str:
        return f"outbox:{idempotency_key}"


class HttpSms:
    """A provider's HTTP API: POST JSON {to, text, sender, id} with a bearer token.

    The `id` lets the provider drop a repeat of a message it already accepted.
    """

    name = "http"

    def __init__(self, url: str, token: str, sender: str, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    async def send(self, phone: str, text: str, *, idempotency_key: str) -> str:
        payload = {"to": phone, "text": text, "sender": self.sender, "id": idempotency_key}
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": idempotency_key}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise GatewayError(f"SMS provider unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status >= 500 or status in (408, 429) or 300 <= status < 400:
            raise GatewayError(f"SMS provider answered {status}")
        if status >= 400:
            raise RuntimeError(f"SMS provider refused the message: {status}")
        try:
            body = response.json()
        except ValueError:
            return ""
        message_id = body.get("message_id") if isinstance(body, dict) else None
        return "" if message_id is None else str(message_id)
