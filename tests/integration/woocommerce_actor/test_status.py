"""Order statuses pushed to the shop on the real bus (memory and RabbitMQ) while the shop is
down: the push waits on a durable timer instead of burning the message's redeliveries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.orders.messages import OrderStateChanged
from connectors.woocommerce.simulator import WooCommerceSimulator
from hub.breaker import Breaker
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


async def test_a_status_pushed_during_an_outage_reaches_the_shop_once_it_is_back(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    # a breaker that opens during the outage, as the real one does (5 failures, then held open)
    breaker = Breaker("woocommerce-status-test", fail_max=3, reset_timeout=0.3)
    actor = connector(breaker=breaker, retry_max_backoff=0.3)
    hub = await start(start_hub, intake, db_conn, actor, recorder)
    order = shop.place_order(
        status="processing",
        payment_method="stripe",
        billing=BILLING,
        line_items=[line("DRV-100W", 1, "70.00")],
    )
    order_id = f"woo-{order['id']}"
    await eventually(lambda: recorder.orders(order_id), what="the order placed")

    # down for longer than the runtime's retries of one message (retry_delays 0.05 s, 0.1 s)
    shop.outage(2.5)
    shipped = OrderStateChanged(
        order_id=order_id,
        number="LDX-000042",
        external_ref=order["number"],
        from_state="processing",
        to_state="shipped",
        woo_status="completed",
        at=datetime.now(UTC),
        by="user:5",
        reason="courier picked it up",
    )
    sent = await publish(hub, shipped, key=f"order:{order_id}")
    await eventually(lambda: handled(db_conn, sent), what="the status change handled")
    row = await woo_row(db_conn, order["id"])
    assert row is not None and row["status_pushed"] is None and row["status_error"]

    await eventually(
        lambda: shop.store.records["order"][order["id"]]["status"] == "completed",
        timeout=20,
        what="the shop showing the order completed once it is back",
    )
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT status_pushed = 'completed' AND status_error IS NULL "
            "FROM woo_orders WHERE shop_order_id = $1",
            order["id"],
        ),
        what="the confirmation recorded",
    )
    puts = shop.calls("PUT", f"/orders/{order['id']}")
    assert [r.body for r in puts if r.status == 200] == [{"status": "completed"}]
    assert {r.status for r in puts if r.status != 200} == {503}  # the outage was met
    assert breaker.state == "closed"
    assert await db_conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0
    assert not await db_conn.fetchval(
        "SELECT count(*) FROM hub_timers WHERE name = $1", f"woo-status:{order['id']}"
    )
