"""A shop order as the hub's PlaceOrder, and its totals against the hub's pricing (pure rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from actors.pricing.messages import CartPriced, CartTotals, PricedLine
from connectors.woocommerce import counties, mapping
from connectors.woocommerce.resources import Order, convert
from connectors.woocommerce.settings import WooCommerceSettings

SETTINGS = WooCommerceSettings()
BILLING = {
    "first_name": "Ioana",
    "last_name": "Popescu",
    "address_1": "Str. Lalelelor 12",
    "city": "Brașov",
    "state": "BV",
    "postcode": "500001",
    "country": "RO",
    "email": "ioana@example.ro",
    "phone": "0740000000",
}


def order(**fields: Any) -> Order:
    data: dict[str, Any] = {
        "id": 731,
        "number": "731",
        "status": "processing",
        "currency": "RON",
        "payment_method": "cod",
        "billing": BILLING,
        "line_items": [{"id": 1, "sku": "STRIP-5050", "quantity": 2, "total": "27.00"}],
    }
    data.update(fields)
    return convert(data, Order)


def test_every_woocommerce_county_code_is_a_county_and_bucharest_is_b() -> None:
    assert len(counties.COUNTIES) == 42
    assert counties.county("B", "RO", "București") == "București"
    assert counties.county("cj", "RO", "Cluj-Napoca") == "Cluj"
    assert counties.county("Sector 3", "RO", "București") == "Sector 3"  # as written
    assert counties.county("", "BG", "Ruse") == "Ruse"


@pytest.mark.parametrize(
    ("gateway", "method"),
    [
        ("cod", "cash_on_delivery"),
        ("bacs", "bank_transfer"),
        ("stripe", "card"),
        ("netopiapayments", "card"),
        ("euplatesc", "card"),
        ("cheque", None),
    ],
)
def test_gateways_map_to_the_hubs_payment_methods(gateway: str, method: str | None) -> None:
    assert mapping.payment_method(gateway, SETTINGS) == method


def test_a_billing_company_without_a_cui_is_a_consumer() -> None:
    mapped = mapping.place_order(order(billing={**BILLING, "company": "Lumina SRL"}), SETTINGS)
    assert mapped.order is not None and mapped.order.customer.kind == "consumer"
    assert mapped.order.customer.name == "Ioana Popescu"


def test_a_billing_company_with_a_cui_meta_is_a_company() -> None:
    mapped = mapping.place_order(
        order(
            billing={**BILLING, "company": "Lumina SRL"},
            meta_data=[{"id": 1, "key": "billing_cif", "value": " RO18547290 "}],
        ),
        SETTINGS,
        customer_id="woo-customer-9",
    )
    assert mapped.order is not None
    customer = mapped.order.customer
    assert (customer.kind, customer.name, customer.cui) == ("company", "Lumina SRL", "RO18547290")
    assert customer.customer_id == "woo-customer-9"
    assert mapped.order.billing.name == "Lumina SRL" and mapped.order.billing.county == "Brașov"


def test_card_orders_are_paid_only_with_a_payment_date() -> None:
    unpaid = mapping.place_order(order(payment_method="stripe"), SETTINGS).order
    paid = mapping.place_order(
        order(payment_method="stripe", date_paid_gmt="2026-03-02T10:00:00"), SETTINGS
    ).order
    on_delivery = mapping.place_order(order(date_paid_gmt="2026-03-02T10:00:00"), SETTINGS).order
    assert unpaid is not None and not unpaid.paid
    assert paid is not None and paid.paid
    assert on_delivery is not None and not on_delivery.paid


def test_lines_of_one_sku_are_added_up_and_a_line_without_sku_is_a_problem() -> None:
    twice = [
        {"id": 1, "sku": "DRV-100W", "quantity": 1, "total": "70.00", "total_tax": "14.70"},
        {"id": 2, "sku": "DRV-100W", "quantity": 2, "total": "140.00", "total_tax": "29.40"},
    ]
    mapped = mapping.place_order(order(line_items=twice), SETTINGS)
    assert mapped.order is not None
    assert [(x.sku, x.quantity) for x in mapped.order.lines] == [("DRV-100W", D(3))]
    assert mapped.lines[0].net == D("210.00") and mapped.lines[0].vat == D("44.10")

    missing = [{"id": 3, "name": "Montaj", "sku": "", "quantity": 1, "total": "150.00"}]
    parked = mapping.place_order(order(line_items=missing), SETTINGS)
    assert parked.order is None and parked.skus == ("Montaj",)
    assert parked.problems == ("line 'Montaj' has no SKU",)


def test_an_unknown_gateway_and_a_foreign_currency_are_problems() -> None:
    mapped = mapping.place_order(order(payment_method="cheque", currency="EUR"), SETTINGS)
    assert mapped.order is None
    assert "payment method 'cheque'" in mapped.problems[0]
    assert "currency EUR" in mapped.problems[1]


def test_fields_the_orders_actor_would_refuse_are_problems_here() -> None:
    mapped = mapping.place_order(order(billing={**BILLING, "address_1": ""}), SETTINGS)
    assert mapped.order is None and "cannot be placed" in mapped.problems[0]
    assert "street" in mapped.problems[0]


def priced(*lines: tuple[str, str, str]) -> CartPriced:
    out = []
    for sku, net, vat in lines:
        out.append(
            PricedLine(
                sku=sku,
                quantity=D(1),
                unit="piece",
                unit_net=D(net),
                line_net=D(net),
                vat_rate=D("0.21"),
                line_vat=D(vat),
                line_gross=D(net) + D(vat),
                breakdown=(),
            )
        )
    total_net = sum((x.line_net for x in out), D(0))
    total_vat = sum((x.line_vat for x in out), D(0))
    return CartPriced(
        request_id="woocommerce:1:1",
        customer_id=None,
        tier=0,
        on=date(2026, 3, 2),
        lines=tuple(out),
        totals=CartTotals(net=total_net, vat=total_vat, gross=total_net + total_vat),
    )


def test_totals_within_a_cent_agree_and_beyond_it_are_a_mismatch() -> None:
    shop = (mapping.ShopLine(sku="A", quantity=D(1), net=D("10.00"), vat=D("2.10")),)
    assert mapping.compare(shop, priced(("A", "10.01", "2.10"))) is None
    mismatch = mapping.compare(shop, priced(("A", "10.02", "2.10")))
    assert mismatch is not None
    assert (mismatch.shop_net, mismatch.hub_net) == (D("10.00"), D("10.02"))
    assert [(x.sku, x.shop_net, x.hub_net) for x in mismatch.lines] == [
        ("A", D("10.00"), D("10.02"))
    ]
    assert "shop net 10.00" in mismatch.describe()
