"""The Redis cache: the same contract as the memory cache, every key under the prefix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from hub.cache import RedisCache

pytestmark = pytest.mark.redis


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 2.0) -> None:
    """Poll the async ``check`` until it is true, at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"timed out after {within}s"
        await asyncio.sleep(0.01)


@pytest.fixture
async def cache(redis_url: str, prefix: str) -> AsyncIterator[RedisCache]:
    cache = RedisCache(redis_url, prefix=prefix)
    try:
        yield cache
    finally:
        keys = [key async for key in cache.client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await cache.client.delete(*keys)
        await cache.close()


async def test_set_value_is_returned_by_get(cache: RedisCache) -> None:
    await cache.set("price:LED-1", b"19.99")

    assert await cache.get("price:LED-1") == b"19.99"


async def test_missing_key_gives_none(cache: RedisCache) -> None:
    assert await cache.get("nothing") is None


async def test_keys_live_under_the_prefix(cache: RedisCache, prefix: str) -> None:
    await cache.set("price:LED-1", b"19.99")

    assert await cache.client.get(f"{prefix}:price:LED-1") == b"19.99"
    assert await cache.client.exists("price:LED-1") == 0
    assert [k async for k in cache.client.scan_iter(match=f"{prefix}:*")] == [
        f"{prefix}:price:LED-1".encode()
    ]


async def test_caches_with_different_prefixes_do_not_see_each_other(
    cache: RedisCache, redis_url: str, prefix: str
) -> None:
    other = RedisCache(redis_url, prefix=f"{prefix}-other")
    try:
        await cache.set("k", b"mine")

        assert await other.get("k") is None
    finally:
        await other.close()


async def test_delete_forgets_every_given_key(cache: RedisCache) -> None:
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("c", b"3")

    await cache.delete("a", "b", "never-set")

    assert await cache.get("a") is None
    assert await cache.get("b") is None
    assert await cache.get("c") == b"3"


async def test_value_expires_after_its_ttl(cache: RedisCache, prefix: str) -> None:
    await cache.set("session", b"x", ttl=0.05)
    await cache.set("forever", b"y")

    assert 0 < await cache.client.pttl(f"{prefix}:session") <= 50
    assert await cache.client.pttl(f"{prefix}:forever") == -1  # no expiry
    await eventually(lambda: _is_gone(cache, "session"))
    assert await cache.get("forever") == b"y"


async def test_ttl_below_a_millisecond_is_kept_briefly_not_refused(cache: RedisCache) -> None:
    await cache.set("blink", b"x", ttl=0.0004)

    await eventually(lambda: _is_gone(cache, "blink"))


async def test_zero_or_negative_ttl_means_already_expired(cache: RedisCache) -> None:
    await cache.set("zero", b"old")

    await cache.set("zero", b"new", ttl=0)
    await cache.set("negative", b"x", ttl=-1)

    assert await cache.get("zero") is None
    assert await cache.get("negative") is None


async def test_ping_answers(cache: RedisCache) -> None:
    await cache.ping()


async def test_mode_shows_the_url_without_its_password(prefix: str) -> None:
    cache = RedisCache("redis://:hunter2@127.0.0.1:6379/0", prefix=prefix)  # never connects
    try:
        assert "hunter2" not in cache.mode
        assert "127.0.0.1:6379" in cache.mode
        assert prefix in cache.mode
    finally:
        await cache.close()


async def _is_gone(cache: RedisCache, key: str) -> bool:
    return await cache.get(key) is None


async def test_many_values_in_one_round_trip_each_way(cache: RedisCache) -> None:
    await cache.set_many({"a": b"1", "b": b"2"}, ttl=60)
    await cache.set("c", b"3")
    assert await cache.get_many(["b", "missing", "a", "c"]) == [b"2", None, b"1", b"3"]
    assert await cache.get_many([]) == []
    assert 0 < await cache.client.pttl(f"{cache.prefix}:a") <= 60_000
    await cache.set_many({"a": b"x"}, ttl=0)  # already expired: gone
    assert await cache.get_many(["a"]) == [None]
