"""The inventory actor over both transports: reserve, release, issue, expiry, idempotency,
StockChanged only on change, low-stock digests, the catalog's costs and units."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import asyncpg
import msgspec

from actors.catalog.messages import Attributes, ProductsChanged, ProductSnapshot
from actors.inventory.messages import (
    Allocation,
    ExpireReservation,
    IssueLine,
    IssueStock,
    LowStockDigest,
    LowStockItem,
    ReleaseStock,
    ReservationRejected,
    ReserveStock,
    Shortage,
    StockChanged,
    StockIssued,
    StockLine,
    StockReleased,
    StockReserved,
    StockShortage,
)
from actors.inventory.service import StockWork, reservation_key
from actors.inventory.settings import InventorySettings
from hub.bootstrap import Hub
from hub.messages import Envelope, Message
from tests.integration.inventory.support import (
    done,
    ledger_mismatches,
    receive,
    send,
    started,
    stock,
)
from tests.support import eventually

StartHub = Callable[..., Any]
STOCK_CHANGED = "inventory.StockChanged"


def reserve(rid: str, *lines: tuple[str, str], expires_at: datetime | None = None) -> ReserveStock:
    return ReserveStock(
        reservation_id=rid,
        lines=tuple(StockLine(sku=s, quantity=D(q)) for s, q in lines),
        expires_at=expires_at,
    )


async def do(hub: Hub, msg: Message) -> Envelope:
    rid = getattr(msg, "reservation_id", "")
    return await send(hub, msg, key=reservation_key(rid))


async def emitted(conn: asyncpg.Connection, type_: str, rid: str) -> int:
    """How many events of ``type_`` the actor wrote for a reservation."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = $1 AND envelope->>'key' = $2",
        type_,
        reservation_key(rid),
    )
    return count


async def test_reservation_splits_a_line_by_warehouse_priority(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("STRIP-1", "W3", "10"), ("STRIP-1", "HQ", "3"), ("STRIP-1", "W2", "2.5")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-1", ("STRIP-1", "7.25")))
    [event] = await eventually(lambda: rec.of(StockReserved, reservation_id="order-1"))
    assert event.complete is True
    assert event.allocations == (
        Allocation(sku="STRIP-1", warehouse="HQ", quantity=D(3)),
        Allocation(sku="STRIP-1", warehouse="W2", quantity=D("2.5")),
        Allocation(sku="STRIP-1", warehouse="W3", quantity=D("1.75")),
    )
    assert await stock(inv, "STRIP-1") == {
        "HQ": (3, 3),
        "W2": (D("2.5"), D("2.5")),
        "W3": (10, D("1.75")),
    }
    assert not rec.of(StockShortage)
    assert await ledger_mismatches(inv) == []
    author = await inv.fetchval(
        "SELECT DISTINCT author FROM inventory_movements WHERE kind = 'reservation'"
    )
    assert author == "user:7"


async def test_what_cannot_be_held_is_reported_as_a_shortage(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "5"), ("DRIVER", "W2", "1")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-2", ("BULB", "20"), ("DRIVER", "1"), ("GHOST", "2")))
    [short] = await eventually(lambda: rec.of(StockShortage, reservation_id="order-2"))
    assert short.shortages == (
        Shortage(sku="BULB", requested=D(20), reserved=D(5)),
        Shortage(sku="GHOST", requested=D(2), reserved=D(0)),
    )
    [held] = rec.of(StockReserved, reservation_id="order-2")
    assert held.complete is False
    assert held.allocations == (
        Allocation(sku="BULB", warehouse="HQ", quantity=D(5)),
        Allocation(sku="DRIVER", warehouse="W2", quantity=D(1)),
    )
    assert await stock(inv, "BULB") == {"HQ": (5, 5)}


async def test_reserving_again_holds_nothing_twice_and_only_tops_up_a_shortage(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("PROFILE", "HQ", "4")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-3", ("PROFILE", "3")))
    await eventually(lambda: rec.of(StockReserved, reservation_id="order-3"))
    again = await do(hub, reserve("order-3", ("PROFILE", "3")))  # a new message, same id
    await do(hub, reserve("order-4", ("PROFILE", "3")))
    await eventually(lambda: rec.of(StockShortage, reservation_id="order-4"))
    await done(inv, again)
    assert await emitted(inv, "inventory.StockReserved", "order-3") == 1
    assert await stock(inv, "PROFILE") == {"HQ": (4, 4)}

    await receive(inv, [("PROFILE", "W2", "10")])
    await do(hub, reserve("order-4", ("PROFILE", "3")))
    await eventually(lambda: rec.of(StockReserved, reservation_id="order-4", complete=True))
    [_, topped] = rec.of(StockReserved, reservation_id="order-4")
    assert topped.allocations == (
        Allocation(sku="PROFILE", warehouse="HQ", quantity=D(1)),
        Allocation(sku="PROFILE", warehouse="W2", quantity=D(2)),
    )
    assert await stock(inv, "PROFILE") == {"HQ": (4, 4), "W2": (10, 2)}
    assert await ledger_mismatches(inv) == []


async def test_release_gives_the_stock_back_once(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("RGB", "HQ", "2"), ("RGB", "W3", "5")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-5", ("RGB", "4")))
    await eventually(lambda: rec.of(StockReserved, reservation_id="order-5"))
    for _ in range(2):
        await do(hub, ReleaseStock(reservation_id="order-5", reason="order cancelled"))
    await do(hub, reserve("order-5", ("RGB", "1")))  # after its release: refused
    [refused] = await eventually(lambda: rec.of(ReservationRejected, reservation_id="order-5"))
    assert refused.reason == "reservation order-5 is already released"
    [released] = rec.of(StockReleased, reservation_id="order-5")
    assert released.reason == "order cancelled"
    assert sorted((a.warehouse, a.quantity) for a in released.lines) == [("HQ", 2), ("W3", 2)]
    assert await stock(inv, "RGB") == {"HQ": (2, 0), "W3": (5, 0)}
    assert await ledger_mismatches(inv) == []


async def test_a_release_before_its_reservation_keeps_the_late_reservation_out(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("RGB", "HQ", "2")])
    hub, rec = await started(start_hub)
    await do(hub, ReleaseStock(reservation_id="order-6", reason="cancelled"))
    await eventually(lambda: rec.of(StockReleased, reservation_id="order-6"))
    await do(hub, reserve("order-6", ("RGB", "1")))
    await eventually(lambda: rec.of(ReservationRejected, reservation_id="order-6"))
    assert await stock(inv, "RGB") == {"HQ": (2, 0)}


async def test_issue_ships_held_stock_partially_then_fully_once_per_shipment(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("STRIP-2", "HQ", "5"), ("STRIP-2", "W2", "5"), ("BULB", "W2", "3")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-7", ("STRIP-2", "8"), ("BULB", "2")))
    await eventually(lambda: rec.of(StockReserved, reservation_id="order-7"))
    first = IssueStock(
        reservation_id="order-7",
        shipment_id="S1",
        lines=(IssueLine(sku="STRIP-2", quantity=D("6.5")),),
    )
    await do(hub, first)
    await do(hub, first)  # the same shipment again
    await do(hub, IssueStock(reservation_id="order-7", shipment_id="S2"))  # the rest
    await eventually(lambda: rec.of(StockIssued, shipment_id="S2"))
    [s1] = rec.of(StockIssued, shipment_id="S1")
    assert s1.fulfilled is False
    assert s1.lines == (
        Allocation(sku="STRIP-2", warehouse="HQ", quantity=D(5)),
        Allocation(sku="STRIP-2", warehouse="W2", quantity=D("1.5")),
    )
    [s2] = rec.of(StockIssued, shipment_id="S2")
    assert s2.fulfilled is True
    assert sorted((a.sku, a.quantity) for a in s2.lines) == [("BULB", 2), ("STRIP-2", D("1.5"))]
    assert await stock(inv, "STRIP-2") == {"HQ": (0, 0), "W2": (2, 0)}
    assert await stock(inv, "BULB") == {"W2": (1, 0)}
    status = await inv.fetchval("SELECT status FROM inventory_reservations WHERE id = 'order-7'")
    assert status == "fulfilled"
    assert await ledger_mismatches(inv) == []


async def test_issuing_more_than_is_held_is_refused(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "3")])
    hub, rec = await started(start_hub)
    await do(hub, reserve("order-8", ("BULB", "2")))
    await do(
        hub,
        IssueStock(
            reservation_id="order-8",
            shipment_id="S1",
            lines=(IssueLine(sku="BULB", quantity=D(3)),),
        ),
    )
    [refused] = await eventually(lambda: rec.of(ReservationRejected, reservation_id="order-8"))
    assert (refused.command, refused.shipment_id) == ("issue", "S1")
    assert "cannot issue 3 of BULB" in refused.reason
    assert await stock(inv, "BULB") == {"HQ": (3, 2)}


async def test_a_quote_hold_is_released_by_its_timer(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "3")])
    hub, rec = await started(start_hub)
    expires = datetime.now(UTC) + timedelta(seconds=0.5)
    await do(hub, reserve("quote:17", ("BULB", "2"), expires_at=expires))
    await eventually(lambda: rec.of(StockReserved, reservation_id="quote:17"))
    assert await stock(inv, "BULB") == {"HQ": (3, 2)}
    [released] = await eventually(lambda: rec.of(StockReleased, reservation_id="quote:17"))
    assert released.reason == "expired"
    assert await stock(inv, "BULB") == {"HQ": (3, 0)}
    author = await inv.fetchval("SELECT author FROM inventory_movements WHERE kind = 'release'")
    assert author == "system"


async def test_releasing_a_quote_hold_cancels_its_timer_and_a_stale_timer_does_nothing(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "3")])
    hub, rec = await started(start_hub)
    expires = datetime.now(UTC) + timedelta(hours=1)
    await do(hub, reserve("quote:18", ("BULB", "2"), expires_at=expires))
    await eventually(lambda: rec.of(StockReserved, reservation_id="quote:18"))
    timer = "inventory:expire:quote:18"
    assert await inv.fetchval("SELECT due_at FROM hub_timers WHERE name = $1", timer) == expires
    await do(hub, ReleaseStock(reservation_id="quote:18", reason="quote rejected"))
    await eventually(lambda: rec.of(StockReleased, reservation_id="quote:18"))
    assert await inv.fetchval("SELECT count(*) FROM hub_timers WHERE name = $1", timer) == 0
    await do(hub, reserve("quote:19", ("BULB", "1"), expires_at=expires))
    await do(hub, ExpireReservation(reservation_id="quote:19", expires_at=expires - timedelta(1)))
    await do(hub, ReleaseStock(reservation_id="quote:19", reason="marker"))
    [released] = await eventually(lambda: rec.of(StockReleased, reservation_id="quote:19"))
    assert released.reason == "marker"  # the stale expiry did not release it first


async def test_stock_changed_is_published_only_when_a_figure_changes(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    settings = InventorySettings(default_safety_buffer=D(2))
    await receive(inv, [("BULB", "HQ", "10")], settings=settings)  # figures stored, not sent
    hub, rec = await started(start_hub, settings)
    steps = [
        reserve("order-9", ("BULB", "3")),
        reserve("order-9", ("BULB", "3")),  # nothing new: no change either
        reserve("order-10", ("GHOST", "3")),  # nothing held: no change
        reserve("order-11", ("BULB", "7.5")),  # 7 left: published goes 5 -> 0
        ReleaseStock(reservation_id="order-10", reason="cancelled"),  # it held nothing
    ]
    for step in steps:
        await done(inv, await do(hub, step))
    await eventually(lambda: len(rec.of(StockChanged)) >= 2)
    assert await inv.fetchval("SELECT count(*) FROM hub_outbox WHERE type = $1", STOCK_CHANGED) == 2
    assert [(e.available, e.published, e.version) for e in rec.of(StockChanged)] == [
        (D(7), D(5), 2),
        (D(0), D(0), 3),
    ]
    assert all(e.sku == "BULB" for e in rec.of(StockChanged))


async def test_low_stock_alerts_come_in_one_digest_per_interval(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    settings = InventorySettings(digest_interval=0.8, default_reorder_point=D(5))
    await receive(inv, [("A", "HQ", "10"), ("B", "HQ", "10"), ("C", "HQ", "10"), ("D", "HQ", "3")])
    async with inv.transaction():  # C alerts below 8, not the default 5
        work = await StockWork.open(inv, ["C"], settings, datetime.now(UTC))
        await work.set_settings("C", D(8), None)
    hub, rec = await started(start_hub, settings)
    started_at = datetime.now(UTC)
    await do(hub, reserve("order-12", ("A", "6")))  # A: 4, below 5
    await do(hub, reserve("order-13", ("B", "5")))  # B: 5, not below
    await do(hub, reserve("order-14", ("C", "3")))  # C: 7, below 8
    await do(hub, reserve("order-15", ("A", "1")))  # A again: still low, not noted twice
    [digest] = await eventually(lambda: rec.of(LowStockDigest), timeout=10)
    assert datetime.now(UTC) - started_at >= timedelta(seconds=0.8)
    assert digest.items == (
        LowStockItem(sku="A", available=D(3), reorder_point=D(5)),
        LowStockItem(sku="C", available=D(7), reorder_point=D(8)),
    )
    await do(hub, reserve("order-16", ("B", "1")))  # B falls low after the first digest
    await do(hub, ReleaseStock(reservation_id="order-14", reason="cancelled"))  # C recovers
    await eventually(lambda: len(rec.of(LowStockDigest)) == 2, timeout=10)
    assert rec.of(LowStockDigest)[1].items == (
        LowStockItem(sku="B", available=D(4), reorder_point=D(5)),
    )


async def test_invalid_reservations_are_refused_without_effect(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "10"), ("STRIP", "HQ", "10")])
    hub, rec = await started(start_hub)
    snapshot = ProductSnapshot(
        sku="BULB",
        version=3,
        name="Bec LED E27 9W",
        ean=None,
        category="becuri",
        unit="piece",
        cost=D("4.20"),
        margin=D("0.4"),
        status="active",
        attributes=Attributes(),
    )
    await send(hub, ProductsChanged(products=(snapshot,)))
    await eventually(lambda: inv.fetchval("SELECT unit FROM inventory_skus WHERE sku = 'BULB'"))
    await do(hub, reserve("bad-1", ("BULB", "1.5")))
    await do(hub, reserve("bad-2", ("STRIP", "0.0005")))
    await do(hub, reserve("bad-3", ("STRIP", "0")))
    await do(hub, reserve("bad-4"))
    await do(hub, reserve("ok-1", ("STRIP", "1.5")))  # metres of an unknown unit: fine
    await eventually(lambda: rec.of(StockReserved, reservation_id="ok-1"))
    await eventually(lambda: len(rec.of(ReservationRejected)) == 4)
    reasons = {e.reservation_id: e.reason for e in rec.of(ReservationRejected)}
    assert reasons == {
        "bad-1": "BULB is sold by the piece: 1.5 is not whole",
        "bad-2": "invalid quantity of STRIP 0.0005: at most three decimals",
        "bad-3": "the quantity of STRIP must be greater than zero, got 0",
        "bad-4": "there are no lines",
    }
    assert await stock(inv, "BULB") == {"HQ": (10, 0)}
    assert await stock(inv, "STRIP") == {"HQ": (10, D("1.5"))}
    cost = await inv.fetchrow(
        "SELECT unit, cost, catalog_version FROM inventory_skus WHERE sku = 'BULB'"
    )
    assert tuple(cost) == ("piece", D("4.20"), 3)
    older = msgspec_replace(snapshot, version=2, cost=D("9"))
    await send(hub, ProductsChanged(products=(older,)))
    await send(hub, ProductsChanged(products=(msgspec_replace(snapshot, sku="X", version=1),)))
    await eventually(lambda: inv.fetchval("SELECT count(*) FROM inventory_skus WHERE sku = 'X'"))
    assert await inv.fetchval("SELECT cost FROM inventory_skus WHERE sku = 'BULB'") == D("4.20")


def msgspec_replace(obj: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(obj, **changes)


async def test_the_same_reservation_sent_at_once_under_other_keys_holds_stock_once(
    start_hub: StartHub, inv: asyncpg.Connection
) -> None:
    await receive(inv, [("BULB", "HQ", "100")])
    hub, _ = await started(start_hub)
    msg = reserve("order-20", ("BULB", "3"))
    sent = [await send(hub, msg, key=f"elsewhere-{i}") for i in range(8)]  # not its key
    for env in sent:
        await done(inv, env)
    assert await stock(inv, "BULB") == {"HQ": (100, 3)}
    assert await emitted_any(inv, "inventory.StockReserved") == 1


async def emitted_any(conn: asyncpg.Connection, type_: str) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM hub_outbox WHERE type = $1", type_)
    return count
