"""Fixed-window counters in Redis, for rate limits (one-time passwords, lookups)."""

from __future__ import annotations

from server import runtime
from server.auth.keyed import keyed


def ip_key(ip: str) -> str:
    """A keyed hash of an IP address: counters never hold the address itself."""
    return keyed(f"ip:{ip}", 24)


async def hit(counter: str, limit: int, window_seconds: int) -> bool:
    """Counts one event in a fixed window; False when the limit is passed."""
    redis = runtime.get().redis
    count: int = await redis.incr(counter)
    if count == 1:
        await redis.expire(counter, window_seconds)
    return count <= limit
