"""What the pricing routes share within one hub process: settings and the price cache."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from actors.pricing import store
from actors.pricing.cache import PriceCache, price_cache
from actors.pricing.rules import PriceSheet
from actors.pricing.settings import PricingSettings, load_settings
from hub.db import Database
from hub.edge.api import Call
from hub.edge.keys import CACHE


@dataclass(frozen=True)
class PricingRuntime:
    """The ``[pricing]`` settings, the price cache and the database of one app."""

    settings: PricingSettings
    cache: PriceCache
    db: Database

    async def sheets(self, skus: Sequence[str]) -> dict[str, PriceSheet]:
        """Price sheets of ``skus`` (cache, else one query)."""
        return await self.cache.sheets(skus, self._load_sheets)

    async def tier(self, customer_id: str) -> int:
        """A customer's tier (cache, else one query)."""
        return await self.cache.tier(customer_id, self._load_tier)

    async def _load_sheets(self, skus: Sequence[str]) -> dict[str, PriceSheet]:
        async with self.db.pool.acquire() as conn:
            return await store.sheets(conn, skus, self.settings.min_margin)

    async def _load_tier(self, customer_id: str) -> int:
        async with self.db.pool.acquire() as conn:
            return await store.customer_tier(conn, customer_id)


_runtimes: weakref.WeakKeyDictionary[web.Application, PricingRuntime] = weakref.WeakKeyDictionary()


def runtime(call: Call[Any, Any]) -> PricingRuntime:
    """The pricing runtime of the app serving ``call`` (made on first use)."""
    app = call.request.app
    found = _runtimes.get(app)
    if found is None:
        settings = load_settings()
        found = PricingRuntime(settings, price_cache(app[CACHE], settings), call.db)
        _runtimes[app] = found
    return found


def configure(app: web.Application, settings: PricingSettings, db: Database) -> PricingRuntime:
    """Use ``settings`` in ``app`` instead of the configured ones (tests, benchmarks)."""
    found = PricingRuntime(settings, price_cache(app[CACHE], settings, replace=True), db)
    _runtimes[app] = found
    return found
