"""SQL of the inventory's reads for the API: stock lists, one SKU, movements, value,
availability. Plain reads, no locks: each answer is one consistent snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.inventory.store import MovementRow, SkuState, Warehouse
from hub.db import record_to
from hub.errors import NotFound


class StockRow(msgspec.Struct, frozen=True, kw_only=True):
    """Stock of one SKU in one warehouse."""

    sku: str
    warehouse: str
    priority: int
    on_hand: Decimal
    reserved: Decimal


def _prefix(text: str | None) -> str | None:
    if text is None:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def list_stock(
    conn: asyncpg.Connection,
    *,
    sku_prefix: str | None,
    warehouse: str | None,
    below_reorder: bool,
    default_reorder_point: Decimal | None,
    after: tuple[str, int] | None,
    limit: int,
) -> list[StockRow]:
    """Stock rows by SKU then warehouse priority, after the cursor's (sku, priority)."""
    rows = await conn.fetch(
        """
        SELECT s.sku, s.warehouse, w.priority, s.on_hand, s.reserved
        FROM inventory_stock s JOIN inventory_warehouses w ON w.code = s.warehouse
        WHERE ($1::text IS NULL OR s.sku LIKE $1)
          AND ($2::text IS NULL OR s.warehouse = $2)
          AND (NOT $3 OR s.sku IN (
                SELECT t.sku FROM inventory_stock t LEFT JOIN inventory_skus k USING (sku)
                GROUP BY t.sku, k.reorder_point
                HAVING sum(t.on_hand - t.reserved) < coalesce(k.reorder_point, $4)))
          AND ($5::text IS NULL OR (s.sku, w.priority) > ($5, $6))
        ORDER BY s.sku, w.priority
        LIMIT $7
        """,
        _prefix(sku_prefix),
        warehouse,
        below_reorder,
        default_reorder_point,
        after[0] if after else None,
        after[1] if after else 0,
        limit,
    )
    return [record_to(StockRow, r) for r in rows]


async def sku_stock(conn: asyncpg.Connection, sku: str) -> tuple[SkuState, list[StockRow]]:
    """A SKU's state and its stock per warehouse; :class:`NotFound` if neither exists."""
    state = await conn.fetchrow(
        "SELECT sku, reorder_point, safety_buffer, unit, cost, available, published, version, "
        "low FROM inventory_skus WHERE sku = $1",
        sku,
    )
    rows = await conn.fetch(
        "SELECT s.sku, s.warehouse, w.priority, s.on_hand, s.reserved FROM inventory_stock s "
        "JOIN inventory_warehouses w ON w.code = s.warehouse WHERE s.sku = $1 ORDER BY 3",
        sku,
    )
    if state is None and not rows:
        raise NotFound(f"no stock of SKU {sku!r}")
    return (
        record_to(SkuState, state) if state else SkuState(sku=sku),
        [record_to(StockRow, r) for r in rows],
    )


async def list_movements(
    conn: asyncpg.Connection,
    *,
    sku: str | None,
    kind: str | None,
    warehouse: str | None,
    reference: str | None,
    since: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[MovementRow]:
    """Movements newest first, filtered, before the cursor's id."""
    rows = await conn.fetch(
        """
        SELECT id, at, kind, sku, warehouse, quantity, reason, author, reference
        FROM inventory_movements
        WHERE ($1::text IS NULL OR sku = $1) AND ($2::text IS NULL OR kind = $2)
          AND ($3::text IS NULL OR warehouse = $3) AND ($4::text IS NULL OR reference = $4)
          AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::bigint IS NULL OR id < $6)
        ORDER BY id DESC LIMIT $7
        """,
        sku,
        kind,
        warehouse,
        reference,
        since,
        before_id,
        limit,
    )
    return [record_to(MovementRow, r) for r in rows]


class WarehouseValueRow(msgspec.Struct, frozen=True, kw_only=True):
    """Stock value of one warehouse (unrounded)."""

    code: str
    name: str
    value: Decimal
    without_cost: int


async def stock_value(conn: asyncpg.Connection) -> tuple[list[WarehouseValueRow], int]:
    """On hand times cost per warehouse, and how many SKUs in stock have no cost yet."""
    rows = await conn.fetch(
        """
        SELECT w.code, w.name, coalesce(sum(s.on_hand * k.cost), 0) AS value,
               count(*) FILTER (WHERE s.on_hand > 0 AND k.cost IS NULL) AS without_cost
        FROM inventory_warehouses w
        LEFT JOIN inventory_stock s ON s.warehouse = w.code
        LEFT JOIN inventory_skus k ON k.sku = s.sku
        GROUP BY w.code, w.name, w.priority ORDER BY w.priority
        """
    )
    missing = await conn.fetchval(
        "SELECT count(DISTINCT s.sku) FROM inventory_stock s LEFT JOIN inventory_skus k "
        "USING (sku) WHERE s.on_hand > 0 AND k.cost IS NULL"
    )
    return [record_to(WarehouseValueRow, r) for r in rows], int(missing)


class AvailableRow(msgspec.Struct, frozen=True, kw_only=True):
    """Available stock of a SKU over every warehouse, and its own safety buffer."""

    sku: str
    available: Decimal
    safety_buffer: Decimal | None


async def availability(conn: asyncpg.Connection, skus: Sequence[str]) -> dict[str, AvailableRow]:
    """Available stock and safety buffer of each known SKU among ``skus``."""
    rows = await conn.fetch(
        """
        SELECT q.sku, coalesce(sum(s.on_hand - s.reserved), 0) AS available, k.safety_buffer
        FROM unnest($1::text[]) AS q (sku)
        LEFT JOIN inventory_stock s ON s.sku = q.sku
        LEFT JOIN inventory_skus k ON k.sku = q.sku
        GROUP BY q.sku, k.safety_buffer
        """,
        list(skus),
    )
    return {r["sku"]: record_to(AvailableRow, r) for r in rows}


async def warehouse_names(conn: asyncpg.Connection) -> dict[str, Warehouse]:
    """Warehouses by code."""
    rows = await conn.fetch("SELECT code, name, priority FROM inventory_warehouses")
    return {r["code"]: record_to(Warehouse, r) for r in rows}
