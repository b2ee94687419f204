"""Prices and stock pushed to the shop on the real bus (memory and RabbitMQ): what the
simulator's request log shows, and what its products hold afterwards."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import asyncpg

from actors.inventory.messages import StockChanged
from actors.pricing.messages import PriceChanged
from connectors.woocommerce.messages import PushProducts
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog
from hub.bootstrap import Hub
from hub.messages import Envelope
from tests.integration.woocommerce_actor.support import Intake, handled, publish
from tests.support import eventually

Sim = tuple[WooCommerceSimulator, str]
VAT = D("0.21")


def seed(shop: WooCommerceSimulator, count: int) -> dict[str, dict[str, Any]]:
    """``count`` demo products in the shop, by SKU."""
    return {p["sku"]: p for p in (shop.add_product(**d) for d in demo_catalog(count))}


def price(sku: str, net: D) -> PriceChanged:
    return PriceChanged(
        sku=sku,
        list_net=net,
        list_gross=(net * (1 + VAT)).quantize(D("0.01")),
        sale_net=None,
        sale_gross=None,
        vat_rate=VAT,
        previous_list_net=None,
        reason="catalog: cost",
    )


def stock(sku: str, published: int, version: int = 1) -> StockChanged:
    return StockChanged(
        sku=sku, available=D(published + 2), published=D(published), version=version
    )


async def changes(hub: Hub, events: list[PriceChanged | StockChanged]) -> list[Envelope]:
    return [await publish(hub, e, key=e.sku) for e in events]


def batches(shop: WooCommerceSimulator) -> list[Any]:
    return shop.calls("POST", "/products/batch")


def product(shop: WooCommerceSimulator, sku: str) -> dict[str, Any]:
    return next(p for p in shop.store.records["product"].values() if p["sku"] == sku)


async def test_250_changes_go_in_3_batches_of_changed_fields_only(
    start_hub: Any, sim: Sim, connector: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    seeded = seed(shop, 260)
    hub, _ = await start_hub(connector())
    skus = sorted(seeded)
    events: list[PriceChanged | StockChanged] = [
        price(sku, D(seeded[sku]["regular_price"]) + 1) for sku in skus[:150]
    ]
    events += [stock(sku, seeded[sku]["stock_quantity"] + 5) for sku in skus[150:250]]
    events += [price(sku, D(seeded[sku]["regular_price"])) for sku in skus[250:]]  # no change
    sent = await changes(hub, events)
    await eventually(lambda: handled(db_conn, *sent), timeout=30, what="every change recorded")
    assert batches(shop) == []  # gathered, not pushed one by one

    await publish(hub, PushProducts(), key="woocommerce:products")  # the window closes
    await eventually(lambda: len(batches(shop)) == 3, what="three batch requests")

    assert [(r.status, r.items) for r in batches(shop)] == [(200, 100), (200, 100), (200, 50)]
    items = [item for r in batches(shop) for item in r.body["update"]]
    assert {tuple(sorted(item)) for item in items[:150]} == {("id", "regular_price")}
    assert {tuple(sorted(item)) for item in items[150:]} == {("id", "stock_quantity")}
    assert len({item["id"] for item in items}) == 250
    assert product(shop, skus[0])["regular_price"] == str(D(seeded[skus[0]]["regular_price"]) + 1)
    assert product(shop, skus[200])["stock_quantity"] == seeded[skus[200]]["stock_quantity"] + 5
    assert product(shop, skus[255])["date_modified_gmt"] == seeded[skus[255]]["date_modified_gmt"]

    again = await publish(hub, PushProducts(), key="woocommerce:products")
    await eventually(lambda: handled(db_conn, again), what="a second push")
    assert len(batches(shop)) == 3  # nothing differs any more


async def test_changes_recorded_before_a_crash_are_pushed_once_after_the_restart(
    start_hub: Any, sim: Sim, connector: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    seeded = seed(shop, 20)
    # the first process records the changes and arms the window, and dies before it closes
    # (its timer poller never runs again: the timer stays in PostgreSQL)
    hub, stop = await start_hub(connector(push_window=0.2), timer_poll_interval=3600.0)
    sent = await changes(hub, [price(sku, D("99.90")) for sku in seeded])
    await eventually(lambda: handled(db_conn, *sent), what="the changes recorded")
    assert await db_conn.fetchval(
        "SELECT count(*) FROM hub_timers WHERE name = 'woocommerce:push-products'"
    )
    await stop()
    assert batches(shop) == []

    await start_hub(connector(push_window=0.2))  # the restart

    await eventually(lambda: len(batches(shop)) == 1, what="the push after the restart")
    assert [(r.status, r.items) for r in batches(shop)] == [(200, 20)]
    assert {product(shop, sku)["regular_price"] for sku in seeded} == {"99.90"}
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT count(*) = $1 FROM woo_products WHERE shop_regular_price = 99.90", len(seeded)
        ),
        what="the push recorded",
    )


async def test_a_failed_batch_is_sent_again_without_losing_or_doubling_a_change(
    start_hub: Any, sim: Sim, connector: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    shop, _ = sim
    seeded = seed(shop, 30)
    hub, _ = await start_hub(connector())
    sent = await changes(hub, [stock(sku, 50) for sku in seeded])
    await eventually(lambda: handled(db_conn, *sent), what="the changes recorded")
    shop.faults.fail_after = 1  # the lookup's listing goes through
    shop.faults.fail_next = 3  # every attempt of the batch gets a 500

    await publish(hub, PushProducts(), key="woocommerce:products")
    await eventually(
        lambda: any(r.status == 200 for r in batches(shop)), what="the batch taken at last"
    )
    assert [r.status for r in batches(shop)] == [500, 500, 500, 200]
    [taken] = [r for r in batches(shop) if r.status == 200]
    assert sorted(item["id"] for item in taken.body["update"]) == sorted(
        p["id"] for p in seeded.values()
    )
    assert {product(shop, sku)["stock_quantity"] for sku in seeded} == {50}
    await eventually(
        lambda: db_conn.fetchval("SELECT push_failures = 0 FROM woo_sync"),
        what="the failures forgotten",
    )


async def test_the_window_pushes_by_itself_and_the_shops_echo_pushes_nothing(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    seeded = seed(shop, 5)
    hub, _ = await start_hub(connector(push_window=0.2))
    intake.hub = hub
    await changes(hub, [price(sku, D("42.00")) for sku in seeded])

    await eventually(
        lambda: {product(shop, sku)["regular_price"] for sku in seeded} == {"42.00"},
        what="the new prices in the shop",
    )
    assert len(shop.calls("GET", "/products")) >= 1  # each SKU looked up
    await shop.webhooks.flush()  # product.updated for each of our own changes
    await eventually(lambda: len(intake.envelopes) == len(seeded), what="the echoes delivered")
    await eventually(lambda: handled(db_conn, *intake.envelopes), what="the echoes handled")
    assert sum(r.items or 0 for r in batches(shop)) == len(seeded)
    assert not await db_conn.fetchval(
        "SELECT push_due_at IS NOT NULL FROM woo_sync"
    )  # no push armed by the echoes

    # an admin edits a price in the shop: the hub owns prices, it is pushed back
    first = sorted(seeded)[0]
    shop.change("product", product(shop, first)["id"], regular_price="1,00")
    await eventually(
        lambda: product(shop, first)["regular_price"] == "42.00", what="the price restored"
    )
