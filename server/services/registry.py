"""Asking the state registry, and keeping what it said per person."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from server import runtime
from server.errors import DomainError
from server.gateways import GatewayError
from server.models import RegistryRecord


async def lookup(iin: str, field: str) -> dict[str, Any]:
    """The registry's record of a person; DomainError when unknown or unreachable."""
    try:
        data = await runtime.get().gateways.registry.person(iin)
    except GatewayError as exc:
        raise DomainError("registry.unavailable", field) from exc
    if data is None:
        raise DomainError("iin.unknown", field)
    now = datetime.now(UTC)
    updated = await RegistryRecord.filter(iin=iin).update(data=data, fetched_at=now)
    if not updated:
        try:
            await RegistryRecord.create(iin=iin, data=data, fetched_at=now)
        except IntegrityError:
            await RegistryRecord.filter(iin=iin).update(data=data, fetched_at=now)
    return data


async def cached(iin: str) -> dict[str, Any] | None:
    record = await RegistryRecord.get_or_none(iin=iin)
    return None if record is None else record.data


def full_name(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    return " ".join(p for p in (data.get("surname"), data.get("given_name"), data.get("patronymic")) if p)


def initials(data: dict[str, Any] | None) -> str:
    """Masked initials for public views: "С. Д."."""
    if not data:
        return ""
    return " ".join(f"{p[0]}." for p in (data.get("surname"), data.get("given_name")) if p)
