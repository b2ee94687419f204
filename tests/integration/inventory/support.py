"""Helpers of the inventory tests: clean tables, opening stock, an event recorder, sending
commands and waiting for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from actors.inventory import domain
from actors.inventory.actor import InventoryActor
from actors.inventory.messages import (
    LowStockDigest,
    ReservationRejected,
    StockChanged,
    StockIssued,
    StockReceived,
    StockReleased,
    StockReserved,
    StockShortage,
)
from actors.inventory.service import StockWork, write_outcome
from actors.inventory.settings import InventorySettings
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.support import eventually

StartHub = Callable[..., Any]

TABLES = (
    "inventory_skus, inventory_stock, inventory_movements, inventory_reservations, "
    "inventory_reservation_requests, inventory_reservation_lines, inventory_shipments, "
    "inventory_low_stock_pending"
)

InventoryEvent = (
    StockReserved
    | StockShortage
    | StockReleased
    | StockIssued
    | StockReceived
    | StockChanged
    | LowStockDigest
    | ReservationRejected
)


async def clean(conn: asyncpg.Connection) -> None:
    """Empty the inventory's tables (the warehouses stay)."""
    await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY")
    await conn.execute("UPDATE inventory_digest_state SET due_at = NULL, last_sent_at = NULL")


async def receive(
    conn: asyncpg.Connection,
    stock: Iterable[tuple[str, str, str | Decimal]],
    *,
    settings: InventorySettings | None = None,
    publish: bool = False,
) -> None:
    """Opening stock: (sku, warehouse, quantity) receipts by ``test``, in one transaction."""
    lines = [(sku, wh, Decimal(q)) for sku, wh, q in stock]
    async with conn.transaction():
        work = await StockWork.open(
            conn, [s for s, _, _ in lines], settings or InventorySettings(), datetime.now(UTC)
        )
        await work.post(
            [
                domain.Movement(
                    kind="receipt", sku=s, warehouse=w, quantity=q, reason="test", author="test"
                )
                for s, w, q in lines
            ]
        )
        outcome = await work.finish()
        if publish:
            await write_outcome(conn, outcome, actor="test")


Figure = Decimal | int  # compared with whole numbers written as ints in the tests


async def stock(conn: asyncpg.Connection, sku: str) -> dict[str, tuple[Figure, Figure]]:
    """{warehouse: (on hand, reserved)} of a SKU."""
    rows = await conn.fetch(
        "SELECT warehouse, on_hand, reserved FROM inventory_stock WHERE sku = $1", sku
    )
    return {r["warehouse"]: (r["on_hand"], r["reserved"]) for r in rows}


async def ledger_mismatches(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Stock rows whose on hand or reserved differ from the sum of their movements."""
    rows = await conn.fetch(
        """
        SELECT s.sku, s.warehouse, s.on_hand, s.reserved, m.on_hand AS m_on_hand,
               m.reserved AS m_reserved
        FROM inventory_stock s
        FULL JOIN (
            SELECT sku, warehouse,
                   coalesce(sum(quantity) FILTER (
                       WHERE kind IN ('receipt', 'issue', 'transfer', 'adjustment')), 0) AS on_hand,
                   coalesce(sum(quantity) FILTER (
                       WHERE kind IN ('reservation', 'release', 'issue')), 0) AS reserved
            FROM inventory_movements GROUP BY sku, warehouse
        ) m USING (sku, warehouse)
        WHERE s.on_hand IS DISTINCT FROM m.on_hand OR s.reserved IS DISTINCT FROM m.reserved
        """
    )
    return [dict(r) for r in rows]


class Recorder(Actor, name="inventory-recorder"):
    """Keeps every inventory event it receives, once per message id."""

    def __init__(self) -> None:
        self.seen: set[Any] = set()
        self.events: list[Any] = []
        self.by_type: dict[type, list[Any]] = defaultdict(list)

    @handler
    async def record(self, msg: InventoryEvent, ctx: Context) -> None:
        if ctx.envelope.message_id in self.seen:
            return
        self.seen.add(ctx.envelope.message_id)
        self.events.append(msg)
        self.by_type[type(msg)].append(msg)

    def of(self, cls: type, **match: Any) -> list[Any]:
        """The events of ``cls`` whose fields equal ``match``."""
        return [e for e in self.by_type[cls] if all(getattr(e, k) == v for k, v in match.items())]


async def started(
    start_hub: StartHub, settings: InventorySettings | None = None
) -> tuple[Hub, Recorder]:
    """A hub running the inventory actor (``settings``) and a recorder of its events."""
    recorder = Recorder()
    hub, _ = await start_hub(InventoryActor(settings), recorder)
    return hub, recorder


async def send(hub: Hub, msg: Message, key: str | None = None) -> Envelope:
    """Publish ``msg`` as a new message acting for ``user:7``."""
    env = Envelope.new(msg, key=key, actor="user:7")
    await hub.bus.publish(env, encode(msg))
    return env


async def done(conn: asyncpg.Connection, env: Envelope) -> None:
    """Wait until the inventory actor has handled (committed) this message."""
    await eventually(
        lambda: conn.fetchval(
            "SELECT true FROM hub_inbox WHERE actor = 'inventory' AND message_id = $1",
            env.message_id,
        ),
        what=f"{env.type} handled",
    )
