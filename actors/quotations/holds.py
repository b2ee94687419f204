"""The stock held for a quote, as the inventory reports it: how much it holds (all asked for,
or part), and when it gave the stock back (its own expiry of the hold, or our release)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.inventory.messages import StockReleased, StockReserved
from actors.quotations import store
from actors.quotations.model import ACTIVE_HOLDS, HeldLine
from actors.quotations.service import Outcome, by_request_id


async def hold_reserved(conn: asyncpg.Connection, msg: StockReserved, *, now: datetime) -> Outcome:
    """The inventory holds this much for the quote (all asked for, or part of it)."""
    quote = await by_request_id(conn, msg.reservation_id)
    if quote is None or quote.hold_status not in ACTIVE_HOLDS:
        return Outcome()  # released or handed to an order meanwhile
    held: dict[str, Decimal] = {}
    for a in msg.allocations:
        held[a.sku] = held.get(a.sku, Decimal(0)) + a.quantity
    after = msgspec.structs.replace(
        quote,
        hold_status="held" if msg.complete else "partial",
        held=[HeldLine(sku=sku, quantity=q) for sku, q in sorted(held.items())],
    )
    await store.save(conn, quote, after, now)
    return Outcome()


async def hold_released(conn: asyncpg.Connection, msg: StockReleased, *, now: datetime) -> Outcome:
    """The inventory gave the quote's stock back (its own expiry, or our release)."""
    quote = await by_request_id(conn, msg.reservation_id)
    if quote is not None and quote.hold_status in ACTIVE_HOLDS:
        after = msgspec.structs.replace(quote, hold_status="released", held=[])
        await store.save(conn, quote, after, now)
    return Outcome()
