"""Reading the store through the client: pages, the modified_after poll, typed resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.errors import InvalidRequest, UnknownResource
from connectors.woocommerce.resources import Product
from connectors.woocommerce.simulator import WooCommerceSimulator, demo_catalog

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


async def test_250_products_are_read_in_three_requests_of_100(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    for product in demo_catalog(250):
        simulator.add_product(**product)

    products = [p async for p in client.products()]

    assert len(products) == 250
    assert len({p.sku for p in products}) == 250
    assert [p.id for p in products] == sorted(p.id for p in products)  # by id: a stable poll
    calls = simulator.calls("GET", "/products")
    assert len(calls) == 3
    assert [c.query["page"] for c in calls] == ["1", "2", "3"]
    assert all(c.query["per_page"] == "100" and c.status == 200 for c in calls)


async def test_pages_carry_wordpress_totals(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    for product in demo_catalog(120):
        simulator.add_product(**product)

    pages = [page async for page in client.pages("products", Product)]

    assert [(p.number, len(p.items), p.total, p.total_pages) for p in pages] == [
        (1, 100, 120, 2),
        (2, 20, 120, 2),
    ]
    assert pages[0].next_url is not None and "page=2" in pages[0].next_url
    assert pages[1].next_url is None


async def test_modified_after_returns_only_what_changed_since(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    old = [simulator.add_order(status="processing", modified=T0) for _ in range(3)]
    on_the_bound = simulator.add_order(status="processing", modified=T0 + timedelta(hours=1))
    later = [
        simulator.add_order(status="on-hold", modified=T0 + timedelta(hours=1, seconds=n))
        for n in (1, 2)
    ]

    changed = [o async for o in client.orders(modified_after=T0 + timedelta(hours=1))]

    assert [o.id for o in changed] == [o["id"] for o in later]  # strictly after, to the second
    assert on_the_bound["id"] not in {o.id for o in changed} and old
    [call] = simulator.calls("GET", "/orders")
    assert call.query["modified_after"] == "2026-07-01T09:00:00"
    assert call.query["dates_are_gmt"] == "true"


async def test_an_order_reads_as_typed_money_lines_and_dates(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.add_product(name="Banda LED 5050 12V", sku="LDX-5050", regular_price="24.90")
    placed = simulator.add_order(
        status="processing",
        payment_method="cod",
        payment_method_title="Ramburs la livrare",
        billing={"first_name": "Ioana", "city": "Cluj-Napoca", "email": "ioana@lumina.ro"},
        line_items=[{"sku": "LDX-5050", "quantity": 3}],
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Curier", "total": "19.00"}],
        meta_data=[{"key": "_billing_cui", "value": "RO4221306"}],
    )

    order = await client.get_order(placed["id"])

    [line] = order.line_items
    assert (line.sku, line.quantity, line.price) == ("LDX-5050", 3, Decimal("24.9"))
    assert (line.total, line.total_tax) == (Decimal("74.70"), Decimal("15.69"))
    assert order.shipping_total == Decimal("19.00") and order.shipping_tax == Decimal("3.99")
    assert order.total == Decimal("113.38")  # 74.70 + 15.69 + 19.00 + 3.99
    assert order.currency == "RON" and order.payment_method == "cod"
    assert order.date_paid_gmt is not None and order.date_paid_gmt.tzinfo is not None
    assert order.meta_data[0].value == "RO4221306"


async def test_a_product_is_found_by_its_sku(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.add_product(sku="LDX-1", regular_price="10.00")
    wanted = simulator.add_product(sku="LDX-2", regular_price="20.00", sale_price="")

    found = await client.find_product_by_sku("LDX-2")

    assert found is not None and found.id == wanted["id"]
    assert found.regular_price == Decimal("20.00") and found.sale_price is None
    assert await client.find_product_by_sku("LDX-404") is None


async def test_customers_of_every_role_are_listed(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim
    simulator.add_customer(email="ioana@lumina.ro", first_name="Ioana")
    simulator.add_customer(
        email="achizitii@instalux.ro",
        role="b2b_installer",
        meta_data=[{"key": "tier", "value": "2"}],
    )

    everyone = [c async for c in client.customers()]
    retail = [c async for c in client.customers(role="customer")]

    assert {c.email for c in everyone} == {"ioana@lumina.ro", "achizitii@instalux.ro"}
    assert [c.email for c in retail] == ["ioana@lumina.ro"]
    b2b = next(c for c in everyone if c.role == "b2b_installer")
    assert b2b.meta_data[0].value == "2"


async def test_an_unknown_id_and_a_bad_parameter_are_typed_refusals(
    sim: tuple[WooCommerceSimulator, str], client: WooCommerceClient
) -> None:
    simulator, _ = sim

    with pytest.raises(UnknownResource) as unknown:
        await client.get_product(999)
    with pytest.raises(InvalidRequest) as invalid:
        async for _ in client.pages("products", Product, {"orderby": "colour"}):
            pass

    assert (unknown.value.status, unknown.value.code) == (
        404,
        "woocommerce_rest_product_invalid_id",
    )
    assert invalid.value.code == "rest_invalid_param"
    assert "orderby" in invalid.value.data["params"]
    assert [c.status for c in simulator.requests] == [404, 400]  # refusals are not retried
