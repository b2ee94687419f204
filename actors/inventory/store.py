"""SQL of the inventory's writes: the per-SKU locks, stock levels, the ledger, per-SKU state,
catalog facts and the low-stock digest. Reservations are in ``reservation_store.py``, the
API's reads in ``queries.py``.

Locking protocol (what keeps stock from being oversold, also across hub processes): every
transaction that changes stock, reservations or settings of some SKUs first locks their
``inventory_skus`` rows, in SKU order (:func:`lock_skus`), then their stock rows
(:func:`levels`); so changes of one SKU run one after the other, each reads what the previous
one committed, and no two transactions wait for each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.catalog.messages import ProductSnapshot
from actors.inventory.domain import ZERO, Level, Movement, effect
from hub.db import record_to, xact_lock


class Warehouse(msgspec.Struct, frozen=True, kw_only=True):
    """A warehouse and its allocation priority (1 first)."""

    code: str
    name: str
    priority: int


class SkuState(msgspec.Struct, kw_only=True):
    """What the inventory keeps per SKU besides stock."""

    sku: str
    reorder_point: Decimal | None = None
    safety_buffer: Decimal | None = None
    unit: str | None = None
    cost: Decimal | None = None
    available: Decimal = ZERO
    published: Decimal = ZERO
    version: int = 0
    low: bool = False


class MovementRow(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded movement."""

    id: int
    at: datetime
    kind: str
    sku: str
    warehouse: str
    quantity: Decimal
    reason: str
    author: str
    reference: str | None


async def warehouses(conn: asyncpg.Connection) -> list[Warehouse]:
    """Every warehouse, by priority."""
    rows = await conn.fetch("SELECT code, name, priority FROM inventory_warehouses ORDER BY 3")
    return [record_to(Warehouse, r) for r in rows]


async def lock_skus(conn: asyncpg.Connection, skus: Sequence[str]) -> dict[str, SkuState]:
    """Create the rows of SKUs seen for the first time and lock them all, in SKU order."""
    await conn.execute(
        "INSERT INTO inventory_skus (sku) SELECT s FROM unnest($1::text[]) AS s ORDER BY s "
        "ON CONFLICT (sku) DO NOTHING",
        list(skus),
    )
    rows = await conn.fetch(
        "SELECT sku, reorder_point, safety_buffer, unit, cost, available, published, version, low "
        "FROM inventory_skus WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE",
        list(skus),
    )
    return {r["sku"]: record_to(SkuState, r) for r in rows}


async def levels(
    conn: asyncpg.Connection, skus: Sequence[str], houses: Sequence[Warehouse]
) -> dict[tuple[str, str], Level]:
    """Stock of ``skus`` in every warehouse (zero where there is no row), rows locked."""
    rows = await conn.fetch(
        "SELECT s.sku, s.warehouse, s.on_hand, s.reserved FROM inventory_stock s "
        "JOIN inventory_warehouses w ON w.code = s.warehouse "
        "WHERE s.sku = ANY($1::text[]) ORDER BY s.sku, w.priority FOR UPDATE OF s",
        list(skus),
    )
    found = {(r["sku"], r["warehouse"]): r for r in rows}
    out: dict[tuple[str, str], Level] = {}
    for sku in sorted(skus):
        for house in houses:
            row = found.get((sku, house.code))
            out[(sku, house.code)] = Level(
                sku=sku,
                warehouse=house.code,
                priority=house.priority,
                on_hand=row["on_hand"] if row else ZERO,
                reserved=row["reserved"] if row else ZERO,
            )
    return out


async def post(
    conn: asyncpg.Connection, movements: Sequence[Movement], at: datetime
) -> list[MovementRow]:
    """Record ``movements`` and apply them to the stock rows as increments.

    Increments (never "set to what I computed") mean that even a broken locking protocol
    could not overwrite another transaction's change; the CHECK constraint then refuses any
    row that would be oversold.
    """
    if not movements:
        return []
    deltas: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for m in movements:
        d_on_hand, d_reserved = effect(m)
        old = deltas.get((m.sku, m.warehouse), (ZERO, ZERO))
        deltas[(m.sku, m.warehouse)] = (old[0] + d_on_hand, old[1] + d_reserved)
    keys = sorted(deltas)
    # Rows first, at zero, then increments: a CHECK is evaluated on the proposed row of an
    # INSERT ... ON CONFLICT even when it ends as an UPDATE.
    await conn.execute(
        "INSERT INTO inventory_stock (sku, warehouse) "
        "SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    await conn.execute(
        "UPDATE inventory_stock s SET on_hand = s.on_hand + d.on_hand, "
        "reserved = s.reserved + d.reserved, updated_at = $5 "
        "FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[]) "
        "AS d (sku, warehouse, on_hand, reserved) "
        "WHERE s.sku = d.sku AND s.warehouse = d.warehouse",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [deltas[k][0] for k in keys],
        [deltas[k][1] for k in keys],
        at,
    )
    rows = await conn.fetch(
        "INSERT INTO inventory_movements (at, kind, sku, warehouse, quantity, reason, author, "
        "reference) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], "
        "$5::numeric[], $6::text[], $7::text[], $8::text[]) "
        "RETURNING id, at, kind, sku, warehouse, quantity, reason, author, reference",
        at,
        [m.kind for m in movements],
        [m.sku for m in movements],
        [m.warehouse for m in movements],
        [m.quantity for m in movements],
        [m.reason for m in movements],
        [m.author for m in movements],
        [m.reference for m in movements],
    )
    return [record_to(MovementRow, r) for r in rows]


async def known_skus(conn: asyncpg.Connection, skus: Sequence[str]) -> set[str]:
    """Those of ``skus`` the inventory has a row for (from the catalog or a stock change)."""
    rows = await conn.fetch("SELECT sku FROM inventory_skus WHERE sku = ANY($1::text[])", skus)
    return {r["sku"] for r in rows}


async def lock_receipt(conn: asyncpg.Connection, receipt_id: str) -> None:
    """Hold a receipt's lock until the transaction ends (taken before any SKU lock), so the
    same receipt sent twice at once is booked once."""
    await xact_lock(conn, f"inventory:receipt:{receipt_id}")


async def receipt_booked(conn: asyncpg.Connection, receipt_id: str) -> bool:
    """True if receipt movements with this reference exist."""
    found = await conn.fetchval(
        "SELECT true FROM inventory_movements WHERE reference = $1 AND kind = 'receipt' LIMIT 1",
        receipt_id,
    )
    return found is True


async def save_state(conn: asyncpg.Connection, state: SkuState, at: datetime) -> None:
    """Store a SKU's published figures, version and low flag."""
    await conn.execute(
        "UPDATE inventory_skus SET available = $2, published = $3, version = $4, low = $5, "
        "updated_at = $6 WHERE sku = $1",
        state.sku,
        state.available,
        state.published,
        state.version,
        state.low,
        at,
    )


async def save_settings(
    conn: asyncpg.Connection,
    sku: str,
    reorder_point: Decimal | None,
    safety_buffer: Decimal | None,
    at: datetime,
) -> None:
    """Set a SKU's reorder point and safety buffer (None: the defaults)."""
    await conn.execute(
        "UPDATE inventory_skus SET reorder_point = $2, safety_buffer = $3, updated_at = $4 "
        "WHERE sku = $1",
        sku,
        reorder_point,
        safety_buffer,
        at,
    )


async def apply_catalog(conn: asyncpg.Connection, products: Iterable[ProductSnapshot]) -> int:
    """Keep each product's unit and cost, unless a newer version is already known."""
    newest: dict[str, ProductSnapshot] = {}
    for p in products:
        if p.sku not in newest or newest[p.sku].version < p.version:
            newest[p.sku] = p
    if not newest:
        return 0
    ordered = [newest[sku] for sku in sorted(newest)]
    result = await conn.fetch(
        "INSERT INTO inventory_skus AS k (sku, unit, cost, catalog_version) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::bigint[]) "
        "ORDER BY 1 "
        "ON CONFLICT (sku) DO UPDATE SET unit = EXCLUDED.unit, cost = EXCLUDED.cost, "
        "catalog_version = EXCLUDED.catalog_version, updated_at = now() "
        "WHERE k.catalog_version IS NULL OR k.catalog_version < EXCLUDED.catalog_version "
        "RETURNING sku",
        [p.sku for p in ordered],
        [p.unit for p in ordered],
        [p.cost for p in ordered],
        [p.version for p in ordered],
    )
    return len(result)


# --- low-stock digest -------------------------------------------------------------------------


async def note_low(conn: asyncpg.Connection, skus: Sequence[str], at: datetime) -> None:
    """Remember SKUs that fell below their reorder point, for the next digest."""
    await conn.execute(
        "INSERT INTO inventory_low_stock_pending (sku, noted_at) "
        "SELECT s, $2 FROM unnest($1::text[]) AS s ORDER BY s ON CONFLICT (sku) DO NOTHING",
        sorted(skus),
        at,
    )


async def arm_digest(conn: asyncpg.Connection, due_at: datetime, stale_before: datetime) -> bool:
    """Set the next digest's time unless one is armed already; True if this call armed it.

    An armed time older than ``stale_before`` counts as lost and is armed again.
    """
    armed = await conn.fetchval(
        "UPDATE inventory_digest_state SET due_at = $1 "
        "WHERE id = 1 AND (due_at IS NULL OR due_at < $2) RETURNING true",
        due_at,
        stale_before,
    )
    return armed is True


class PendingLow(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU noted for the digest, with its figures now."""

    sku: str
    available: Decimal
    reorder_point: Decimal | None


async def take_digest(conn: asyncpg.Connection, at: datetime) -> list[PendingLow]:
    """Empty the pending list and disarm the digest timer; the SKUs noted, by SKU."""
    await conn.execute(
        "UPDATE inventory_digest_state SET due_at = NULL, last_sent_at = $1 WHERE id = 1", at
    )
    rows = await conn.fetch(
        "WITH taken AS (DELETE FROM inventory_low_stock_pending RETURNING sku) "
        "SELECT k.sku, k.available, k.reorder_point FROM taken "
        "JOIN inventory_skus k USING (sku) ORDER BY k.sku"
    )
    return [record_to(PendingLow, r) for r in rows]
