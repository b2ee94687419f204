"""The memory token bucket (embedded mode)."""

from __future__ import annotations

import asyncio

from hub.ratelimit import MemoryRateLimiter


async def test_a_burst_is_allowed_then_the_next_request_waits() -> None:
    limiter = MemoryRateLimiter()
    waits = [await limiter.take("c:route", per_second=1.0, burst=3) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] <= 1.0


async def test_buckets_are_per_key() -> None:
    limiter = MemoryRateLimiter()
    assert await limiter.take("a", per_second=1.0, burst=1) == 0.0
    assert await limiter.take("a", per_second=1.0, burst=1) > 0
    assert await limiter.take("b", per_second=1.0, burst=1) == 0.0


async def test_tokens_refill_with_time() -> None:
    limiter = MemoryRateLimiter()
    assert await limiter.take("k", per_second=1000.0, burst=1) == 0.0
    first_wait = await limiter.take("k", per_second=1000.0, burst=1)
    assert 0 < first_wait <= 0.001
    # a thousand tokens a second: a few milliseconds later there is one again
    await asyncio.sleep(0.005)
    assert await limiter.take("k", per_second=1000.0, burst=1) == 0.0


async def test_the_number_of_buckets_is_bounded() -> None:
    limiter = MemoryRateLimiter(max_buckets=10)
    for i in range(50):
        await limiter.take(f"k{i}", per_second=1.0, burst=1)
    assert len(limiter._buckets) == 10
