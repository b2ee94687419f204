"""The price cache: in-process over shared, one version token invalidating every process."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from actors.pricing.cache import PriceCache
from actors.pricing.rules import PriceSheet
from actors.pricing.settings import PricingSettings
from hub.cache import MemoryCache
from tests.unit.pricing.factories import D, item, sheet


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Database:
    """The loader: counts what it is asked, answers from ``rows``."""

    def __init__(self) -> None:
        self.rows = {s: sheet(item(s)) for s in ("A", "B", "C")}
        self.asked: list[list[str]] = []

    async def load(self, skus: Sequence[str]) -> dict[str, PriceSheet]:
        self.asked.append(list(skus))
        return {s: self.rows[s] for s in skus if s in self.rows}


SETTINGS = PricingSettings(cache_check_interval=0.5)


async def test_a_second_quote_reads_nothing_but_the_process_cache() -> None:
    db, clock = Database(), Clock()
    cache = PriceCache(MemoryCache(), SETTINGS, clock=clock)
    first = await cache.sheets(["A", "B", "X"], db.load)
    assert sorted(first) == ["A", "B"]
    again = await cache.sheets(["B", "A"], db.load)
    assert again == {"A": db.rows["A"], "B": db.rows["B"]}
    assert db.asked == [["A", "B", "X"]]


async def test_another_process_finds_the_sheets_in_the_shared_cache() -> None:
    db, shared = Database(), MemoryCache()
    await PriceCache(shared, SETTINGS).sheets(["A", "C"], db.load)
    other = PriceCache(shared, SETTINGS)
    assert sorted(await other.sheets(["A", "C"], db.load)) == ["A", "C"]
    assert db.asked == [["A", "C"]]
    assert other.shared_hits == 2


async def test_a_bump_elsewhere_reaches_this_process_within_the_check_interval() -> None:
    db, shared, clock = Database(), MemoryCache(), Clock()
    here = PriceCache(shared, SETTINGS, clock=clock)
    await here.sheets(["A"], db.load)
    db.rows["A"] = sheet(item("A", cost=D("99")))
    await PriceCache(shared, SETTINGS).bump()  # the process that changed the price
    clock.now = 0.4
    assert (await here.sheets(["A"], db.load))["A"].input.cost == D("10.00")  # still trusted
    clock.now = 0.6
    assert (await here.sheets(["A"], db.load))["A"].input.cost == D("99")
    assert db.asked == [["A"], ["A"]]


async def test_the_process_that_bumps_sees_the_change_at_once() -> None:
    db, clock = Database(), Clock()
    cache = PriceCache(MemoryCache(), SETTINGS, clock=clock)
    await cache.sheets(["A"], db.load)
    db.rows["A"] = sheet(item("A", cost=D("99")))
    await cache.bump()
    assert (await cache.sheets(["A"], db.load))["A"].input.cost == D("99")


async def test_an_emptied_shared_cache_starts_a_new_version() -> None:
    db, shared, clock = Database(), MemoryCache(), Clock()
    cache = PriceCache(shared, SETTINGS, clock=clock)
    await cache.sheets(["A"], db.load)
    await shared.close()  # Redis restarted empty
    clock.now = 1.0
    await cache.sheets(["A"], db.load)
    assert db.asked == [["A"], ["A"]]


async def test_tiers_are_cached_under_the_version_too() -> None:
    calls: list[str] = []
    tiers = {"C-1": 2}

    async def load(customer: str) -> int:
        calls.append(customer)
        return tiers.get(customer, 0)

    cache = PriceCache(MemoryCache(), SETTINGS)
    assert await cache.tier("C-1", load) == 2
    assert await cache.tier("C-1", load) == 2
    tiers["C-1"] = 3
    await cache.bump()
    assert await cache.tier("C-1", load) == 3
    assert calls == ["C-1", "C-1"]


async def test_without_a_ttl_every_call_reads_the_database() -> None:
    db = Database()
    cache = PriceCache(MemoryCache(), msgspec.structs.replace(SETTINGS, cache_ttl=0))
    await cache.sheets(["A"], db.load)
    await cache.sheets(["A"], db.load)
    assert db.asked == [["A"], ["A"]]
