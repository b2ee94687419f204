"""The WordPress/WooCommerce rules the simulator copies, checked without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.woocommerce.sim_store import Store
from connectors.woocommerce.sim_wp import (
    RestError,
    parse_date,
    php_json,
    validate,
    wc_format_decimal,
)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("12.50", "12.50"),
        ("12,50", "12.50"),  # the shop's decimal separator is ","
        ("1.250,50", "1250.50"),  # thousands dots collapse onto the last one
        ("abc", ""),  # no error: the price is cleared
        ("", ""),
        (12.5, "12.5"),  # a number (batch items are not type-checked)
    ],
)
def test_prices_go_through_wc_format_decimal(sent: object, stored: str) -> None:
    assert wc_format_decimal(sent, ",") == stored


def test_json_is_encoded_as_wp_json_encode_does() -> None:
    body = php_json({"name": "Bandă LED", "url": "https://ledux.ro/p/1"})

    assert body == b'{"name":"Band\\u0103 LED","url":"https:\\/\\/ledux.ro\\/p\\/1"}'


def test_invalid_arguments_are_reported_together_by_name() -> None:
    with pytest.raises(RestError) as caught:
        validate(
            {"regular_price": 12.5, "status": "shipped", "colour": "red"},
            {
                "regular_price": {"type": "string"},
                "status": {"type": "string", "enum": ("pending", "completed")},
            },
        )

    body = caught.value.body()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): regular_price, status"
    assert body["data"]["params"] == {
        "regular_price": "regular_price is not of type string.",
        "status": "status is not one of pending, and completed.",
    }
    assert body["data"]["details"]["status"]["code"] == "rest_not_in_enum"


def test_dates_without_offset_are_read_in_the_zone_given() -> None:
    assert parse_date("2026-07-01T09:30:00", UTC) == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert parse_date("2026-07-01T12:30:00+03:00", UTC) == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert parse_date("yesterday", UTC) is None


def test_every_save_moves_date_modified_even_without_a_change() -> None:
    moments = iter(
        [datetime(2026, 7, 1, 9, 0, tzinfo=UTC), datetime(2026, 7, 1, 9, 0, 5, tzinfo=UTC)]
    )
    store = Store(clock=lambda: next(moments))
    product, _ = store.create("product", {"sku": "LDX-1", "regular_price": "10"}, strict=False)

    again, events = store.update("product", product["id"], {"regular_price": "10"}, strict=False)

    assert product["date_modified_gmt"] == "2026-07-01T09:00:00"
    assert again["date_modified_gmt"] == "2026-07-01T09:00:05"
    assert again["date_modified"] == "2026-07-01T12:00:05"  # Europe/Bucharest, summer time
    assert events == [("product", "updated", product["id"])]


def test_an_unknown_order_status_in_a_batch_item_becomes_pending() -> None:
    store = Store()
    order, _ = store.create("order", {"status": "processing"}, strict=False)

    updated, _ = store.update("order", order["id"], {"status": "shipped"}, strict=False)

    assert updated["status"] == "pending"  # WC_Order::set_status, no schema check in a batch
    with pytest.raises(RestError, match="Invalid parameter"):
        store.update("order", order["id"], {"status": "shipped"}, strict=True)
