"""The demo opening stock: receipts by the seed, spread over the warehouses, some SKUs low or
out of stock, figures published, the ledger adding up."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from actors.inventory.seed import REASON, SeedSku, seed, seed_stock
from tests.integration.inventory.support import ledger_mismatches

OWN = [SeedSku(f"STRIP-{i:03d}", "metre") for i in range(40)] + [
    SeedSku(f"BULB-{i:03d}", "piece") for i in range(60)
]


async def test_opening_stock_is_received_by_the_seed_and_published(
    inv: asyncpg.Connection,
) -> None:
    async with inv.transaction():
        plans = await seed_stock(inv, OWN)
    movements = await inv.fetch("SELECT * FROM inventory_movements")
    assert {(m["kind"], m["reason"], m["author"]) for m in movements} == {
        ("receipt", REASON, "system:seed")
    }
    assert await ledger_mismatches(inv) == []
    rows = await inv.fetch("SELECT sku, warehouse, on_hand FROM inventory_stock")
    assert {r["warehouse"] for r in rows} == {"HQ", "W2", "W3"}
    pieces = [r["on_hand"] for r in rows if r["sku"].startswith("BULB")]
    assert all(q == q.to_integral_value() for q in pieces)
    metres = [r["on_hand"] for r in rows if r["sku"].startswith("STRIP")]
    assert any(q != q.to_integral_value() for q in metres)  # cut reels
    empty = [p.sku for p in plans if not p.stock]
    low = await inv.fetch("SELECT sku, available, reorder_point FROM inventory_skus WHERE low")
    assert len(empty) >= 2 and len(empty) + 3 <= len(low) <= 25
    assert all(r["available"] < r["reorder_point"] for r in low)
    published = await inv.fetch(
        "SELECT envelope FROM hub_outbox WHERE type = 'inventory.StockChanged'"
    )
    assert len(published) == len(OWN) - len(empty)
    assert {p["envelope"]["actor"] for p in published} == {"system:seed"}
    timer = await inv.fetchrow(
        "SELECT type FROM hub_timers WHERE name = 'inventory:low-stock-digest'"
    )
    assert timer is not None and timer["type"] == "inventory.SendLowStockDigest"


async def test_the_demo_catalog_gets_opening_stock(inv: asyncpg.Connection) -> None:
    async with inv.transaction():
        await seed(inv)
    skus = await inv.fetchval("SELECT count(DISTINCT sku) FROM inventory_stock")
    assert skus > 100
    total = await inv.fetchval("SELECT sum(on_hand) FROM inventory_stock")
    assert total > Decimal(1000)
    assert await ledger_mismatches(inv) == []
