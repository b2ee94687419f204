"""Receiving goods by command (a customer return): receipt movements into one warehouse, once
per receipt id.

The receipt id is the movements' reference, and it is what makes the command idempotent: under
the receipt's own lock, a receipt already booked with that reference is not booked again,
however the command came back (a redelivery or a new message).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from actors.inventory import documents, domain, store
from actors.inventory.messages import ReceiveStock, StockLine, StockReceived
from actors.inventory.reservations import check_id, rejected
from actors.inventory.service import Outcome, StockWork, receipt_key
from actors.inventory.settings import InventorySettings
from hub.errors import DomainError


async def receive(
    conn: asyncpg.Connection,
    msg: ReceiveStock,
    *,
    author: str,
    settings: InventorySettings,
    now: datetime,
) -> Outcome:
    """Book the goods on hand in the warehouse, unless this receipt was booked already."""
    rid, key = msg.receipt_id, receipt_key(msg.receipt_id)
    try:
        check_id(rid, "receipt")
        if not msg.reason.strip():
            raise DomainError("a receipt needs a reason")
        lines = domain.check_lines((line.sku, line.quantity) for line in msg.lines)
    except DomainError as exc:
        return rejected(rid, "receive", exc, key)
    await store.lock_receipt(conn, rid)
    if await store.receipt_booked(conn, rid):
        return Outcome(notes=[f"receipt {rid} was booked already: nothing to do"])
    try:
        await check_known(conn, msg.warehouse, list(lines))
        work = await StockWork.open(conn, lines, settings, now)  # every SKU exists: adds none
        domain.check_lines(lines.items(), work.units())
    except DomainError as exc:
        return rejected(rid, "receive", exc, key)
    movements = documents.receipt(
        msg.warehouse, lines, reason=msg.reason.strip(), author=author, reference=rid
    )
    await work.post(movements)
    out = Outcome()
    received = tuple(StockLine(sku=sku, quantity=domain.norm(q)) for sku, q in lines.items())
    out.emit(StockReceived(receipt_id=rid, warehouse=msg.warehouse, lines=received), key)
    out.extend(await work.finish())
    return out


async def check_known(conn: asyncpg.Connection, warehouse: str, skus: list[str]) -> None:
    """Refuse an unknown warehouse, or SKUs the inventory has never seen (neither from the
    catalog nor in any stock change): goods coming back were known when they went out."""
    codes = sorted(h.code for h in await store.warehouses(conn))
    if warehouse not in codes:
        raise DomainError(f"unknown warehouse {warehouse!r}: one of {', '.join(codes)}")
    unknown = sorted(set(skus) - await store.known_skus(conn, skus))
    if unknown:
        raise DomainError(f"unknown SKU: {', '.join(unknown)}")
