"""The stock comparison rule, the daily timer's time, payment ids and the new settings."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from actors.invoicing.payments import payment_id
from actors.invoicing.settings import load_settings
from actors.invoicing.stock import compare, next_check
from connectors.smartbill.wire import StockProduct, Warehouse, WarehouseStock
from hub.errors import ConfigError

D = Decimal


def shelf(name: str, **products: str) -> WarehouseStock:
    return WarehouseStock(
        warehouse=Warehouse(warehouse_name=name),
        products=tuple(
            StockProduct(product_name=code, product_code=code, quantity=D(q))
            for code, q in products.items()
        ),
    )


def test_compare_reports_missing_extra_and_different_per_sku_and_warehouse() -> None:
    smartbill = [shelf("Depozit", A="5", B="2", C="0", E="1"), shelf("Cluj", A="9")]
    hub = {("A", "HQ"): D("5"), ("B", "HQ"): D("3"), ("D", "HQ"): D("4"), ("Z", "W3"): D(1)}
    report = compare(smartbill, hub, {"Depozit": "HQ"})
    found = [(d.kind, d.sku, d.hub_quantity, d.smartbill_quantity) for d in report.discrepancies]
    assert found == [
        ("different", "B", D("3"), D("2")),
        ("missing", "D", D("4"), None),
        ("extra", "E", None, D("1")),
    ]
    assert report.unmapped == ("Cluj",)
    assert report.compared == 5  # A, B, C (zero on one side only: no discrepancy), D, E


def test_next_check_is_bucharest_wall_time_across_dst() -> None:
    summer = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 06:00 in Bucharest (UTC+3)
    assert next_check(summer, time(6, 30)) == datetime(2026, 7, 1, 3, 30, tzinfo=UTC)
    assert next_check(summer, time(5, 0)) == datetime(2026, 7, 2, 2, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 07:00 in Bucharest (UTC+2)
    assert next_check(winter, time(6, 30)) == datetime(2026, 12, 2, 4, 30, tzinfo=UTC)


def test_payment_id_names_the_invoice_and_the_paid_total() -> None:
    assert payment_id("LDX", "0042", D("100.00")) == "smartbill:LDX0042:paid:100.00"
    assert payment_id("LDX", "0042", D("100.00")) != payment_id("LDX", "0042", D("242.00"))


def test_settings_read_the_warehouse_map_and_the_check_time() -> None:
    settings = load_settings(
        environ={
            "CYPHER_INVOICING_WAREHOUSES": "HQ=Depozit Bucuresti, W2=Depozit 2",
            "CYPHER_INVOICING_STOCK_CHECK_AT": "07:15:00",
            "CYPHER_INVOICING_PAYMENT_POLL_INTERVAL": "",
        },
    )
    assert settings.warehouse_map == {"Depozit Bucuresti": "HQ", "Depozit 2": "W2"}
    assert settings.stock_check_at == time(7, 15)
    assert settings.payment_poll_interval is None
    with pytest.raises(ConfigError):
        load_settings(environ={"CYPHER_INVOICING_WAREHOUSES": "HQ"})
