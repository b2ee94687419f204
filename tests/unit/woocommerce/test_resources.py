"""Reading WooCommerce's JSON into typed structs and building the bodies the client sends."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.woocommerce.changes import (
    CustomerUpdate,
    MetaUpdate,
    OrderUpdate,
    ProductUpdate,
    changed_fields,
    money,
    wire,
)
from connectors.woocommerce.resources import Address, MetaData, Order, Product, decode

# The docs' order example (orders.md, "Retrieve an order"), trimmed, in RON.
ORDER = rb"""{
  "id": 727, "parent_id": 0, "number": "727", "order_key": "wc_order_58d2d042d1d",
  "created_via": "rest-api", "version": "3.0.0", "status": "processing", "currency": "RON",
  "date_created": "2017-03-22T16:28:02", "date_created_gmt": "2017-03-22T19:28:02",
  "date_modified": "2017-03-22T16:28:08", "date_modified_gmt": "2017-03-22T19:28:08",
  "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "10.00",
  "shipping_tax": "0.00", "cart_tax": "1.35", "total": "29.35", "total_tax": "1.35",
  "prices_include_tax": false, "customer_id": 0, "customer_note": "",
  "billing": {"first_name": "Ioana", "last_name": "Popescu", "company": "", "address_1":
    "Str. Memorandumului 28", "address_2": "", "city": "Cluj-Napoca", "state": "CJ",
    "postcode": "400114", "country": "RO", "email": "ioana@lumina.ro", "phone": "0722000000"},
  "shipping": {"first_name": "Ioana", "last_name": "Popescu", "company": "", "address_1":
    "Str. Memorandumului 28", "address_2": "", "city": "Cluj-Napoca", "state": "CJ",
    "postcode": "400114", "country": "RO"},
  "payment_method": "cod", "payment_method_title": "Ramburs", "transaction_id": "",
  "date_paid": null, "date_paid_gmt": null, "date_completed": null, "date_completed_gmt": null,
  "meta_data": [{"id": 13106, "key": "_billing_cui", "value": "RO4221306"}],
  "line_items": [
    {"id": 315, "name": "Banda LED 5050", "product_id": 93, "variation_id": 0, "quantity": 2,
     "tax_class": "", "subtotal": "6.00", "subtotal_tax": "0.45", "total": "6.00",
     "total_tax": "0.45", "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}],
     "meta_data": [], "sku": "", "price": 3},
    {"id": 316, "name": "Profil &ndash; 2m", "product_id": 22, "variation_id": 23,
     "quantity": 3, "tax_class": "", "subtotal": "12.00", "subtotal_tax": "0.90",
     "total": "10.00", "total_tax": "0.90", "taxes": [], "meta_data": [], "sku": "Bar3",
     "price": 3.3333333333333335}
  ],
  "tax_lines": [{"id": 318, "rate_code": "RO-TVA-1", "rate_id": 75, "label": "TVA",
    "compound": false, "tax_total": "1.35", "shipping_tax_total": "0.00", "meta_data": []}],
  "shipping_lines": [{"id": 317, "method_title": "Curier", "method_id": "flat_rate",
    "total": "10.00", "total_tax": "0.00", "taxes": [], "meta_data": []}],
  "fee_lines": [], "coupon_lines": [], "refunds": [{"id": 9, "reason": "", "total": "-5.00"}],
  "_links": {"self": [{"href": "https:\/\/ledux.ro\/wp-json\/wc\/v3\/orders\/727"}]}
}"""


def test_order_money_is_decimal_and_dates_are_utc_aware() -> None:
    order = decode(ORDER, Order)

    assert order.total == Decimal("29.35") and order.total_tax == Decimal("1.35")
    assert order.shipping_total == Decimal("10.00")
    assert order.date_modified_gmt == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.date_paid_gmt is None
    line = order.line_items[1]
    assert (line.sku, line.quantity, line.total, line.total_tax) == (
        "Bar3",
        3,
        Decimal("10.00"),
        Decimal("0.90"),
    )
    # a line's price is a JSON number: its digits are kept, never a binary float
    assert line.price == Decimal("3.3333333333333335")
    assert order.line_items[0].price == Decimal(3)
    assert order.refunds[0].total == Decimal("-5.00")
    assert order.billing.city == "Cluj-Napoca" and order.shipping.email is None
    assert order.meta_data == (MetaData(key="_billing_cui", value="RO4221306", id=13106),)


def test_blank_prices_read_as_none_and_unknown_fields_are_ignored() -> None:
    product = decode(
        b'{"id": 794, "sku": "LDX-1", "price": "21.99", "regular_price": "21.99",'
        b' "sale_price": "", "stock_quantity": null, "manage_stock": false,'
        b' "date_modified_gmt": "2017-03-23T20:01:14", "price_html": "<span>21,99</span>",'
        b' "brand_new_field": {"x": 1}}',
        Product,
    )

    assert product.regular_price == Decimal("21.99")
    assert product.sale_price is None
    assert product.stock_quantity is None
    assert product.date_modified_gmt == datetime(2017, 3, 23, 20, 1, 14, tzinfo=UTC)


def test_update_body_holds_only_the_fields_set() -> None:
    body = wire(ProductUpdate(id=5, regular_price=Decimal("1250.00"), stock_quantity=0))

    assert body == {"id": 5, "regular_price": "1250.00", "stock_quantity": 0}


def test_money_is_sent_in_plain_notation_and_a_cleared_sale_is_an_empty_string() -> None:
    body = wire(ProductUpdate(id=5, regular_price=Decimal("1.25E+3"), sale_price=None))

    assert body == {"id": 5, "regular_price": "1250", "sale_price": ""}


@pytest.mark.parametrize("bad", [Decimal("-1"), Decimal("NaN"), Decimal("Infinity")])
def test_a_price_that_is_not_a_price_is_refused_before_sending(bad: Decimal) -> None:
    with pytest.raises(ValueError, match="not a price"):
        money(bad)


def test_meta_and_addresses_are_sent_without_fields_left_unset() -> None:
    body = wire(
        CustomerUpdate(
            id=9,
            billing=Address(company="Lumina SRL", city="Cluj-Napoca"),
            meta_data=(MetaUpdate(key="b2b_tier", value="2"),),
        )
    )
    billing = body["billing"]

    assert "email" not in billing and "phone" not in billing  # None would clear them
    assert billing["company"] == "Lumina SRL"
    assert body["meta_data"] == [{"key": "b2b_tier", "value": "2"}]
    assert wire(OrderUpdate(id=3, status="completed")) == {"id": 3, "status": "completed"}


def test_changed_fields_keeps_only_what_differs_from_the_shop() -> None:
    current = Product(
        id=7,
        sku="LDX-7",
        regular_price=Decimal("19.90"),
        sale_price=None,
        manage_stock=True,
        stock_quantity=12,
        meta_data=(MetaData(key="_yoast_wpseo_title", value="Banda LED"),),
    )
    wanted = ProductUpdate(
        id=7,
        regular_price=Decimal("19.9"),  # equal as money
        sale_price=None,
        stock_quantity=10,
        meta_data=(
            MetaUpdate(key="_yoast_wpseo_title", value="Banda LED"),
            MetaUpdate(key="_yoast_wpseo_metadesc", value="Banda LED 5050 12V"),
        ),
    )

    assert changed_fields(wanted, current) == ProductUpdate(
        id=7,
        stock_quantity=10,
        meta_data=(MetaUpdate(key="_yoast_wpseo_metadesc", value="Banda LED 5050 12V"),),
    )
    assert changed_fields(ProductUpdate(id=7, stock_quantity=12), current) is None
