"""The price cache: price sheets and customer tiers, in-process (L1) over the hub cache (L2).

Every entry's key holds the **price version**, an opaque token kept in the hub cache under
``pricing:version``. Whatever changes a price input or a rule replaces the token *after* its
transaction commits (the API right after its commit; the actor when its own
:class:`~actors.pricing.messages.PricesRepriced` event comes back, which the outbox publishes
only after the commit). From then on every key is new: every process misses at once and reads
PostgreSQL again, whatever it had cached. A process trusts its copy of the token for
``cache_check_interval`` seconds (≤ 1 s), so a change is seen everywhere within that; the
process that made the change sees it at once. A key computed under a token is always computed
from data committed before the token was set, so a stale entry can never outlive its token.
"""

from __future__ import annotations

import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence

import msgspec

from actors.pricing.rules import PriceSheet
from actors.pricing.settings import PricingSettings
from hub.cache import Cache

VERSION_KEY = "pricing:version"
Loader = Callable[[Sequence[str]], Awaitable[dict[str, PriceSheet]]]
TierLoader = Callable[[str], Awaitable[int]]

_encode = msgspec.msgpack.Encoder().encode
_decode_sheet = msgspec.msgpack.Decoder(PriceSheet).decode


class PriceCache:
    """Price sheets by SKU and tiers by customer, valid for the current price version."""

    def __init__(
        self,
        cache: Cache,
        settings: PricingSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._ttl = settings.cache_ttl
        self._check = settings.cache_check_interval
        self._max = settings.cache_local_max if settings.cache_ttl > 0 else 0
        self._clock = clock
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._sheets: dict[str, PriceSheet] = {}
        self._tiers: dict[str, int] = {}
        self.hits = self.shared_hits = self.misses = 0

    async def version(self) -> str:
        """The current price version (asked of the shared cache at most every check interval)."""
        now = self._clock()
        if self._version is not None and now - self._checked_at < self._check:
            return self._version
        raw = await self._cache.get(VERSION_KEY)
        if raw is None:  # first use, or the shared cache was emptied: start a new version
            await self.bump()
            assert self._version is not None
            return self._version
        self._adopt(raw.decode(), now)
        return raw.decode()

    async def bump(self) -> None:
        """Start a new price version (call after the change has committed)."""
        token = secrets.token_hex(8)
        await self._cache.set(VERSION_KEY, token.encode())
        self._adopt(token, self._clock())

    def _adopt(self, token: str, now: float) -> None:
        if token != self._version:
            self._sheets.clear()
            self._tiers.clear()
            self._version = token
        self._checked_at = now

    async def sheets(self, skus: Iterable[str], load: Loader) -> dict[str, PriceSheet]:
        """The sheets of ``skus`` that exist: in-process, else shared, else from ``load``."""
        wanted = list(dict.fromkeys(skus))
        if self._ttl <= 0:
            self.misses += len(wanted)
            return await load(wanted)
        version = await self.version()
        found = {s: self._sheets[s] for s in wanted if s in self._sheets}
        self.hits += len(found)
        missing = [s for s in wanted if s not in found]
        if missing:
            # one round trip for the whole cart (MGET with Redis)
            raws = await self._cache.get_many([f"pricing:sheet:{version}:{s}" for s in missing])
            shared = {
                sku: _decode_sheet(raw)
                for sku, raw in zip(missing, raws, strict=True)
                if raw is not None
            }
            self.shared_hits += len(shared)
            found.update(shared)
            self._keep(shared)
            missing = [s for s in missing if s not in shared]
        if missing:
            self.misses += len(missing)
            loaded = await load(missing)
            found.update(loaded)
            await self._cache.set_many(
                {f"pricing:sheet:{version}:{sku}": _encode(s) for sku, s in loaded.items()},
                ttl=self._ttl,
            )
            self._keep(loaded)
        return found

    def _keep(self, sheets: dict[str, PriceSheet]) -> None:
        if not self._max:
            return
        if len(self._sheets) + len(sheets) > self._max:
            self._sheets.clear()
        self._sheets.update(sheets)

    async def tier(self, customer_id: str, load: TierLoader) -> int:
        """The customer's tier."""
        if self._ttl <= 0:
            return await load(customer_id)
        version = await self.version()
        if customer_id in self._tiers:
            return self._tiers[customer_id]
        key = f"pricing:tier:{version}:{customer_id}"
        raw = await self._cache.get(key)
        if raw is not None:
            tier = int(raw)
        else:
            tier = await load(customer_id)
            await self._cache.set(key, str(tier).encode(), ttl=self._ttl)
        if self._max:
            if len(self._tiers) >= self._max:
                self._tiers.clear()
            self._tiers[customer_id] = tier
        return tier


_caches: weakref.WeakKeyDictionary[Cache, PriceCache] = weakref.WeakKeyDictionary()


def price_cache(cache: Cache, settings: PricingSettings, *, replace: bool = False) -> PriceCache:
    """The one price cache of this process over ``cache`` (the API and the actor share it)."""
    found = _caches.get(cache)
    if found is None or replace:
        found = _caches[cache] = PriceCache(cache, settings)
    return found
