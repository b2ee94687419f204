"""The pricing actor on both transports: catalog snapshots in, list prices and PriceChanged out,
repricing after rule changes, promotion timers, PriceCart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from actors.pricing import domain, rules_store
from actors.pricing.actor import Pricing
from actors.pricing.cache import VERSION_KEY
from actors.pricing.messages import CartLine, PriceCart, RepriceProducts
from actors.pricing.settings import PricingSettings
from hub.cache import MemoryCache
from tests.integration.pricing.support import PricingSink, products, send, snapshot
from tests.support import eventually

StartHub = Callable[..., Any]
D = Decimal


def today() -> date:
    from datetime import UTC, datetime

    return domain.business_date(datetime.now(UTC))


async def start(start_hub: StartHub, cache: MemoryCache | None = None) -> tuple[Any, PricingSink]:
    sink = PricingSink()
    hub, _ = await start_hub(Pricing(PricingSettings(), cache), sink)
    return hub, sink


async def outbox_count(conn: asyncpg.Connection, type_: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM hub_outbox WHERE type = $1", type_)
    return count


async def test_snapshots_become_inputs_list_prices_and_one_price_changed_each(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(
        hub,
        products(
            snapshot("S1"),
            snapshot("S2", cost="20.00", margin="0.50"),
            snapshot("P1", category="becuri-led", unit="piece", cost="3.10", margin="0.40"),
            snapshot("DRAFT", status="draft"),
        ),
        key="batch-1",
    )
    await eventually(lambda: len(sink.changed) == 3, what="three PriceChanged")
    assert await db_conn.fetchval("SELECT count(*) FROM pricing_inputs") == 4
    events = {e.sku: e for e in sink.changed}
    assert sorted(events) == ["P1", "S1", "S2"]
    s1 = events["S1"]
    assert (s1.list_net, s1.list_gross, s1.vat_rate) == (D("13.50"), D("16.34"), D("0.21"))
    assert (s1.sale_net, s1.previous_list_net, s1.reason) == (None, None, "catalog")
    assert events["P1"].list_net == D("4.34")
    rows = await db_conn.fetch("SELECT sku, list_net FROM pricing_list_prices ORDER BY sku")
    assert [(r["sku"], r["list_net"]) for r in rows] == [
        ("P1", D("4.34")),
        ("S1", D("13.50")),
        ("S2", D("30.00")),
    ]


async def test_only_skus_whose_price_changed_get_a_price_changed(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(hub, products(snapshot("S1"), snapshot("S2"), snapshot("S3")))
    await eventually(lambda: len(sink.changed) == 3)
    await send(
        hub,
        products(
            snapshot("S1", version=2, changed=("name",)),
            snapshot("S2", version=2, cost="11.00", changed=("cost",)),
            snapshot("S3", version=2, margin="0.35", changed=("margin",)),  # the same margin
        ),
    )
    await eventually(lambda: len(sink.repriced) == 2, what="the second repricing")
    assert sink.repriced[-1].checked == 3 and sink.repriced[-1].changed == 1
    assert await outbox_count(db_conn, "pricing.PriceChanged") == 4
    await eventually(lambda: len(sink.changed) == 4)
    [s2] = sink.by_sku()["S2"][1:]
    assert (s2.list_net, s2.previous_list_net, s2.reason) == (
        D("14.85"),
        D("13.50"),
        "catalog: cost",
    )
    assert await db_conn.fetchval("SELECT version FROM pricing_inputs WHERE sku = 'S1'") == 2


async def test_an_older_snapshot_arriving_late_is_ignored(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(hub, products(snapshot("S1", version=3, cost="12.00")))
    await eventually(lambda: len(sink.repriced) == 1)
    await send(hub, products(snapshot("S1", version=2, cost="11.00")))
    await send(hub, products(snapshot("S1", version=1, cost="10.00"), snapshot("S9")))
    await eventually(lambda: len(sink.repriced) == 2, what="the batch with S9")
    row = await db_conn.fetchrow("SELECT version, cost FROM pricing_inputs WHERE sku = 'S1'")
    assert (row["version"], row["cost"]) == (3, D("12.0000"))
    await eventually(lambda: len(sink.changed) == 2)
    assert sorted((e.sku, e.list_net) for e in sink.changed) == [
        ("S1", D("16.20")),
        ("S9", D("13.50")),
    ]
    assert sink.repriced[-1].checked == 1  # S9 only: v1 of S1 was not applied


async def test_a_batch_naming_a_sku_twice_keeps_its_newest_snapshot(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(hub, products(snapshot("S1", version=5, cost="15.00"), snapshot("S1", version=4)))
    await eventually(lambda: len(sink.changed) == 1)
    assert sink.changed[0].list_net == D("20.25")


async def test_a_product_leaving_the_range_loses_its_list_price_without_an_event(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(hub, products(snapshot("S1")))
    await eventually(lambda: len(sink.repriced) == 1)
    await send(hub, products(snapshot("S1", version=2, status="discontinued")))
    await eventually(lambda: len(sink.repriced) == 2)
    assert await db_conn.fetchval("SELECT count(*) FROM pricing_list_prices") == 0
    await send(hub, products(snapshot("S1", version=3)))
    await eventually(lambda: len(sink.changed) == 2, what="a PriceChanged on its return")
    assert sink.changed[-1].previous_list_net is None


async def test_a_rule_change_reprices_only_the_products_it_reaches(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(
        hub,
        products(
            snapshot("A1", category="profile-aluminiu"),
            snapshot("A2", category="profile-aluminiu", cost="20.00"),
            snapshot("B1"),
            snapshot("B2", cost="30.00"),
        ),
    )
    await eventually(lambda: len(sink.changed) == 4)
    promotion = await rules_store.create(
        db_conn,
        rules_store.PROMOTIONS,
        {
            "name": "-10 %",
            "scope": "category",
            "target": "profile-aluminiu",
            "kind": "percent",
            "value": D("0.10"),
            "valid_from": today(),
            "valid_to": today() + timedelta(days=3),
        },
    )
    reprice = RepriceProducts(reason="promotion created", categories=("profile-aluminiu",))
    await send(hub, reprice)
    await eventually(lambda: len(sink.repriced) == 2)
    assert (sink.repriced[-1].checked, sink.repriced[-1].changed) == (2, 2)
    await eventually(lambda: len(sink.changed) == 6)
    new = {e.sku: e for e in sink.changed[4:]}
    assert sorted(new) == ["A1", "A2"]
    assert (new["A1"].list_net, new["A1"].sale_net, new["A1"].sale_gross) == (
        D("13.50"),
        D("12.15"),
        D("14.70"),
    )
    assert new["A1"].reason == "promotion created"
    stored = await db_conn.fetchval("SELECT promotion_id FROM pricing_list_prices WHERE sku='A2'")
    assert stored == promotion.id


async def test_a_promotion_keeps_timers_for_its_first_day_and_the_day_after_its_last(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    first, last = today() + timedelta(days=2), today() + timedelta(days=5)
    promotion = await rules_store.create(
        db_conn,
        rules_store.PROMOTIONS,
        {
            "name": "later",
            "scope": "sku",
            "target": "S1",
            "kind": "fixed",
            "value": D("12.00"),
            "valid_from": first,
            "valid_to": last,
        },
    )
    await send(hub, RepriceProducts(reason="created", skus=("S1",), promotion_id=promotion.id))
    await eventually(lambda: len(sink.repriced) == 1)
    timers = await db_conn.fetch("SELECT name, due_at FROM hub_timers ORDER BY due_at")
    assert [(t["name"], t["due_at"]) for t in timers] == [
        (f"pricing:promotion:{promotion.id}:start", domain.day_start(first)),
        (f"pricing:promotion:{promotion.id}:end", domain.day_start(last + timedelta(days=1))),
    ]
    await rules_store.delete(db_conn, rules_store.PROMOTIONS, promotion.id)
    await send(hub, RepriceProducts(reason="deleted", skus=("S1",), promotion_id=promotion.id))
    await eventually(lambda: len(sink.repriced) == 2)
    assert await db_conn.fetchval("SELECT count(*) FROM hub_timers") == 0


async def test_price_cart_answers_with_lines_and_totals_or_names_the_unknown_skus(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, sink = await start(start_hub)
    await send(hub, products(snapshot("S1"), snapshot("P1", unit="piece", category="becuri-led")))
    await eventually(lambda: len(sink.repriced) == 1)
    await rules_store.set_tier(db_conn, "C-1", 2)
    lines = (CartLine(sku="S1", quantity=D("2.5")), CartLine(sku="P1", quantity=D(3)))
    await send(hub, PriceCart(request_id="r1", customer_id="C-1", lines=lines), key="r1")
    await send(
        hub,
        PriceCart(request_id="r2", lines=(*lines, CartLine(sku="NOPE", quantity=D(1)))),
        key="r2",
    )
    await eventually(lambda: sink.priced and sink.failed, what="both answers")
    [priced] = sink.priced
    assert (priced.request_id, priced.tier, priced.on) == ("r1", 2, today())
    assert [(x.sku, x.unit_net, x.line_net) for x in priced.lines] == [
        ("S1", D("12.15"), D("30.38")),
        ("P1", D("12.15"), D("36.45")),
    ]
    assert priced.totals.net == D("66.83")
    assert priced.totals.vat == sum(x.line_vat for x in priced.lines)
    [failed] = sink.failed
    assert (failed.request_id, failed.skus) == ("r2", ("NOPE",))
    assert "NOPE" in failed.reason


async def test_a_committed_repricing_starts_a_new_price_version(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    cache = MemoryCache()
    hub, sink = await start(start_hub, cache)
    await cache.set(VERSION_KEY, b"before")
    await send(hub, products(snapshot("S1")))
    await eventually(lambda: len(sink.repriced) == 1)
    await eventually(lambda: _version_is_not(cache, b"before"), what="a new price version")


async def _version_is_not(cache: MemoryCache, old: bytes) -> bool:
    return await cache.get(VERSION_KEY) not in (None, old)
