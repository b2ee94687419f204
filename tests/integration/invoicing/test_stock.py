"""The daily stock comparison: SmartBill's simulator against the inventory's on hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import asyncpg

from actors.invoicing.actor import InvoicingActor
from actors.invoicing.messages import StockDiscrepanciesFound
from actors.invoicing.stock import STOCK_KEY, STOCK_TIMER, CompareStock, next_check
from actors.invoicing.stock_store import latest
from connectors.smartbill.sim_books import StockItem, Warehouse
from connectors.smartbill.simulator import SmartBillSimulator
from hub.actor import Actor, Context, handler
from hub.messages import Envelope, encode
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive
from tests.support import eventually

D = Decimal
MAPPING = ("HQ=Depozit Bucuresti", "W2=Depozit 2")


class Reports(Actor, name="invoicing-test-stock"):
    def __init__(self) -> None:
        self.found: list[StockDiscrepanciesFound] = []

    @handler
    async def record(self, msg: StockDiscrepanciesFound, ctx: Context) -> None:
        self.found.append(msg)


async def test_comparison_finds_missing_extra_and_different_quantities(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    shop = simulator.books.warehouses["Depozit Bucuresti"]  # LED-STRIP-5M 120, PROF-AL-2M 40
    shop.items["EXTRA-1"] = StockItem("Bec E27", "EXTRA-1", "buc", D(3))
    simulator.books.warehouses["Magazin Cluj"] = Warehouse("Magazin Cluj")
    await clean_inventory(db_conn)
    await receive(
        db_conn,
        [
            ("LED-STRIP-5M", "HQ", "120"),  # equal
            ("PROF-AL-2M", "HQ", "35"),  # different
            ("DRIVER", "HQ", "5"),  # missing in SmartBill
            ("DRIVER", "W3", "2"),  # W3 is not mapped: not compared
        ],
    )
    reports = Reports()
    hub, _ = await start_hub(invoicing(settings={"warehouses": MAPPING}), reports)
    await hub.bus.publish(Envelope.new(CompareStock(), key=STOCK_KEY), encode(CompareStock()))

    [found] = await eventually(lambda: reports.found, what="the discrepancy event")
    assert (found.compared, found.missing, found.extra, found.different) == (4, 1, 1, 1)
    assert found.unmapped == ("Magazin Cluj",)
    report = await latest(db_conn)
    assert report is not None and report.id == found.check_id
    assert [
        (d.kind, d.sku, d.warehouse, d.hub_quantity, d.smartbill_quantity)
        for d in report.discrepancies
    ] == [
        ("different", "PROF-AL-2M", "HQ", D("35"), D("40")),
        ("extra", "EXTRA-1", "HQ", None, D("3")),
        ("missing", "DRIVER", "HQ", D("5"), None),
    ]
    assert [c.query.get("date") for c in simulator.requests("/stocks")] == [
        report.on_date.isoformat()
    ]


async def test_smartbill_down_moves_the_comparison_to_a_retry(
    start_hub: Any,
    sim: tuple[SmartBillSimulator, str],
    invoicing: Callable[..., InvoicingActor],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.fail_next(1, status=503, path="/stocks")
    settings = {"warehouses": MAPPING, "stock_check_at": time(6, 30), "retry_max_backoff": 300.0}
    hub, _ = await start_hub(invoicing(settings=settings))

    async def due() -> datetime | None:
        value: datetime | None = await db_conn.fetchval(
            "SELECT due_at FROM hub_timers WHERE name = $1", STOCK_TIMER
        )
        return value

    armed = await eventually(due, what="the daily timer armed at start")
    assert armed == next_check(datetime.now(UTC), time(6, 30))
    await hub.bus.publish(Envelope.new(CompareStock(), key=STOCK_KEY), encode(CompareStock()))
    await eventually(lambda: simulator.requests("/stocks"), what="the failed read")

    async def retried() -> bool:
        at = await due()
        return at is not None and (at - datetime.now(UTC)).total_seconds() < 400

    await eventually(retried, what="the retry in retry_max_backoff")
    assert await latest(db_conn) is None
