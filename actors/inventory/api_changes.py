"""The inventory's change routes: receipts, transfers, adjustments and per-SKU settings. Each
change is movements with reason and author, audited, publishing ``StockChanged`` where a figure
changed, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from actors.inventory import documents, domain
from actors.inventory.api_reads import movement_view
from actors.inventory.service import StockWork, write_outcome
from actors.inventory.settings import current
from actors.inventory.views import (
    AdjustmentBody,
    ReceiptBody,
    SkuSettingsBody,
    SkuSettingsView,
    StockChangeView,
    TransferBody,
)
from hub.auth import Role
from hub.edge.api import Api, Call
from hub.errors import DomainError
from hub.ids import uuid7

changes = Api("inventory")
KEEPERS = {Role.admin, Role.ops, Role.warehouse}
n = domain.norm

Build = Callable[[StockWork], list[domain.Movement]]


async def _change(
    call: Call[Any, None], ref: str, skus: Iterable[str], build: Build
) -> StockChangeView:
    """Lock the SKUs, post the movements ``build`` makes, publish, audit before and after."""
    call.audit(entity_id=ref)
    async with call.transaction() as conn:
        work = await StockWork.open(conn, skus, current(), datetime.now(UTC))
        movements = build(work)
        touched = sorted({(m.sku, m.warehouse) for m in movements})
        before = _figures(work, touched)
        rows = await work.post(movements)
        await write_outcome(conn, await work.finish(), actor=call.actor)
        call.audit(before=before, after=_figures(work, touched))
    return StockChangeView(reference=ref, movements=[movement_view(r) for r in rows])


def _figures(work: StockWork, keys: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {
        f"{sku}@{wh}": {
            "on_hand": str(n(work.level(sku, wh).on_hand)),
            "reserved": str(n(work.level(sku, wh).reserved)),
        }
        for sku, wh in keys
    }


def _warehouse(work: StockWork, code: str) -> str:
    if code not in work.warehouse_codes:
        known = ", ".join(sorted(work.warehouse_codes))
        raise DomainError(f"unknown warehouse {code!r}: one of {known}")
    return code


@changes.post(
    "/api/v1/inventory/receipts",
    name="inventory.receipts.create",
    roles=KEEPERS,
    summary="Receive goods into a warehouse",
    body=ReceiptBody,
    response=StockChangeView,
    status=201,
    entity="stock_receipt",
)
async def create_receipt(call: Call[ReceiptBody, None]) -> StockChangeView:
    """One receipt movement per SKU; quantities > 0 with at most three decimals (whole pieces)."""
    b = call.body

    def build(work: StockWork) -> list[domain.Movement]:
        lines = domain.check_lines(((x.sku, x.quantity) for x in b.lines), work.units())
        return documents.receipt(
            _warehouse(work, b.warehouse), lines, reason=b.reason, author=call.actor, reference=ref
        )

    ref = b.reference or f"receipt:{uuid7()}"
    return await _change(call, ref, [x.sku for x in b.lines], build)


@changes.post(
    "/api/v1/inventory/transfers",
    name="inventory.transfers.create",
    roles=KEEPERS,
    summary="Move available stock between warehouses",
    body=TransferBody,
    response=StockChangeView,
    status=201,
    entity="stock_transfer",
)
async def create_transfer(call: Call[TransferBody, None]) -> StockChangeView:
    """Two movements per SKU (out, in) under one reference; reserved stock stays put."""
    b = call.body

    def build(work: StockWork) -> list[domain.Movement]:
        lines = domain.check_lines(((x.sku, x.quantity) for x in b.lines), work.units())
        return documents.transfer(
            _warehouse(work, b.from_warehouse),
            _warehouse(work, b.to_warehouse),
            lines,
            reason=b.reason,
            author=call.actor,
            reference=ref,
        )

    ref = b.reference or f"transfer:{uuid7()}"
    return await _change(call, ref, [x.sku for x in b.lines], build)


@changes.post(
    "/api/v1/inventory/adjustments",
    name="inventory.adjustments.create",
    roles=KEEPERS,
    summary="Correct stock (damage, loss, stocktake)",
    body=AdjustmentBody,
    response=StockChangeView,
    status=201,
    entity="stock_adjustment",
)
async def create_adjustment(call: Call[AdjustmentBody, None]) -> StockChangeView:
    """Each line a signed ``delta`` or the quantity ``counted``; never below what is reserved."""
    b = call.body

    def build(work: StockWork) -> list[domain.Movement]:
        warehouse = _warehouse(work, b.warehouse)
        units = work.units()
        for x in b.lines:
            domain.check_sku(x.sku)
            for q in (x.delta, x.counted):
                if q is not None:
                    domain.check_quantity(abs(q), sku=x.sku, unit=units.get(x.sku), allow_zero=True)
        lines = [(x.sku, x.delta, x.counted) for x in b.lines]
        return documents.adjustment(
            work.levels, warehouse, lines, reason=b.reason, author=call.actor, reference=ref
        )

    ref = b.reference or f"adjustment:{uuid7()}"
    return await _change(call, ref, [x.sku for x in b.lines], build)


@changes.put(
    "/api/v1/inventory/skus/{sku}/settings",
    name="inventory.skus.settings",
    roles=KEEPERS,
    summary="Set a SKU's reorder point and safety buffer",
    body=SkuSettingsBody,
    response=SkuSettingsView,
    entity="sku",
)
async def put_settings(call: Call[SkuSettingsBody, None]) -> SkuSettingsView:
    """Null means the default setting. The shop's figure is republished if it changes."""
    call.audit(entity_id=call.param("sku"))
    sku = domain.check_sku(call.param("sku"))
    b = call.body
    for q in (b.reorder_point, b.safety_buffer):
        if q is not None:
            domain.check_quantity(q, sku=sku, allow_zero=True)
    settings = current()
    async with call.transaction() as conn:
        work = await StockWork.open(conn, [sku], settings, datetime.now(UTC))
        state = work.states[sku]
        before = {"reorder_point": state.reorder_point, "safety_buffer": state.safety_buffer}
        await work.set_settings(sku, b.reorder_point, b.safety_buffer)
        await write_outcome(conn, await work.finish(), actor=call.actor)
        call.audit(
            before=before,
            after={"reorder_point": b.reorder_point, "safety_buffer": b.safety_buffer},
        )
    return SkuSettingsView(
        sku=sku,
        reorder_point=b.reorder_point,
        safety_buffer=b.safety_buffer,
        effective_reorder_point=work.reorder_point(state),
        effective_safety_buffer=n(work.buffer(state)),
        available=state.available,
        published=state.published,
    )
