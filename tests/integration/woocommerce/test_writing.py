"""Pushing changes through the client: batches of at most 100, only changed fields, item
errors reported, order status updates."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from connectors.woocommerce.changes import (
    MetaUpdate,
    OrderUpdate,
    ProductCreate,
    ProductUpdate,
    changed_fields,
)
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.errors import DuplicateSku, TooLarge, UnknownResource
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog


def seed(simulator: WooCommerceSimulator, count: int) -> list[int]:
    return [simulator.add_product(**p)["id"] for p in demo_catalog(count)]


async def test_250_price_changes_take_three_batch_calls_sending_only_the_price(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    ids = seed(simulator, 250)
    updates = [ProductUpdate(id=i, regular_price=Decimal("99.90")) for i in ids]

    outcome = await client.batch_products(update=updates)

    assert outcome.ok and len(outcome.updated) == 250
    batches = simulator.calls("POST", "/products/batch")
    assert outcome.requests == len(batches) == math.ceil(250 / 100)
    assert [b.items for b in batches] == [100, 100, 50]
    sent = [item for b in batches for item in b.body["update"]]
    assert all(item.keys() == {"id", "regular_price"} for item in sent)
    assert {item["regular_price"] for item in sent} == {"99.90"}
    stored = simulator.store.records["product"]
    assert all(stored[i]["regular_price"] == "99.90" and stored[i]["price"] == "99.90" for i in ids)


async def test_only_products_that_differ_from_the_shop_are_sent(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    seed(simulator, 150)
    shop = [p async for p in client.products()]
    # the hub's stock: every third product differs from what the shop shows
    wanted = [
        ProductUpdate(id=p.id, stock_quantity=int(p.stock_quantity or 0) + (1 if n % 3 == 0 else 0))
        for n, p in enumerate(shop)
    ]
    changes = [c for c in (changed_fields(w, p) for w, p in zip(wanted, shop, strict=True)) if c]

    outcome = await client.batch_products(update=changes)

    assert len(changes) == 50 and outcome.requests == 1
    [call] = simulator.calls("POST", "/products/batch")
    assert call.items == 50
    assert all(item.keys() == {"id", "stock_quantity"} for item in call.body["update"])


async def test_refused_items_are_reported_and_the_others_applied(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    first, second, third = seed(simulator, 3)
    taken = simulator.store.records["product"][first]["sku"]

    outcome = await client.batch_products(
        create=[ProductCreate(name="Sursa 12V 150W", sku=taken, regular_price=Decimal("89"))],
        update=[
            ProductUpdate(id=second, sale_price=Decimal("15.00")),
            ProductUpdate(id=424242, stock_quantity=5),
            ProductUpdate(id=third, sku=taken),
        ],
    )

    assert outcome.requests == 1 and list(outcome.updated) == [second]
    assert outcome.updated[second].sale_price == Decimal("15.00")
    assert outcome.updated[second].price == Decimal("15.00")
    failures = {(f.action, f.index): f for f in outcome.failed}
    assert set(failures) == {("create", 0), ("update", 1), ("update", 2)}
    assert isinstance(failures["create", 0].error, DuplicateSku)
    assert isinstance(failures["update", 1].error, UnknownResource)
    assert failures["update", 1].id == 424242
    assert failures["update", 1].error.code == "woocommerce_rest_product_invalid_id"
    assert isinstance(failures["update", 2].error, DuplicateSku)
    assert all(f.permanent and f.sent for f in outcome.failed)
    assert simulator.store.records["product"][third]["sku"] != taken


async def test_a_store_with_a_lower_batch_limit_answers_413_for_every_item(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.batch_limit = 50
    ids = seed(simulator, 60)

    outcome = await client.batch_products(
        update=[ProductUpdate(id=i, stock_quantity=1) for i in ids]
    )

    assert outcome.requests == 1 and len(outcome.failed) == 60
    assert all(isinstance(f.error, TooLarge) and f.permanent for f in outcome.failed)
    assert [c.status for c in simulator.calls("POST")] == [413]


async def test_a_smaller_batch_size_setting_fits_such_a_store(
    sim: tuple[WooCommerceSimulator, str], make_client: Callable[..., WooCommerceClient]
) -> None:
    simulator, _ = sim
    simulator.batch_limit = 50
    ids = seed(simulator, 60)

    outcome = await make_client(batch_size=50).batch_products(
        update=[ProductUpdate(id=i, stock_quantity=1) for i in ids]
    )

    assert outcome.ok and [c.items for c in simulator.calls("POST")] == [50, 10]


async def test_updates_that_set_nothing_are_not_sent(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    [ident] = seed(simulator, 1)

    outcome = await client.batch_products(update=[ProductUpdate(id=ident)])

    assert outcome.skipped == [ident] and outcome.requests == 0
    assert simulator.requests == []


async def test_an_order_status_update_sends_the_status_alone(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    placed = simulator.add_order(status="processing", line_items=[{"sku": "X", "quantity": 1}])

    order = await client.update_order_status(placed["id"], "completed")

    assert order.status == "completed" and order.date_completed_gmt is not None
    [call] = simulator.calls("PUT")
    assert (call.path, call.body) == (f"/orders/{placed['id']}", {"status": "completed"})
    assert simulator.store.records["order"][placed["id"]]["status"] == "completed"


async def test_orders_are_updated_in_batches_with_their_meta(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    ids = [simulator.add_order(status="processing")["id"] for _ in range(3)]

    outcome = await client.batch_orders(
        update=[
            OrderUpdate(
                id=i, status="completed", meta_data=(MetaUpdate(key="_invoice", value=f"FL-{i}"),)
            )
            for i in ids
        ]
    )

    assert outcome.ok and all(outcome.updated[i].status == "completed" for i in ids)
    assert [m.value for m in outcome.updated[ids[0]].meta_data] == [f"FL-{ids[0]}"]


async def test_a_product_update_sends_only_the_fields_set(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    [ident] = seed(simulator, 1)

    product = await client.update_product(
        ProductUpdate(id=ident, manage_stock=True, stock_quantity=0)
    )

    assert (product.stock_quantity, product.stock_status) == (0, "outofstock")
    [call] = simulator.calls("PUT")
    assert call.body == {"manage_stock": True, "stock_quantity": 0}
