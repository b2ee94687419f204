"""Shop orders into the hub on the real bus (memory and RabbitMQ): signed webhooks through the
edge's stand-in, the connector actor, the real pricing actor, a recorder in the orders
context's place; the simulator's request log and the connector's rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import asyncpg

from actors.orders.messages import CancelRefused, OrderStateChanged
from connectors.woocommerce.messages import RetryOrder, WebhookReceived
from connectors.woocommerce.simulator import WooCommerceSimulator
from tests.integration.orders.support import products, snapshot
from tests.integration.woocommerce_actor.support import (
    BILLING,
    COMPANY_META,
    Intake,
    Recorder,
    handled,
    line,
    outbox_count,
    publish,
    start,
    woo_row,
)
from tests.support import eventually

Sim = tuple[WooCommerceSimulator, str]


async def test_card_cod_and_b2b_transfer_orders_each_become_one_place_order(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    await start(start_hub, intake, db_conn, connector(), recorder)
    lumina = shop.add_customer(
        email="office@lumina.ro", meta_data=[{"key": "cypher_customer_id", "value": "c-lumina"}]
    )
    shop.change("customer", lumina["id"], first_name="Mihai")  # customer.updated
    await eventually(
        lambda: db_conn.fetchval("SELECT count(*) = 1 FROM woo_customers"),
        what="the B2B customer known",
    )
    await db_conn.execute(
        "INSERT INTO pricing_customer_tiers (customer_id, tier) VALUES ('c-lumina', 2)"
    )

    card = shop.place_order(
        status="processing",
        payment_method="stripe",
        billing=BILLING,
        shipping={**BILLING, "first_name": "Andrei", "city": "București", "state": "B"},
        line_items=[line("STRIP-5050", 4, "13.50"), line("DRV-100W", 1, "70.00")],
        customer_note="Livrare după ora 17",
    )
    cod = shop.place_order(
        status="processing",
        payment_method="cod",
        billing={**BILLING, "state": "IF", "city": "Voluntari"},
        line_items=[line("DRV-100W", 2, "70.00")],
    )
    b2b = shop.place_order(
        status="on-hold",
        payment_method="bacs",
        customer_id=lumina["id"],
        billing={**BILLING, "company": "Lumina Instal SRL", "state": "TM", "city": "Timișoara"},
        meta_data=COMPANY_META,
        line_items=[line("STRIP-5050", 10, "12.15"), line("DRV-100W", 2, "63.00")],
    )

    await eventually(lambda: len(recorder.placed) == 3, what="three orders placed")
    by_id = {m.order_id: m for m in recorder.placed}
    paid_by_card = by_id[f"woo-{card['id']}"]
    assert paid_by_card.source == "woocommerce" and paid_by_card.external_ref == card["number"]
    assert paid_by_card.payment_method == "card" and paid_by_card.paid
    assert paid_by_card.customer.kind == "consumer"
    assert paid_by_card.customer.name == "Ioana Popescu"
    assert paid_by_card.customer.customer_id is None  # a guest
    assert paid_by_card.billing.county == "Cluj"
    assert paid_by_card.billing.street == "Str. Lalelelor 12, ap. 4"
    assert paid_by_card.shipping is not None and paid_by_card.shipping.county == "București"
    assert paid_by_card.shipping.name == "Andrei Popescu"
    assert {(x.sku, x.quantity) for x in paid_by_card.lines} == {
        ("STRIP-5050", D(4)),
        ("DRV-100W", D(1)),
    }
    assert paid_by_card.note == "Livrare după ora 17"

    on_delivery = by_id[f"woo-{cod['id']}"]
    assert on_delivery.payment_method == "cash_on_delivery"
    assert not on_delivery.paid  # WooCommerce stamps date_paid at processing; nothing was paid
    assert on_delivery.billing.county == "Ilfov"

    company = by_id[f"woo-{b2b['id']}"]
    assert company.payment_method == "bank_transfer" and not company.paid
    assert company.customer.kind == "company" and company.customer.name == "Lumina Instal SRL"
    assert company.customer.cui == "RO18547290"
    assert company.customer.reg_com == "J40/1234/2020"
    assert company.customer.customer_id == "c-lumina"  # its tier-2 prices matched the shop's
    assert company.billing.county == "Timiș"

    assert recorder.mismatches == [] and recorder.parked == []
    states = await db_conn.fetch("SELECT state, mismatch FROM woo_orders")
    assert [(r["state"], r["mismatch"]) for r in states] == [("placed", None)] * 3


async def test_repeated_deliveries_place_nothing_new_and_a_shop_cancellation_is_passed_on(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    hub = await start(start_hub, intake, db_conn, connector(), recorder)
    order = shop.place_order(
        status="processing",
        payment_method="netopiapayments",
        billing=BILLING,
        line_items=[line("STRIP-5050", 2, "13.50")],
    )
    order_id = f"woo-{order['id']}"
    await eventually(lambda: recorder.orders(order_id), what="the order placed")

    shop.change("order", order["id"], customer_note="Sunați înainte")  # order.updated
    first = next(m for m in intake.published if isinstance(m, WebhookReceived))
    again = await publish(hub, first, key=f"woocommerce:order:{order['id']}")  # a replay
    await eventually(lambda: len(intake.envelopes) == 2, what="the update delivered")
    await eventually(lambda: handled(db_conn, again, *intake.envelopes), what="all handled")
    shop.change("order", order["id"], status="cancelled")  # the shop gives up on it
    [cancel] = await eventually(lambda: recorder.cancels, what="the hub asked to cancel")
    assert cancel.order_id == order_id and cancel.only_from == ("pending", "on_hold")
    assert f"{order['number']} is cancelled in the shop" in cancel.reason
    assert recorder.cancelled == []  # staff are told only if the hub does not cancel it
    shop.change("order", order["id"], status="failed")  # cancelled already: nothing new
    await eventually(lambda: len(intake.envelopes) == 4, what="the next change delivered")
    await eventually(lambda: handled(db_conn, *intake.envelopes), what="all handled")
    assert len(recorder.cancels) == 1

    # the orders context did not cancel it (confirmed already): staff are told
    refused = CancelRefused(order_id=order_id, state="confirmed", reason="order is confirmed")
    await publish(hub, refused, key=f"order:{order_id}")
    [cancelled] = await eventually(lambda: recorder.cancelled, what="the cancellation flagged")
    assert cancelled.order_id == order_id and cancelled.shop_order_id == order["id"]
    assert len(recorder.orders(order_id)) == 1
    key = f"woocommerce:order:{order['id']}"
    assert await outbox_count(db_conn, "pricing.PriceCart", key) == 1
    assert await outbox_count(db_conn, "orders.PlaceOrder", f"order:{order_id}") == 1
    row = await woo_row(db_conn, order["id"])
    assert row is not None and row["state"] == "placed" and row["check_no"] == 1
    assert row["shop_cancelled_at"] is not None


async def test_a_pending_card_order_waits_for_its_payment(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    await start(start_hub, intake, db_conn, connector(), recorder)
    order = shop.place_order(
        payment_method="stripe", billing=BILLING, line_items=[line("DRV-100W", 1, "70.00")]
    )
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT state = 'waiting' FROM woo_orders WHERE shop_order_id = $1", order["id"]
        ),
        what="the unpaid order waiting",
    )
    assert recorder.placed == []

    shop.change("order", order["id"], status="processing")  # paid
    [placed] = await eventually(lambda: recorder.placed, what="the paid order placed")
    assert placed.paid and placed.order_id == f"woo-{order['id']}"


async def test_totals_that_differ_from_the_hubs_pricing_are_flagged_and_the_order_noted(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    await start(start_hub, intake, db_conn, connector(), recorder)
    order = shop.place_order(  # the shop sells the strip at 12.00; the hub's price is 13.50
        status="processing",
        payment_method="cod",
        billing=BILLING,
        line_items=[line("STRIP-5050", 3, "12.00"), line("DRV-100W", 1, "70.00")],
    )

    [flag] = await eventually(lambda: recorder.mismatches, what="the mismatch flagged")
    assert (flag.shop_net, flag.hub_net) == (D("106.00"), D("110.50"))
    assert (flag.shop_gross, flag.hub_gross) == (D("128.26"), D("133.71"))
    assert [(x.sku, x.shop_net, x.hub_net) for x in flag.lines] == [
        ("STRIP-5050", D("36.00"), D("40.50"))
    ]
    assert flag.placed
    [placed] = await eventually(lambda: recorder.placed, what="the order placed")
    assert placed.note is not None and "[WooCommerce] shop totals differ" in placed.note
    row = await woo_row(db_conn, order["id"])
    assert row is not None and "shop net 106.00" in row["mismatch"]
    assert (row["shop_net"], row["hub_net"]) == (D("106.00"), D("110.50"))


async def test_a_mismatch_parks_the_order_when_so_configured_until_accepted(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    hub = await start(start_hub, intake, db_conn, connector(totals_mismatch="park"), recorder)
    order = shop.place_order(
        status="processing",
        payment_method="stripe",
        billing=BILLING,
        line_items=[line("DRV-100W", 1, "65.00")],
    )
    [parked] = await eventually(lambda: recorder.parked, what="the order parked")
    assert "shop totals differ" in parked.reason
    assert [m.placed for m in recorder.mismatches] == [False]
    assert recorder.placed == []

    await publish(hub, RetryOrder(shop_order_id=order["id"], accept_totals=True))
    [placed] = await eventually(lambda: recorder.placed, what="the accepted order placed")
    assert placed.order_id == f"woo-{order['id']}"
    assert [m.placed for m in recorder.mismatches] == [False, True]


async def test_unknown_or_missing_skus_park_the_order_with_the_reason(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    hub = await start(start_hub, intake, db_conn, connector(), recorder)
    unknown = shop.place_order(
        status="processing",
        payment_method="cod",
        billing=BILLING,
        line_items=[line("STRIP-5050", 1, "13.50"), line("PROFIL-2M", 2, "25.00")],
    )
    no_sku = shop.place_order(
        status="processing",
        payment_method="cod",
        billing=BILLING,
        line_items=[{"name": "Montaj la domiciliu", "quantity": 1, "price": "150.00"}],
    )

    await eventually(lambda: len(recorder.parked) == 2, what="both orders parked")
    reasons = {m.shop_order_id: m for m in recorder.parked}
    assert reasons[unknown["id"]].skus == ("PROFIL-2M",)
    assert "PROFIL-2M" in reasons[unknown["id"]].reason
    assert "has no SKU" in reasons[no_sku["id"]].reason
    rows = await db_conn.fetch("SELECT shop_order_id, state, reason FROM woo_orders")
    assert {r["shop_order_id"]: r["state"] for r in rows} == {
        unknown["id"]: "parked",
        no_sku["id"]: "parked",
    }
    assert recorder.placed == []

    # the catalog adds the profile: the parked order is taken in again
    profile = snapshot("PROFIL-2M", name="Profil aluminiu 2m", cost="20.00", margin="0.25")
    await publish(hub, products(profile), key="catalog")
    await eventually(
        lambda: db_conn.fetchval("SELECT count(*) = 3 FROM pricing_list_prices"),
        what="the profile priced",
    )
    await publish(hub, RetryOrder(shop_order_id=unknown["id"]))
    [placed] = await eventually(lambda: recorder.placed, what="the order placed at last")
    assert placed.order_id == f"woo-{unknown['id']}"


async def test_a_status_change_in_the_hub_is_pushed_to_the_shop_once(
    start_hub: Any,
    sim: Sim,
    intake: Intake,
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    shop, _ = sim
    recorder = Recorder()
    hub = await start(start_hub, intake, db_conn, connector(), recorder)
    order = shop.place_order(
        status="processing",
        payment_method="stripe",
        billing=BILLING,
        line_items=[line("DRV-100W", 1, "70.00")],
    )
    order_id = f"woo-{order['id']}"
    await eventually(lambda: recorder.orders(order_id), what="the order placed")
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
    await publish(hub, shipped, key=f"order:{order_id}")

    await eventually(
        lambda: shop.store.records["order"][order["id"]]["status"] == "completed",
        what="the shop showing the order completed",
    )
    again = await publish(hub, shipped, key=f"order:{order_id}")  # delivered twice
    await eventually(lambda: handled(db_conn, again), what="the repeat handled")
    await shop.webhooks.flush()  # the shop's order.updated for our own change
    await eventually(lambda: handled(db_conn, *intake.envelopes), what="the echo handled")

    puts = shop.calls("PUT", f"/orders/{order['id']}")
    assert [(r.status, r.body) for r in puts] == [(200, {"status": "completed"})]
    assert recorder.cancelled == []
    row = await woo_row(db_conn, order["id"])
    assert row is not None and row["status_pushed"] == "completed" and row["status_error"] is None
