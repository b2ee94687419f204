"""The demo's shop orders and the simulated shop's contents: realistic, and acceptable to the
hub as they are (no I/O: the simulator's store is used in memory)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from actors.catalog.demo import demo_products
from actors.orders.identity import valid_cui
from actors.orders.validation import placement_problems
from connectors.sandbox import people
from connectors.sandbox.shop import shop_products, whatsapp_templates
from connectors.woocommerce.mapping import place_order
from connectors.woocommerce.resources import Order, convert
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator


@pytest.mark.parametrize("seed", range(5))
def test_generated_cuis_have_a_valid_check_digit(seed: int) -> None:
    rng = random.Random(seed)
    cuis = [people.cui(rng) for _ in range(200)]
    assert all(valid_cui(c) for c in cuis)
    assert all(c.startswith("RO") and len(c) == 10 for c in cuis)


def test_the_first_three_orders_show_each_payment_method() -> None:
    rng = random.Random(1)
    assert [people.method_for(rng, n) for n in range(3)] == ["card", "cod", "transfer"]
    later = {people.method_for(rng, n) for n in range(3, 200)}
    assert later == {"card", "cod", "transfer"}


@pytest.fixture(scope="module")
def shop() -> tuple[WooCommerceSimulator, list[people.Product]]:
    sim = WooCommerceSimulator()
    products = []
    for fields in shop_products():
        stored = sim.add_product(**fields)
        if stored["status"] == "publish" and stored["stock_quantity"] >= 10:
            products.append(
                people.Product(
                    stored["id"],
                    stored["sku"],
                    stored["name"],
                    stored["price"],
                    stored["stock_quantity"],
                )
            )
    return sim, products


def test_every_demo_order_is_one_the_hub_places(
    shop: tuple[WooCommerceSimulator, list[people.Product]],
) -> None:
    sim, products = shop
    rng = random.Random(2026)
    settings = WooCommerceSettings()
    seen_methods, seen_counties = set(), set()
    for n in range(150):
        body = people.shop_order(rng, n, products)
        stored = sim.add_order(**body)
        mapped = place_order(convert(stored, Order), settings)
        assert mapped.problems == (), (body, mapped.problems)
        assert mapped.order is not None
        assert placement_problems(mapped.order) == [], body
        assert 1 <= len(mapped.order.lines) <= 4
        seen_methods.add(mapped.order.payment_method)
        seen_counties.add(mapped.order.billing.county)
        if mapped.order.payment_method == "bank_transfer":
            assert mapped.order.customer.kind == "company"
            assert mapped.order.customer.cui and valid_cui(mapped.order.customer.cui)
        else:
            assert mapped.order.customer.kind == "consumer"
        assert mapped.order.paid is (mapped.order.payment_method == "card")
    assert seen_methods == {"card", "cash_on_delivery", "bank_transfer"}
    assert "București" in seen_counties and len(seen_counties) > 10


def test_bucharest_addresses_name_their_sector() -> None:
    rng = random.Random(3)
    found = [people.address(rng, "Ana", "Pop") for _ in range(100)]
    bucharest = [a for a in found if a["state"] == "B"]
    assert bucharest
    assert all(a["address_2"].startswith("Sector ") for a in bucharest)


def test_the_shop_sells_the_demo_catalog_at_the_hubs_list_prices() -> None:
    listed = {p["sku"]: p for p in shop_products()}
    catalog = {p.sku: p for p in demo_products()}
    active = {sku for sku, p in catalog.items() if p.status == "active"}
    published = {sku for sku, p in listed.items() if p["status"] == "publish"}
    assert published == active
    for sku in active:
        p = catalog[sku]
        expected = (p.cost * (1 + p.margin)).quantize(Decimal("0.01"))
        assert abs(Decimal(listed[sku]["regular_price"]) - expected) <= Decimal("0.01"), sku
        assert listed[sku]["name"] == p.name
    assert all(isinstance(p["stock_quantity"], int) for p in listed.values())
    assert not {sku for sku, p in catalog.items() if p.status == "draft"} & set(listed)


def test_the_simulated_whatsapp_approves_the_notifications_templates() -> None:
    templates = whatsapp_templates()
    assert templates["order_confirmed_v1"] == 3
    assert templates["order_shipped_v1"] == 3
    assert "invoice_issued" not in templates  # email only
