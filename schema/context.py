"""The context every resolver gets, over HTTP or in-process from a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.auth.principal import Principal


@dataclass
class Context:
    principal: Principal
    language: str
    session: dict[str, Any] | None = None  # the web session, when the caller has one
    ip: str = "0.0.0.0"
    request: Any = None
    response: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
