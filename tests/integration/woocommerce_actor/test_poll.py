"""The reconcile poll catching what webhooks lost, and the connector without the shop's keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import asyncpg

from actors.pricing.messages import PriceChanged
from connectors.woocommerce.messages import PushProducts, ReconcileOrders
from connectors.woocommerce.simulator import WooCommerceSimulator
from tests.integration.woocommerce_actor.support import (
    BILLING,
    Intake,
    Recorder,
    handled,
    line,
    publish,
    start,
    woo_row,
)
from tests.support import eventually

Sim = tuple[WooCommerceSimulator, str]


async def test_the_periodic_poll_places_an_order_whose_webhook_was_lost_once(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    shop.webhooks.lose_all = True  # WP-Cron stalled: no webhook leaves the shop
    recorder = Recorder()
    hub = await start(start_hub, intake, db_conn, connector(poll_interval=0.3), recorder)
    order = shop.place_order(
        status="processing",
        payment_method="cod",
        billing=BILLING,
        line_items=[line("STRIP-5050", 5, "13.50")],
    )

    [placed] = await eventually(lambda: recorder.placed, what="the order found by the poll")
    assert placed.order_id == f"woo-{order['id']}"
    assert [d.lost for d in shop.webhooks.deliveries] == [True]
    assert shop.calls("GET", "/orders")[0].query["modified_after"]

    # later polls, and a reconcile asked for by hand, see the same order again: nothing new
    first = await db_conn.fetchval("SELECT polled_at FROM woo_sync")
    await eventually(
        lambda: db_conn.fetchval("SELECT polled_at > $1 FROM woo_sync", first),
        what="another poll",
    )
    asked = await publish(
        hub, ReconcileOrders(modified_after=datetime.now(UTC) - timedelta(hours=1))
    )
    await eventually(lambda: handled(db_conn, asked), what="the reconcile")
    fetched = await db_conn.fetch(
        "SELECT envelope->>'key' AS key FROM hub_outbox WHERE type = 'woocommerce.OrderFetched'"
    )
    assert len(fetched) >= 2  # every poll fed it through
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT count(*) = 0 FROM hub_outbox o WHERE type = 'woocommerce.OrderFetched' "
            "AND NOT EXISTS (SELECT 1 FROM hub_inbox i WHERE i.actor = 'woocommerce' "
            "AND i.message_id = o.message_id)"
        ),
        what="every fetched order handled",
    )
    assert len(recorder.placed) == 1
    row = await woo_row(db_conn, order["id"])
    assert row is not None and row["state"] == "placed" and row["check_no"] == 1
    assert await db_conn.fetchval("SELECT poll_cursor FROM woo_sync") is not None


async def test_without_keys_orders_come_in_and_pushes_wait_naming_the_setting(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    actor = connector(consumer_key=None, consumer_secret=None)
    hub = await start(start_hub, intake, db_conn, actor, recorder)
    order = shop.place_order(
        status="processing",
        payment_method="stripe",
        billing=BILLING,
        line_items=[line("DRV-100W", 1, "70.00")],
    )
    [placed] = await eventually(lambda: recorder.placed, what="the order placed all the same")
    assert placed.order_id == f"woo-{order['id']}"

    change = PriceChanged(
        sku="DRV-100W",
        list_net=D("72.00"),
        list_gross=D("87.12"),
        sale_net=None,
        sale_gross=None,
        vat_rate=D("0.21"),
        previous_list_net=D("70.00"),
        reason="catalog: cost",
    )
    changed = await publish(hub, change, key="DRV-100W")
    await eventually(lambda: handled(db_conn, changed), what="the price recorded")
    assert await db_conn.fetchval(
        "SELECT regular_price FROM woo_products WHERE sku = 'DRV-100W'"
    ) == D("72.00")  # kept, pushed once the keys are set
    assert not await db_conn.fetchval(
        "SELECT count(*) FROM hub_timers WHERE name = 'woocommerce:push-products'"
    )  # no push armed for a shop it cannot call

    await publish(hub, PushProducts(), key="woocommerce:products")  # asked for all the same
    error = await eventually(
        lambda: db_conn.fetchval(
            "SELECT error FROM hub_dead_letters WHERE type = 'woocommerce.PushProducts'"
        ),
        what="the push dead-lettered after its retries",
    )
    assert "CYPHER_WOOCOMMERCE_CONSUMER_KEY" in error
    assert shop.calls("POST", "/products/batch") == []
