"""Integrator tokens: random, shown once, stored as a SHA-256 hash, with scopes."""

from __future__ import annotations

import hashlib
import secrets

from server.auth.principal import Principal
from server.models import IntegratorToken

PREFIX = "kzk_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(name: str, scopes: list[str], department_id: int | None = None) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    await IntegratorToken.create(
        name=name, token_hash=hash_token(token), scopes=" ".join(scopes), department_id=department_id
    )
    return token


async def principal_for(token: str) -> Principal | None:
    row = await IntegratorToken.get_or_none(token_hash=hash_token(token), revoked_at=None)
    if row is None:
        return None
    return Principal(
        kind="integrator",
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        department_id=row.department_id,
    )
