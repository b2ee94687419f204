"""The cache: Redis when ``CYPHER_REDIS_URL`` is set, else an in-process memory cache."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

import redis.asyncio as aioredis

from hub.settings import redact_url


class Cache(Protocol):
    """A bytes cache with expiry."""

    mode: str

    async def get(self, key: str) -> bytes | None:
        """The value, or None when missing or expired."""

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` (for ``ttl`` seconds; None keeps it, ``ttl <= 0`` is already expired)."""

    async def delete(self, *keys: str) -> None:
        """Forget ``keys``."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys``, in order (None where missing), in one round trip."""

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Store several values with one expiry, in one round trip."""

    async def ping(self) -> None:
        """Raise when the cache cannot answer."""

    async def close(self) -> None:
        """Release connections."""


class MemoryCache:
    """Bounded LRU with expiry, for embedded mode and unit tests."""

    mode = "memory (in-process)"

    def __init__(self, max_items: int = 100_000) -> None:
        self._items: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._max = max_items

    async def get(self, key: str) -> bytes | None:
        """The value, or None."""
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store, evicting the least recently used item beyond the bound."""
        if ttl is not None and ttl <= 0:
            self._items.pop(key, None)
            return
        self._items[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        """Forget keys."""
        for key in keys:
            self._items.pop(key, None)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values, in order."""
        return [await self.get(key) for key in keys]

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Store each value."""
        for key, value in items.items():
            await self.set(key, value, ttl=ttl)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """Drop everything."""
        self._items.clear()


class RedisCache:
    """Redis, with every key under ``prefix:``."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self.client = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self.mode = f"redis ({redact_url(url)}, prefix {prefix!r})"

    def _k(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def get(self, key: str) -> bytes | None:
        """The value, or None."""
        value = await self.client.get(self._k(key))
        return value.encode() if isinstance(value, str) else value  # str only if decoding is on

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store with an optional expiry (rounded up to whole milliseconds)."""
        if ttl is not None and ttl <= 0:
            await self.client.delete(self._k(key))  # Redis refuses a zero or negative PX
            return
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        await self.client.set(self._k(key), value, px=px)

    async def delete(self, *keys: str) -> None:
        """Forget keys."""
        if keys:
            await self.client.delete(*(self._k(k) for k in keys))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """MGET: the values in order, one round trip."""
        if not keys:
            return []
        values = await self.client.mget([self._k(k) for k in keys])
        return [v.encode() if isinstance(v, str) else v for v in values]

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """SETs in one pipeline (not a transaction: each key stands alone)."""
        if not items:
            return
        if ttl is not None and ttl <= 0:
            await self.delete(*items)
            return
        px = None if ttl is None else max(1, math.ceil(ttl * 1000))
        async with self.client.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self._k(key), value, px=px)
            await pipe.execute()

    async def ping(self) -> None:
        """Raise unless Redis answers PING."""
        await self.client.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
