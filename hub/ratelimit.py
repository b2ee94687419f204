"""Token-bucket rate limits: in Redis (shared by every hub process) or in memory (embedded)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as aioredis

from hub.cache import Cache, RedisCache


class RateLimiter(Protocol):
    """Takes one token from the bucket ``key``."""

    mode: str

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        """0.0 when a token was taken; else the seconds until one will be available."""


class MemoryRateLimiter:
    """Buckets in this process (bounded: the least recently used buckets are dropped)."""

    mode = "memory"

    def __init__(self, max_buckets: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_buckets

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        """Refill by elapsed time, then take a token if there is one."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / per_second
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait


# Atomic refill-and-take on the server, with the server's clock so every hub process agrees.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """Buckets in Redis, one hash per key, expiring once full again."""

    mode = "redis"

    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_TAKE)

    async def take(self, key: str, *, per_second: float, burst: int) -> float:
        """One round trip: refill, take, report the wait."""
        wait = await self._script(keys=[f"{self._prefix}:rl:{key}"], args=[per_second, burst])
        return float(wait)


def limiter_for(cache: Cache) -> RateLimiter:
    """Redis buckets when the cache is Redis, else memory buckets."""
    if isinstance(cache, RedisCache):
        return RedisRateLimiter(cache.client, prefix=cache.prefix)
    return MemoryRateLimiter()
