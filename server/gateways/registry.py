"""The state registry: who a person is, whom they represent, which registry-backed
benefits hold. The JSON contract is in docs/registry-contract.md."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from server.gateways.base import GatewayError


class Registry(Protocol):
    name: str

    async def person(self, iin: str) -> dict[str, Any] | None:
        """The person's record, or None when the registry does not know the IIN."""
        ...


class DemoRegistry:
    """The embedded default: fifty-odd fictitious people from server/demo_data.py."""

    name = "demo"

    def __init__(self, records: dict[str, dict[str, Any]] | None = None) -> None:
        if records is None:
            from server.demo_data import REGISTRY

            records = REGISTRY
        self.records = records

    async def person(self, iin: str) -> dict[str, Any] | None:
        record = self.records.get(iin)
        return None if record is None else dict(record)


class HttpRegistry:
    """POST {url}/persons/lookup with {"iin": …}; the IIN travels in the body, never the URL."""

    name = "http"

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # One pooled client per process: a new client per lookup costs a TLS and
        # connection set-up each time.
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout, headers={"Authorization": f"Bearer {self.token}"})
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def person(self, iin: str) -> dict[str, Any] | None:
        try:
            response = await self._http().post(f"{self.url}/persons/lookup", json={"iin": iin})
        except httpx.HTTPError as exc:
            raise GatewayError(f"registry unreachable: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GatewayError(f"registry answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise GatewayError("registry answered with something that is not JSON") from exc
        if not isinstance(data, dict) or data.get("iin") != iin:
            raise GatewayError("registry answered for another person")
        return data
