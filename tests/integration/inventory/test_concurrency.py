"""Never oversell: 200 concurrent reservations over 5 scarce SKUs (demand three times the
stock), published through RabbitMQ and consumed by two hub processes at once; then releases,
shipments and more reservations, all concurrent.

Without the per-SKU locks (or the CHECK constraint behind them) two processes would read the
same available stock and both hold it; these assertions would then see reserved above on hand,
more allocated than there is, or the ledger disagreeing with the stock rows.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D
from typing import Any

import asyncpg
import pytest

from actors.inventory.actor import InventoryActor
from actors.inventory.messages import (
    IssueStock,
    ReleaseStock,
    ReservationRejected,
    ReserveStock,
    StockIssued,
    StockLine,
    StockReleased,
    StockReserved,
    StockShortage,
)
from actors.inventory.service import reservation_key
from hub.actor import Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from hub.settings import PROJECT_ROOT
from tests.conftest import QUEUE_EXPIRES
from tests.integration.inventory.support import Recorder, ledger_mismatches, receive
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.slow]

SKUS = ("STRIP-A", "STRIP-B", "BULB-C", "DRV-D", "PROF-E")
RESERVATIONS = 200
SIZES = [D(1), D(2), D("2.5"), D(3), D("4.25"), D(5)]


class LocalInventory(InventoryActor):
    """The inventory actor of this process, counting the reservations it handled."""

    handled = 0

    @handler
    async def reserve(self, msg: ReserveStock, ctx: Context) -> None:
        await super().reserve(msg, ctx)
        LocalInventory.handled += 1


def orders(rng: random.Random, prefix: str, count: int) -> list[ReserveStock]:
    out = []
    for i in range(count):
        skus = rng.sample(SKUS, rng.randint(1, 3))
        lines = tuple(StockLine(sku=s, quantity=rng.choice(SIZES)) for s in sorted(skus))
        out.append(ReserveStock(reservation_id=f"{prefix}-{i:03d}", lines=lines))
    return out


def opening_stock(reservations: list[ReserveStock]) -> list[tuple[str, str, D]]:
    """A third of the demand per SKU, spread 50/30/20 over HQ, W2, W3 (to the half unit)."""
    demand: dict[str, D] = defaultdict(D)
    for r in reservations:
        for line in r.lines:
            demand[line.sku] += line.quantity
    out = []
    for sku, total in sorted(demand.items()):
        third = total / 3
        for wh, share in (("HQ", D("0.5")), ("W2", D("0.3")), ("W3", D("0.2"))):
            out.append((sku, wh, (third * share * 2).quantize(D(1)) / 2))
    return out


class SecondHub:
    """A hub process running the inventory actor; its output is read as it comes (a full pipe
    would stall it, locks held)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line == "ready":
                self.ready.set()

    async def stop(self) -> int:
        """Stop it gracefully; how many reservations it handled."""
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        await asyncio.wait_for(self._reader, 10)
        out = "\n".join(self.lines[-50:])
        assert code == 0, out
        handled = [line for line in self.lines if line.startswith("handled ")]
        assert handled, out
        return int(handled[-1].split()[1])


@pytest.fixture
async def second_hub(
    database_url: str, amqp_url: str, prefix: str
) -> AsyncIterator[Callable[[], Any]]:
    hubs: list[SecondHub] = []

    async def spawn() -> SecondHub:
        env = {
            **os.environ,
            "CYPHER_DATABASE_URL": database_url,
            "CYPHER_AMQP_URL": amqp_url,
            "CYPHER_BUS_PREFIX": prefix,
            "CYPHER_QUEUE_EXPIRES": str(QUEUE_EXPIRES),
            "CYPHER_RETRY_DELAYS": "0.05,0.1,0.2",
            "CYPHER_OUTBOX_SWEEP_INTERVAL": "0.2",
            "CYPHER_TIMER_POLL_INTERVAL": "0.2",
            "CYPHER_SHUTDOWN_TIMEOUT": "5",
            "CYPHER_MIGRATE_ON_START": "false",
            "CYPHER_DEMO_DATA": "off",
            "CYPHER_CONFIG": str(PROJECT_ROOT / "tests" / "empty.toml"),
        }
        env.pop("CYPHER_REDIS_URL", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.inventory.worker",
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        hub = SecondHub(proc)
        hubs.append(hub)
        waiting = asyncio.create_task(hub.ready.wait())
        await asyncio.wait(
            [waiting, asyncio.ensure_future(proc.wait())],
            timeout=60,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not hub.ready.is_set():
            waiting.cancel()
            raise AssertionError("the second hub did not start:\n" + "\n".join(hub.lines[-30:]))
        return hub

    yield spawn
    for hub in hubs:
        if hub.proc.returncode is None:
            hub.proc.kill()
            await hub.proc.wait()


async def publish_all(hub: Hub, messages: list[Message]) -> None:
    async def one(msg: Message) -> None:
        rid = msg.reservation_id  # type: ignore[attr-defined]
        await hub.bus.publish(Envelope.new(msg, key=reservation_key(rid)), encode(msg))

    await asyncio.gather(*(one(m) for m in messages))


async def check_books(conn: asyncpg.Connection) -> None:
    """Nothing oversold; stock rows, reservation lines and the ledger agree."""
    assert await conn.fetchval("SELECT count(*) FROM inventory_stock WHERE reserved > on_hand") == 0
    assert await ledger_mismatches(conn) == []
    per_sku = await conn.fetch(
        """
        SELECT s.sku, s.reserved, coalesce(l.held, 0) AS held FROM
            (SELECT sku, sum(reserved) AS reserved FROM inventory_stock GROUP BY sku) s
        LEFT JOIN (SELECT sku, sum(quantity) AS held FROM inventory_reservation_lines
                   GROUP BY sku) l USING (sku)
        """
    )
    assert [(r["sku"], r["reserved"]) for r in per_sku] == [(r["sku"], r["held"]) for r in per_sku]
    assert await conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0


@pytest.mark.parametrize("transport", ["amqp"], indirect=True)
async def test_concurrent_reservations_in_two_processes_never_oversell(
    start_hub: Any, second_hub: Callable[[], Any], inv: asyncpg.Connection
) -> None:
    rng = random.Random(2026)
    wave = orders(rng, "order", RESERVATIONS)
    stock = opening_stock(wave)
    await receive(inv, stock)
    on_hand: defaultdict[str, D] = defaultdict(D)
    for sku, _, q in stock:
        on_hand[sku] += q
    recorder = Recorder()
    LocalInventory.handled = 0
    hub, _ = await start_hub(LocalInventory(), recorder)
    other = await second_hub()

    started = time.perf_counter()
    await publish_all(hub, list(wave))
    await eventually(
        lambda: len(recorder.of(StockReserved)) >= RESERVATIONS, timeout=120, what="outcomes"
    )
    elapsed = time.perf_counter() - started

    outcomes = Counter(e.reservation_id for e in recorder.of(StockReserved))
    assert set(outcomes) == {r.reservation_id for r in wave}
    assert set(outcomes.values()) == {1}  # exactly one outcome per reservation
    incomplete = {e.reservation_id for e in recorder.of(StockReserved) if not e.complete}
    await eventually(lambda: len(recorder.of(StockShortage)) >= len(incomplete), timeout=30)
    short = Counter(e.reservation_id for e in recorder.of(StockShortage))
    assert set(short) == incomplete and set(short.values()) == {1}
    assert len(incomplete) > RESERVATIONS / 3  # demand is three times the stock

    allocated: defaultdict[str, D] = defaultdict(D)
    for event in recorder.of(StockReserved):
        for a in event.allocations:
            allocated[a.sku] += a.quantity
    rows = await inv.fetch(
        "SELECT sku, sum(on_hand) AS on_hand, sum(reserved) AS reserved "
        "FROM inventory_stock GROUP BY sku ORDER BY sku"
    )
    for row in rows:
        assert row["on_hand"] == on_hand[row["sku"]]  # nothing issued yet
        assert row["reserved"] == allocated[row["sku"]] == row["on_hand"]  # all of it, no more
    await check_books(inv)

    # Second wave, all at once: cancel 50 held orders, ship 50 others, 50 new reservations.
    held = sorted(outcomes)
    rng.shuffle(held)
    cancel, ship = held[:50], held[50:100]
    fresh = orders(rng, "late", 50)
    second: list[Message] = [
        *(ReleaseStock(reservation_id=r, reason="order cancelled") for r in cancel),
        *(IssueStock(reservation_id=r, shipment_id=f"AWB-{r}") for r in ship),
        *fresh,
    ]
    rng.shuffle(second)
    await publish_all(hub, second)
    await eventually(
        lambda: handled(inv, len(wave) + len(second)), timeout=120, what="the second wave"
    )
    await eventually(
        lambda: (
            len(recorder.of(StockReleased)) == 50
            and len(recorder.of(StockIssued)) + len(recorder.of(ReservationRejected)) == 50
            and len(recorder.of(StockReserved)) == RESERVATIONS + 50
        ),
        what="the second wave's events",
    )
    assert {e.reservation_id for e in recorder.of(StockReleased)} == set(cancel)
    assert {e.reservation_id for e in recorder.of(ReservationRejected)} <= incomplete
    await check_books(inv)
    issued = await inv.fetch(
        "SELECT sku, -sum(quantity) AS q FROM inventory_movements WHERE kind = 'issue' GROUP BY sku"
    )
    assert issued
    for row in issued:
        now = await inv.fetchval(
            "SELECT sum(on_hand) FROM inventory_stock WHERE sku = $1", row["sku"]
        )
        assert now == on_hand[row["sku"]] - row["q"]
    statuses = await inv.fetch("SELECT status, count(*) FROM inventory_reservations GROUP BY 1")
    print(f"reservation statuses: {dict((r[0], r[1]) for r in statuses)}")

    theirs = await other.stop()
    print(
        f"{RESERVATIONS} reservations over {len(SKUS)} SKUs in two processes: {elapsed:.2f} s "
        f"({RESERVATIONS / elapsed:.0f}/s); reservations handled here {LocalInventory.handled}, "
        f"in the other process {theirs}"
    )
    assert theirs > 0 and LocalInventory.handled > 0
    assert theirs + LocalInventory.handled == RESERVATIONS + 50


async def handled(conn: asyncpg.Connection, n: int) -> bool:
    """True once the inventory actor (either process) has handled ``n`` messages."""
    done: int = await conn.fetchval("SELECT count(*) FROM hub_inbox WHERE actor = 'inventory'")
    return done >= n
