"""Goods received by command (a customer return), over both transports: booked once per
receipt id however often it is sent, refused with nothing changed when invalid."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import asyncpg

from actors.inventory.messages import (
    ReceiveStock,
    ReservationRejected,
    StockChanged,
    StockLine,
    StockReceived,
)
from actors.inventory.service import receipt_key
from hub.bootstrap import Hub
from hub.messages import Envelope
from tests.integration.inventory.support import (
    StartHub,
    done,
    ledger_mismatches,
    receive,
    send,
    started,
    stock,
)
from tests.support import eventually


def returned(
    rid: str, *lines: tuple[str, str], warehouse: str = "W2", reason: str = "customer return"
) -> ReceiveStock:
    return ReceiveStock(
        receipt_id=rid,
        warehouse=warehouse,
        lines=tuple(StockLine(sku=s, quantity=D(q)) for s, q in lines),
        reason=reason,
    )


async def do(hub: Hub, msg: ReceiveStock, key: str | None = None) -> Envelope:
    return await send(hub, msg, key=key or receipt_key(msg.receipt_id))


async def receipts(conn: asyncpg.Connection, reference: str) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        "SELECT kind, sku, warehouse, quantity, reason, author FROM inventory_movements "
        "WHERE reference = $1 ORDER BY sku",
        reference,
    )
    return [tuple(r) for r in rows]


async def outbox_count(conn: asyncpg.Connection, type_: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM hub_outbox WHERE type = $1", type_)
    return count


async def test_a_return_is_booked_once_even_when_sent_again_as_new_messages(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "4"), ("STRIP", "HQ", "10")])
    hub, rec = await started(start_hub)
    msg = returned("return:1", ("BULB", "2"), ("STRIP", "1.5"), ("BULB", "1"))
    # Sent six times at once (once under its key, five times under others), then once more.
    sent = await asyncio.gather(
        do(hub, msg), *(do(hub, msg, key=f"elsewhere-{i}") for i in range(5))
    )
    for env in sent:
        await done(inv, env)
    await done(inv, await do(hub, msg))
    [received] = await eventually(lambda: rec.of(StockReceived))
    assert received == StockReceived(
        receipt_id="return:1",
        warehouse="W2",
        lines=(StockLine(sku="BULB", quantity=D(3)), StockLine(sku="STRIP", quantity=D("1.5"))),
    )
    await eventually(lambda: {e.sku for e in rec.of(StockChanged)} == {"BULB", "STRIP"})
    assert sorted((e.sku, e.available) for e in rec.of(StockChanged)) == [
        ("BULB", D(7)),
        ("STRIP", D("11.5")),
    ]
    assert await stock(inv, "BULB") == {"HQ": (4, 0), "W2": (3, 0)}
    assert await stock(inv, "STRIP") == {"HQ": (10, 0), "W2": (D("1.5"), 0)}
    assert await receipts(inv, "return:1") == [
        ("receipt", "BULB", "W2", D(3), "customer return", "user:7"),
        ("receipt", "STRIP", "W2", D("1.5"), "customer return", "user:7"),
    ]
    assert await outbox_count(inv, "inventory.StockReceived") == 1
    assert await outbox_count(inv, "inventory.StockChanged") == 2
    assert await ledger_mismatches(inv) == []


async def test_an_invalid_return_is_refused_and_changes_nothing(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "4"), ("STRIP", "HQ", "10")])
    await inv.execute("UPDATE inventory_skus SET unit = 'piece' WHERE sku = 'BULB'")
    hub, rec = await started(start_hub)
    bad = [
        returned("return:2", ("BULB", "1"), warehouse="W9"),
        returned("return:3", ("BULB", "1"), ("GHOST", "2"), ("PHANTOM", "1")),
        returned("return:4", ("STRIP", "0")),
        returned("return:5", ("STRIP", "1.0005")),
        returned("return:6", ("BULB", "1.5")),
        returned("return:7"),
        returned("return:8", ("STRIP", "1"), reason="  "),
        returned("", ("STRIP", "1")),
    ]
    for msg in bad:
        await do(hub, msg)
    await eventually(lambda: len(rec.of(ReservationRejected)) == len(bad))
    reasons = {e.reservation_id: e.reason for e in rec.of(ReservationRejected)}
    assert reasons == {
        "return:2": "unknown warehouse 'W9': one of HQ, W2, W3",
        "return:3": "unknown SKU: GHOST, PHANTOM",
        "return:4": "the quantity of STRIP must be greater than zero, got 0",
        "return:5": "invalid quantity of STRIP 1.0005: at most three decimals",
        "return:6": "BULB is sold by the piece: 1.5 is not whole",
        "return:7": "there are no lines",
        "return:8": "a receipt needs a reason",
        "": "invalid receipt id ''",
    }
    assert {e.command for e in rec.of(ReservationRejected)} == {"receive"}
    assert not rec.of(StockReceived)
    assert await inv.fetchval("SELECT count(*) FROM inventory_movements") == 2  # the opening
    assert await stock(inv, "BULB") == {"HQ": (4, 0)}
    assert await stock(inv, "STRIP") == {"HQ": (10, 0)}
    skus = await inv.fetch("SELECT sku FROM inventory_skus ORDER BY sku")
    assert [r["sku"] for r in skus] == ["BULB", "STRIP"]  # no row made for GHOST or PHANTOM

    # A refused receipt id is not used up: sent right, it is booked.
    await do(hub, returned("return:6", ("BULB", "1")))
    [received] = await eventually(lambda: rec.of(StockReceived, receipt_id="return:6"))
    assert received.lines == (StockLine(sku="BULB", quantity=D(1)),)
    assert await stock(inv, "BULB") == {"HQ": (4, 0), "W2": (1, 0)}
    assert await ledger_mismatches(inv) == []
