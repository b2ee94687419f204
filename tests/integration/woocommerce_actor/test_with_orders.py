"""The connector with the real orders, pricing and inventory actors (memory and RabbitMQ): a shop
order placed, priced, reserved and confirmed in the hub, its status back in the shop; a shop
order the orders context refuses waits for a person with the orders context's reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from actors.inventory.actor import InventoryActor
from actors.orders.actor import OrdersActor
from connectors.woocommerce.simulator import WooCommerceSimulator
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive
from tests.integration.orders.support import ORDER_TABLES, InvoicingStandIn
from tests.integration.woocommerce_actor.support import (
    BILLING,
    Flags,
    Intake,
    line,
    start,
    woo_row,
)
from tests.support import eventually

Sim = tuple[WooCommerceSimulator, str]


async def test_a_shop_order_is_confirmed_in_the_hub_and_the_shop_shows_it(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    await db_conn.execute(f"TRUNCATE {ORDER_TABLES} CASCADE")
    await clean_inventory(db_conn)
    shop, _ = sim
    flags = Flags()
    await start(
        start_hub,
        intake,
        db_conn,
        connector(),
        OrdersActor(),
        InventoryActor(),
        InvoicingStandIn(),
        flags,
    )
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT (SELECT count(*) FROM order_products) = 2 "
            "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = 2"
        ),
        what="the catalog known to orders and inventory",
    )
    await receive(db_conn, [("DRV-100W", "HQ", "10")])

    order = shop.place_order(
        status="processing",
        payment_method="cod",
        billing=BILLING,
        line_items=[line("DRV-100W", 2, "70.00")],
    )
    refused = shop.place_order(  # a company whose CUI has a wrong check digit
        status="on-hold",
        payment_method="bacs",
        billing={**BILLING, "company": "Lumina Instal SRL"},
        meta_data=[{"key": "_billing_cui", "value": "RO18547291"}],
        line_items=[line("DRV-100W", 1, "70.00")],
    )

    order_id = f"woo-{order['id']}"
    await eventually(
        lambda: db_conn.fetchval("SELECT state = 'confirmed' FROM orders WHERE id = $1", order_id),
        what="the shop order confirmed in the hub",
    )
    hub_order = await db_conn.fetchrow(
        "SELECT source, external_ref, number, payment_method FROM orders WHERE id = $1", order_id
    )
    assert (hub_order["source"], hub_order["external_ref"]) == ("woocommerce", order["number"])
    assert hub_order["payment_method"] == "cash_on_delivery"
    await eventually(lambda: shop.calls("PUT", f"/orders/{order['id']}"), what="the status pushed")
    assert [r.body for r in shop.calls("PUT", f"/orders/{order['id']}")] == [
        {"status": "processing"}
    ]

    async def recorded() -> dict[str, Any] | None:
        row = await woo_row(db_conn, order["id"])
        return row if row and row["hub_number"] and row["status_pushed"] else None

    row = await eventually(recorded, what="the hub's number and the push recorded")
    assert row["hub_number"] == hub_order["number"] and row["status_pushed"] == "processing"

    [parked] = await eventually(lambda: flags.parked, what="the refused order waiting")
    assert parked.shop_order_id == refused["id"]
    assert "rejected" in parked.reason and "RO18547291" in parked.reason
    assert (
        await db_conn.fetchval(
            "SELECT state FROM woo_orders WHERE shop_order_id = $1", refused["id"]
        )
        == "rejected"
    )
    assert await db_conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0
