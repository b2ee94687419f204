"""The daily stock comparison: SmartBill's ``GET /stocks?date=`` against the hub's on hand.

Per product code (SKU) and warehouse: SmartBill's warehouse names map to the hub's codes through
``[invoicing] warehouses``. A pair only one side has with a quantity of zero is no discrepancy.
:func:`compare` is pure; the actor stores its report and emits ``StockDiscrepanciesFound``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from connectors.smartbill.wire import WarehouseStock
from hub.messages import Command

BUCHAREST = ZoneInfo("Europe/Bucharest")
STOCK_TIMER = "invoicing:compare-stock"
STOCK_KEY = "invoicing:stock"


class CompareStock(Command, tag="invoicing.CompareStock"):
    """Internal timer: compare SmartBill's stock with the hub's (today, Bucharest)."""


class Discrepancy(msgspec.Struct, frozen=True, kw_only=True):
    """One (SKU, warehouse) the two sides disagree on (None: that side has no row)."""

    sku: str
    warehouse: str
    smartbill_warehouse: str
    kind: Literal["missing", "extra", "different"]
    hub_quantity: Decimal | None
    smartbill_quantity: Decimal | None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """What a comparison found."""

    compared: int
    discrepancies: tuple[Discrepancy, ...]
    unmapped: tuple[str, ...]

    def count(self, kind: str) -> int:
        return sum(1 for d in self.discrepancies if d.kind == kind)


def compare(
    smartbill: Sequence[WarehouseStock],
    hub: Mapping[tuple[str, str], Decimal],
    warehouses: Mapping[str, str],
) -> Report:
    """``hub``: (SKU, warehouse code) → on hand; ``warehouses``: SmartBill name → hub code.
    Only the mapped warehouses are compared."""
    names = {code: name for name, code in warehouses.items()}
    theirs: dict[tuple[str, str], Decimal] = {}
    unmapped: set[str] = set()
    for entry in smartbill:
        name = entry.warehouse.warehouse_name if entry.warehouse else ""
        code = warehouses.get(name)
        if code is None:
            unmapped.add(name)
            continue
        for product in entry.products:
            sku = product.product_code or product.product_name
            key = (sku, code)
            theirs[key] = theirs.get(key, Decimal(0)) + product.quantity
    ours = {k: v for k, v in hub.items() if k[1] in names}
    found: list[Discrepancy] = []
    for sku, code in sorted(set(theirs) | set(ours)):
        mine, other = ours.get((sku, code)), theirs.get((sku, code))
        if (mine or 0) == (other or 0):
            continue
        kind: Literal["missing", "extra", "different"] = (
            "missing" if other is None else "extra" if mine is None else "different"
        )
        found.append(
            Discrepancy(
                sku=sku,
                warehouse=code,
                smartbill_warehouse=names[code],
                kind=kind,
                hub_quantity=mine,
                smartbill_quantity=other,
            )
        )
    return Report(
        compared=len(set(theirs) | set(ours)),
        discrepancies=tuple(found),
        unmapped=tuple(sorted(unmapped)),
    )


def business_day(now: datetime) -> date:
    """Today in Bucharest."""
    return now.astimezone(BUCHAREST).date()


def next_check(now: datetime, at: time) -> datetime:
    """The next ``at`` (Bucharest wall time) strictly after ``now``, as a UTC-aware time."""
    local = now.astimezone(BUCHAREST)
    candidate = datetime.combine(local.date(), at, BUCHAREST)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, BUCHAREST)
    return candidate.astimezone(now.tzinfo)
