"""The memory cache: get/set/delete, expiry, and the LRU bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hub.cache import MemoryCache


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 2.0) -> None:
    """Poll the async ``check`` until it is true, at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"timed out after {within}s"
        await asyncio.sleep(0.01)


async def test_set_value_is_returned_by_get() -> None:
    cache = MemoryCache()

    await cache.set("price:LED-1", b"19.99")

    assert await cache.get("price:LED-1") == b"19.99"


async def test_missing_key_gives_none() -> None:
    assert await MemoryCache().get("nothing") is None


async def test_set_replaces_the_value() -> None:
    cache = MemoryCache()
    await cache.set("k", b"old")

    await cache.set("k", b"new")

    assert await cache.get("k") == b"new"


async def test_delete_forgets_every_given_key() -> None:
    cache = MemoryCache()
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("c", b"3")

    await cache.delete("a", "b", "never-set")

    assert await cache.get("a") is None
    assert await cache.get("b") is None
    assert await cache.get("c") == b"3"


async def test_value_expires_after_its_ttl() -> None:
    cache = MemoryCache()
    await cache.set("session", b"x", ttl=0.05)
    await cache.set("forever", b"y")

    assert await cache.get("session") == b"x"
    await eventually(lambda: _is_gone(cache, "session"))
    assert await cache.get("forever") == b"y"


async def test_setting_again_without_ttl_keeps_the_value() -> None:
    cache = MemoryCache()
    await cache.set("k", b"short", ttl=0.05)
    await cache.set("k", b"kept")

    await asyncio.sleep(0.1)

    assert await cache.get("k") == b"kept"


async def test_zero_or_negative_ttl_means_already_expired() -> None:
    cache = MemoryCache()
    await cache.set("zero", b"old")

    await cache.set("zero", b"new", ttl=0)
    await cache.set("negative", b"x", ttl=-1)

    assert await cache.get("zero") is None
    assert await cache.get("negative") is None


async def test_least_recently_used_item_is_evicted_beyond_the_bound() -> None:
    cache = MemoryCache(max_items=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # "a" is now the most recently used

    await cache.set("c", b"3")

    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert await cache.get("c") == b"3"


async def test_writing_a_key_again_refreshes_its_place() -> None:
    cache = MemoryCache(max_items=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.set("a", b"1bis")

    await cache.set("c", b"3")

    assert await cache.get("a") == b"1bis"
    assert await cache.get("b") is None


async def test_close_drops_everything() -> None:
    cache = MemoryCache()
    await cache.set("a", b"1")

    await cache.close()

    assert await cache.get("a") is None


async def _is_gone(cache: MemoryCache, key: str) -> bool:
    return await cache.get(key) is None


async def test_many_values_at_once_keep_their_order_and_expiry() -> None:
    cache = MemoryCache()
    await cache.set_many({"a": b"1", "b": b"2"}, ttl=60)
    assert await cache.get_many(["b", "missing", "a"]) == [b"2", None, b"1"]
    await cache.set_many({"a": b"x"}, ttl=0)
    assert await cache.get_many(["a", "b"]) == [None, b"2"]
