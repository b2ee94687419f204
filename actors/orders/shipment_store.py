"""SQL of an order's shipments and returns. Callers hold the order's row lock (``store.lock``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from actors.orders.messages import ShipLine, ShippedLine
from hub.db import record_to


class Shipment(msgspec.Struct, kw_only=True):
    """A shipment: asked for (``requested``), then ``sent`` as issued, or ``refused``."""

    id: str
    order_id: str
    status: Literal["requested", "sent", "refused"]
    requested: list[ShipLine]
    everything: bool
    sent: list[ShippedLine] | None
    tracking: str | None
    refusal: str | None
    created_by: str
    created_at: datetime
    sent_at: datetime | None


class ReturnLine(msgspec.Struct, frozen=True, kw_only=True):
    """A quantity of one SKU coming back."""

    sku: str
    quantity: Decimal


class Return(msgspec.Struct, kw_only=True):
    """A customer's return: asked for, then received into a warehouse."""

    id: str
    order_id: str
    status: Literal["requested", "received"]
    lines: list[ReturnLine]
    reason: str
    warehouse: str | None
    requested_by: str
    requested_at: datetime
    received_by: str | None
    received_at: datetime | None


_SHIPMENT = ", ".join(Shipment.__struct_fields__)
_RETURN = ", ".join(Return.__struct_fields__)


async def shipment(conn: asyncpg.Connection, shipment_id: str) -> Shipment | None:
    """The shipment with this id (of any order), or None."""
    row = await conn.fetchrow(f"SELECT {_SHIPMENT} FROM order_shipments WHERE id = $1", shipment_id)
    return record_to(Shipment, row) if row is not None else None


async def shipments(
    conn: asyncpg.Connection, order_id: str, status: str | None = None
) -> list[Shipment]:
    """The order's shipments (of one status, or all), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_SHIPMENT} FROM order_shipments WHERE order_id = $1 "
        "AND ($2::text IS NULL OR status = $2) ORDER BY created_at, id",
        order_id,
        status,
    )
    return [record_to(Shipment, r) for r in rows]


async def add_shipment(
    conn: asyncpg.Connection,
    order_id: str,
    shipment_id: str,
    requested: Sequence[ShipLine],
    *,
    everything: bool,
    tracking: str | None,
    by: str,
    at: datetime,
) -> None:
    """Record a shipment asked of the warehouses."""
    await conn.execute(
        "INSERT INTO order_shipments (id, order_id, requested, everything, tracking, created_by, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        shipment_id,
        order_id,
        list(requested),
        everything,
        tracking,
        by,
        at,
    )


async def mark_sent(
    conn: asyncpg.Connection, shipment_id: str, sent: Sequence[ShippedLine], at: datetime
) -> None:
    """The stock left: keep what was issued from where."""
    await conn.execute(
        "UPDATE order_shipments SET status = 'sent', sent = $2, sent_at = $3 WHERE id = $1",
        shipment_id,
        list(sent),
        at,
    )


async def mark_refused(conn: asyncpg.Connection, shipment_id: str, reason: str) -> None:
    """The warehouses could not issue it."""
    await conn.execute(
        "UPDATE order_shipments SET status = 'refused', refusal = $2 WHERE id = $1",
        shipment_id,
        reason,
    )


async def return_of(conn: asyncpg.Connection, return_id: str) -> Return | None:
    """The return with this id (of any order), or None."""
    row = await conn.fetchrow(f"SELECT {_RETURN} FROM order_returns WHERE id = $1", return_id)
    return record_to(Return, row) if row is not None else None


async def add_return(
    conn: asyncpg.Connection,
    order_id: str,
    return_id: str,
    lines: Sequence[ReturnLine],
    *,
    reason: str,
    by: str,
    at: datetime,
) -> None:
    """Record a return the customer asked for."""
    await conn.execute(
        "INSERT INTO order_returns (id, order_id, lines, reason, requested_by, requested_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        return_id,
        order_id,
        list(lines),
        reason,
        by,
        at,
    )


async def mark_received(
    conn: asyncpg.Connection, return_id: str, warehouse: str, by: str, at: datetime
) -> None:
    """The goods came back into ``warehouse``."""
    await conn.execute(
        "UPDATE order_returns SET status = 'received', warehouse = $2, received_by = $3, "
        "received_at = $4 WHERE id = $1",
        return_id,
        warehouse,
        by,
        at,
    )


async def add_shipped(
    conn: asyncpg.Connection, order_id: str, quantities: Iterable[tuple[str, Decimal]]
) -> None:
    """Add shipped quantities to the lines (the table refuses more than was ordered)."""
    await conn.executemany(
        "UPDATE order_lines SET shipped = shipped + $3 WHERE order_id = $1 AND sku = $2",
        [(order_id, sku, q) for sku, q in quantities],
    )


async def add_returned(
    conn: asyncpg.Connection, order_id: str, quantities: Iterable[tuple[str, Decimal]]
) -> None:
    """Add returned quantities to the lines (the table refuses more than was shipped)."""
    await conn.executemany(
        "UPDATE order_lines SET returned = returned + $3 WHERE order_id = $1 AND sku = $2",
        [(order_id, sku, q) for sku, q in quantities],
    )
