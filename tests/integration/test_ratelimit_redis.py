"""The Redis token bucket: shared by every hub process."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from hub.ratelimit import RedisRateLimiter


async def test_burst_then_wait_and_keys_live_under_the_prefix(redis_url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, prefix=prefix)
    try:
        waits = [await limiter.take("user:1:login", per_second=0.5, burst=2) for _ in range(3)]
        assert waits[:2] == [0.0, 0.0]
        assert 1.5 < waits[2] <= 2.0
        assert await client.exists(f"{prefix}:rl:user:1:login")
        assert 0 < await client.pttl(f"{prefix}:rl:user:1:login") <= 5000
    finally:
        await client.delete(f"{prefix}:rl:user:1:login")
        await client.aclose()


async def test_two_processes_share_one_bucket(redis_url: str, prefix: str) -> None:
    a, b = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    first, second = RedisRateLimiter(a, prefix=prefix), RedisRateLimiter(b, prefix=prefix)
    try:
        results = await asyncio.gather(
            *(lim.take("ip:1.2.3.4:x", per_second=0.01, burst=5) for lim in [first, second] * 5)
        )
        assert sum(1 for w in results if w == 0.0) == 5
    finally:
        await a.delete(f"{prefix}:rl:ip:1.2.3.4:x")
        await a.aclose()
        await b.aclose()
