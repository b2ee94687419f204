"""A reservation taking over a quote's hold, over both transports: the held stock changes hands
in its warehouses, the rest is reserved by priority, the surplus released, the quote hold closed
for good (its expiry does nothing), also when the expiry races the take-over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import asyncpg

from actors.inventory.actor import InventoryActor
from actors.inventory.messages import (
    Allocation,
    ExpireReservation,
    ReleaseStock,
    ReservationRejected,
    ReserveStock,
    StockChanged,
    StockLine,
    StockReleased,
    StockReserved,
)
from actors.inventory.service import reservation_key
from hub.actor import Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message
from tests.integration.inventory.support import (
    Recorder,
    StartHub,
    done,
    ledger_mismatches,
    receive,
    send,
    started,
    stock,
)
from tests.support import eventually

HOUR = timedelta(hours=1)


def reserve(
    rid: str,
    *lines: tuple[str, str],
    take_over: str | None = None,
    expires_at: datetime | None = None,
) -> ReserveStock:
    return ReserveStock(
        reservation_id=rid,
        lines=tuple(StockLine(sku=s, quantity=D(q)) for s, q in lines),
        expires_at=expires_at,
        take_over=take_over,
    )


async def do(hub: Hub, msg: Message) -> Envelope:
    return await send(hub, msg, key=reservation_key(getattr(msg, "reservation_id", "")))


async def reservation(conn: asyncpg.Connection, rid: str) -> tuple[str, str | None] | None:
    row = await conn.fetchrow(
        "SELECT status, closed_reason FROM inventory_reservations WHERE id = $1", rid
    )
    return (row["status"], row["closed_reason"]) if row else None


async def held(conn: asyncpg.Connection, rid: str) -> dict[tuple[str, str], D]:
    rows = await conn.fetch(
        "SELECT sku, warehouse, quantity FROM inventory_reservation_lines "
        "WHERE reservation_id = $1 AND quantity > 0",
        rid,
    )
    return {(r["sku"], r["warehouse"]): r["quantity"] for r in rows}


async def stock_changed(conn: asyncpg.Connection, sku: str) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = 'inventory.StockChanged' "
        "AND envelope->>'key' = $1",
        f"stock:{sku}",
    )
    return count


async def test_take_over_moves_the_held_stock_tops_up_by_priority_and_releases_the_surplus(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(
        inv,
        [
            ("BULB", "W2", "3"),
            ("STRIP", "HQ", "4"),
            ("STRIP", "W3", "6"),
            ("DRIVER", "HQ", "5"),
            ("LAMP", "W3", "2"),
            ("CABLE", "HQ", "3"),
        ],
    )
    hub, rec = await started(start_hub)
    expires = datetime.now(UTC) + HOUR
    quote = reserve(
        "quote:1",
        ("BULB", "3"),
        ("STRIP", "10"),
        ("DRIVER", "2"),
        ("LAMP", "2"),
        expires_at=expires,
    )
    await do(hub, quote)
    await eventually(lambda: rec.of(StockReserved, reservation_id="quote:1"))
    # Stock came into HQ since: a plain reservation would now take the bulbs from there.
    await receive(inv, [("BULB", "HQ", "10"), ("LAMP", "HQ", "5")])
    lamp_changes = await stock_changed(inv, "LAMP")

    order = reserve(
        "order-1",
        ("BULB", "5"),
        ("STRIP", "7"),
        ("LAMP", "2"),
        ("CABLE", "1"),
        take_over="quote:1",
    )
    await done(inv, await do(hub, order))
    [reserved] = await eventually(lambda: rec.of(StockReserved, reservation_id="order-1"))
    assert reserved.complete is True
    assert reserved.allocations == (
        Allocation(sku="BULB", warehouse="HQ", quantity=D(2)),  # topped up by priority
        Allocation(sku="BULB", warehouse="W2", quantity=D(3)),  # taken over where it was
        Allocation(sku="CABLE", warehouse="HQ", quantity=D(1)),
        Allocation(sku="LAMP", warehouse="W3", quantity=D(2)),
        Allocation(sku="STRIP", warehouse="HQ", quantity=D(4)),
        Allocation(sku="STRIP", warehouse="W3", quantity=D(3)),
    )
    [released] = await eventually(lambda: rec.of(StockReleased, reservation_id="quote:1"))
    assert released.reason == "taken over by order-1"
    assert released.lines == (  # only what went back to available stock
        Allocation(sku="DRIVER", warehouse="HQ", quantity=D(2)),
        Allocation(sku="STRIP", warehouse="W3", quantity=D(3)),
    )
    assert await reservation(inv, "quote:1") == ("released", "taken over by order-1")
    assert await held(inv, "quote:1") == {}
    assert await stock(inv, "BULB") == {"HQ": (10, 2), "W2": (3, 3)}
    assert await stock(inv, "STRIP") == {"HQ": (4, 4), "W3": (6, 3)}
    assert await stock(inv, "DRIVER") == {"HQ": (5, 0)}
    assert await stock(inv, "LAMP") == {"HQ": (5, 0), "W3": (2, 2)}
    # LAMP changed hands exactly: its available figure never moved, so nothing was published.
    assert await stock_changed(inv, "LAMP") == lamp_changes
    assert {e.sku for e in rec.of(StockChanged)} >= {"BULB", "STRIP", "DRIVER", "CABLE"}
    ledger = await inv.fetch(
        "SELECT kind, quantity, reason, reference, author FROM inventory_movements "
        "WHERE sku = 'BULB' AND warehouse = 'W2' AND kind <> 'receipt' ORDER BY id"
    )
    assert [tuple(r) for r in ledger] == [
        ("reservation", D(3), "reserved for quote:1", "quote:1", "user:7"),
        ("release", D(-3), "handed over to order-1", "quote:1", "user:7"),
        ("reservation", D(3), "taken over from quote:1", "order-1", "user:7"),
    ]
    timer = "inventory:expire:quote:1"
    assert await inv.fetchval("SELECT count(*) FROM hub_timers WHERE name = $1", timer) == 0

    # The quote hold's expiry (had its timer fired already) changes nothing any more.
    await done(inv, await do(hub, ExpireReservation(reservation_id="quote:1", expires_at=expires)))
    await done(inv, await do(hub, order))  # nor does the take-over sent again
    assert len(rec.of(StockReleased, reservation_id="quote:1")) == 1
    assert await stock(inv, "BULB") == {"HQ": (10, 2), "W2": (3, 3)}
    assert await stock(inv, "STRIP") == {"HQ": (4, 4), "W3": (6, 3)}
    assert await held(inv, "order-1") == {
        ("BULB", "HQ"): 2,
        ("BULB", "W2"): 3,
        ("CABLE", "HQ"): 1,
        ("LAMP", "W3"): 2,
        ("STRIP", "HQ"): 4,
        ("STRIP", "W3"): 3,
    }
    assert await ledger_mismatches(inv) == []


async def test_taking_over_an_unknown_or_closed_reservation_reserves_by_priority(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "4"), ("BULB", "W2", "10")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-2", ("BULB", "3"), take_over="quote:404"))
    [first] = await eventually(lambda: rec.of(StockReserved, reservation_id="order-2"))
    assert first.allocations == (Allocation(sku="BULB", warehouse="HQ", quantity=D(3)),)
    assert await reservation(inv, "quote:404") is None  # not invented by the take-over

    await do(hub, reserve("quote:2", ("BULB", "1"), expires_at=datetime.now(UTC) + HOUR))
    await do(hub, ReleaseStock(reservation_id="quote:2", reason="quote rejected"))
    await eventually(lambda: rec.of(StockReleased, reservation_id="quote:2"))
    await do(hub, reserve("order-3", ("BULB", "2"), take_over="quote:2"))
    [second] = await eventually(lambda: rec.of(StockReserved, reservation_id="order-3"))
    assert second.allocations == (
        Allocation(sku="BULB", warehouse="HQ", quantity=D(1)),
        Allocation(sku="BULB", warehouse="W2", quantity=D(1)),
    )
    assert len(rec.of(StockReleased, reservation_id="quote:2")) == 1
    assert await reservation(inv, "quote:2") == ("released", "quote rejected")
    assert await stock(inv, "BULB") == {"HQ": (4, 4), "W2": (10, 1)}
    assert await ledger_mismatches(inv) == []


async def test_a_quote_hold_past_its_expiry_is_released_as_expired_not_taken_over(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "2"), ("BULB", "W2", "5")])
    hub, rec = await started(start_hub)
    expires = datetime.now(UTC) + timedelta(seconds=0.3)
    await do(hub, reserve("quote:3", ("BULB", "3"), expires_at=expires))
    await eventually(lambda: rec.of(StockReserved, reservation_id="quote:3"))
    # Its timer is late (taken out here); the hold is past its time when the order comes.
    await inv.execute("DELETE FROM hub_timers WHERE name = 'inventory:expire:quote:3'")
    await eventually(lambda: datetime.now(UTC) > expires, what="the quote's expiry")
    await do(hub, reserve("order-4", ("BULB", "4"), take_over="quote:3"))
    [reserved] = await eventually(lambda: rec.of(StockReserved, reservation_id="order-4"))
    assert reserved.allocations == (
        Allocation(sku="BULB", warehouse="HQ", quantity=D(2)),
        Allocation(sku="BULB", warehouse="W2", quantity=D(2)),
    )
    [released] = rec.of(StockReleased, reservation_id="quote:3")
    assert released.reason == "expired"
    assert released.lines == (
        Allocation(sku="BULB", warehouse="HQ", quantity=D(2)),
        Allocation(sku="BULB", warehouse="W2", quantity=D(1)),
    )
    assert await reservation(inv, "quote:3") == ("released", "expired")
    assert await stock(inv, "BULB") == {"HQ": (2, 2), "W2": (5, 2)}
    assert await ledger_mismatches(inv) == []


async def test_a_reservation_cannot_take_itself_over(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "4")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-5", ("BULB", "1"), take_over="order-5"))
    [refused] = await eventually(lambda: rec.of(ReservationRejected, reservation_id="order-5"))
    assert refused.reason == "reservation order-5 cannot take itself over"
    assert await stock(inv, "BULB") == {"HQ": (4, 0)}


class WatchedInventory(InventoryActor):
    """The inventory actor, counting handler failures (a deadlock, a broken CHECK)."""

    failures: list[BaseException] = []

    @handler
    async def reserve(self, msg: ReserveStock, ctx: Context) -> None:
        try:
            await super().reserve(msg, ctx)
        except Exception as exc:
            WatchedInventory.failures.append(exc)
            raise

    @handler
    async def expire(self, msg: ExpireReservation, ctx: Context) -> None:
        try:
            await super().expire(msg, ctx)
        except Exception as exc:
            WatchedInventory.failures.append(exc)
            raise


async def test_take_overs_racing_the_quote_holds_expiry_hold_each_unit_once_without_failures(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    count = 24
    skus = ("A", "B", "C")
    await receive(inv, [(s, wh, "40") for s in skus for wh in ("HQ", "W2")])
    WatchedInventory.failures = []
    recorder = Recorder()
    hub, _ = await start_hub(WatchedInventory(), recorder)
    expires = datetime.now(UTC) + HOUR
    for i in range(count):  # each quote holds two SKUs, in alternating order of lines
        lines = [(skus[i % 3], "2"), (skus[(i + 1) % 3], "1")]
        await do(hub, reserve(f"quote:{i}", *lines, expires_at=expires))
    await eventually(lambda: len(recorder.of(StockReserved)) == count, timeout=10)
    # Each quote's expiry (as its timer sends it) and its take-over, all at once.
    racing: list[Message] = []
    for i in range(count):
        expiry = ExpireReservation(reservation_id=f"quote:{i}", expires_at=expires)
        take = reserve(f"order-{i}", (skus[i % 3], "3"), take_over=f"quote:{i}")
        racing.extend([expiry, take] if i % 2 else [take, expiry])
    sent = await asyncio.gather(*(do(hub, msg) for msg in racing))
    for env in sent:
        await done(inv, env)
    await eventually(lambda: len(recorder.of(StockReserved)) >= 2 * count, timeout=10)
    await eventually(lambda: len(recorder.of(StockReleased)) >= count, timeout=10)
    for i in range(count):
        [released] = recorder.of(StockReleased, reservation_id=f"quote:{i}")
        assert released.reason in ("expired", f"taken over by order-{i}")
        [order] = recorder.of(StockReserved, reservation_id=f"order-{i}")
        assert order.complete is True
        assert sum(a.quantity for a in order.allocations) == 3
        assert await held(inv, f"quote:{i}") == {}
    rows = await inv.fetch(
        "SELECT s.sku, s.warehouse, s.reserved, coalesce(sum(l.quantity), 0) AS held "
        "FROM inventory_stock s LEFT JOIN inventory_reservation_lines l "
        "ON l.sku = s.sku AND l.warehouse = s.warehouse GROUP BY 1, 2, 3"
    )
    assert [dict(r) for r in rows if r["reserved"] != r["held"]] == []
    assert sum(r["reserved"] for r in rows) == 3 * count
    assert WatchedInventory.failures == []
    assert await inv.fetchval("SELECT count(*) FROM hub_dead_letters") == 0
    assert await inv.fetchval("SELECT count(*) FROM hub_timers") == 0  # all cancelled
    assert await ledger_mismatches(inv) == []
