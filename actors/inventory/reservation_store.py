"""SQL of reservations: what each asked for, what it holds per warehouse, what it shipped.

The commands of one reservation never run concurrently (their key is the reservation), so
these rows need little locking of their own (see :func:`lock`); stock rows are locked
through ``store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from actors.inventory.domain import merge
from actors.inventory.messages import Allocation
from hub.db import record_to, xact_lock
from hub.errors import NotFound

Status = Literal["open", "released", "fulfilled"]


class HeldLine(msgspec.Struct, frozen=True, kw_only=True):
    """What a reservation holds of one SKU in one warehouse, and what it already shipped."""

    sku: str
    warehouse: str
    quantity: Decimal
    issued: Decimal


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    """A reservation with its requests and lines."""

    id: str
    status: Status
    expires_at: datetime | None
    requested: dict[str, Decimal]
    lines: list[HeldLine]

    @property
    def held(self) -> list[Allocation]:
        """What it holds now, per SKU and warehouse."""
        return [
            Allocation(sku=x.sku, warehouse=x.warehouse, quantity=x.quantity)
            for x in self.lines
            if x.quantity > 0
        ]

    @property
    def served(self) -> dict[str, Decimal]:
        """Held plus already issued, per SKU: what counts against the request."""
        return merge((x.sku, x.quantity + x.issued) for x in self.lines)

    @property
    def issued(self) -> dict[str, Decimal]:
        """Shipped so far, per SKU."""
        return merge((x.sku, x.issued) for x in self.lines)


async def lock(conn: asyncpg.Connection, reservation_id: str) -> None:
    """Hold the reservation's lock until the transaction ends.

    Its commands are keyed by the reservation, so the runtime already runs them one at a time;
    this lock keeps a command published without that key from holding stock twice.
    """
    await xact_lock(conn, f"inventory:reservation:{reservation_id}")


async def lock_all(conn: asyncpg.Connection, reservation_ids: Iterable[str]) -> None:
    """Hold several reservations' locks (a take-over: the taker's and the giver's), taken in
    id order, before any SKU lock: two commands locking the same reservations never wait for
    each other in a cycle (a quote hold's expiry takes only its own)."""
    for reservation_id in sorted(set(reservation_ids)):
        await lock(conn, reservation_id)


async def get(conn: asyncpg.Connection, reservation_id: str) -> Reservation:
    """The reservation, or :class:`NotFound`."""
    row = await conn.fetchrow(
        "SELECT id, status, expires_at FROM inventory_reservations WHERE id = $1", reservation_id
    )
    if row is None:
        raise NotFound(f"no reservation {reservation_id!r}")
    requests = await conn.fetch(
        "SELECT sku, requested FROM inventory_reservation_requests "
        "WHERE reservation_id = $1 ORDER BY sku",
        reservation_id,
    )
    lines = await conn.fetch(
        "SELECT l.sku, l.warehouse, l.quantity, l.issued FROM inventory_reservation_lines l "
        "JOIN inventory_warehouses w ON w.code = l.warehouse "
        "WHERE l.reservation_id = $1 ORDER BY l.sku, w.priority",
        reservation_id,
    )
    return Reservation(
        id=row["id"],
        status=row["status"],
        expires_at=row["expires_at"],
        requested={r["sku"]: r["requested"] for r in requests},
        lines=[record_to(HeldLine, r) for r in lines],
    )


async def save(
    conn: asyncpg.Connection,
    reservation_id: str,
    requested: Mapping[str, Decimal],
    expires_at: datetime | None,
    at: datetime,
) -> None:
    """Create or update an open reservation and what it asks for."""
    await conn.execute(
        "INSERT INTO inventory_reservations (id, expires_at, created_at, updated_at) "
        "VALUES ($1, $2, $3, $3) ON CONFLICT (id) DO UPDATE SET "
        "expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at",
        reservation_id,
        expires_at,
        at,
    )
    await conn.executemany(
        "INSERT INTO inventory_reservation_requests (reservation_id, sku, requested) "
        "VALUES ($1, $2, $3) ON CONFLICT (reservation_id, sku) DO UPDATE SET "
        "requested = EXCLUDED.requested",
        [(reservation_id, sku, q) for sku, q in requested.items()],
    )


async def change_lines(
    conn: asyncpg.Connection,
    reservation_id: str,
    allocations: Sequence[Allocation],
    *,
    held: int,
    issued: int = 0,
) -> None:
    """Change what is held by ``held`` and what is issued by ``issued`` times each quantity."""
    if not allocations:
        return
    # Insert missing lines at zero first: a CHECK is evaluated on the proposed row of an
    # INSERT ... ON CONFLICT even when it ends as an UPDATE.
    await conn.executemany(
        "INSERT INTO inventory_reservation_lines (reservation_id, sku, warehouse) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(reservation_id, a.sku, a.warehouse) for a in allocations],
    )
    await conn.executemany(
        "UPDATE inventory_reservation_lines SET quantity = quantity + $4, issued = issued + $5 "
        "WHERE reservation_id = $1 AND sku = $2 AND warehouse = $3",
        [
            (reservation_id, a.sku, a.warehouse, held * a.quantity, issued * a.quantity)
            for a in allocations
        ],
    )


async def close(
    conn: asyncpg.Connection, reservation_id: str, status: Status, reason: str, at: datetime
) -> None:
    """Close a reservation (released or fulfilled), creating it if it never existed.

    A release that arrives before its reservation leaves a closed record behind, so the late
    reservation is refused instead of holding stock nobody will release.
    """
    await conn.execute(
        "INSERT INTO inventory_reservations (id, status, closed_reason, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
        "closed_reason = EXCLUDED.closed_reason, updated_at = EXCLUDED.updated_at",
        reservation_id,
        status,
        reason,
        at,
    )


async def shipment_known(conn: asyncpg.Connection, reservation_id: str, shipment_id: str) -> bool:
    """True if this shipment was already issued against the reservation."""
    found = await conn.fetchval(
        "SELECT true FROM inventory_shipments WHERE reservation_id = $1 AND shipment_id = $2",
        reservation_id,
        shipment_id,
    )
    return found is True


async def record_shipment(
    conn: asyncpg.Connection, reservation_id: str, shipment_id: str, at: datetime
) -> bool:
    """Remember that a shipment was issued; False if it already was."""
    done = await conn.fetchval(
        "INSERT INTO inventory_shipments (reservation_id, shipment_id, issued_at) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
        reservation_id,
        shipment_id,
        at,
    )
    return done is True


def served_total(reservation: Reservation | None) -> dict[str, Decimal]:
    """What an optional reservation already covers, per SKU."""
    return reservation.served if reservation is not None else {}


def requested_total(reservation: Reservation | None) -> dict[str, Decimal]:
    """What an optional reservation asked for, per SKU."""
    return dict(reservation.requested) if reservation is not None else {}
