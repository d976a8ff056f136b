"""What services need at run time besides the database: settings, gateways, Redis.

Installed once by the web app's lifespan, the worker's start-up, or a test fixture.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from server.config import Settings
from server.gateways import Gateways


@dataclass
class Runtime:
    settings: Settings
    gateways: Gateways
    redis: ArqRedis


_runtime: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def get() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the Kezek runtime is not installed")
    return _runtime
